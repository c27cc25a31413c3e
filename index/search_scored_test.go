package index

import (
	"context"
	"reflect"
	"slices"
	"strconv"
	"testing"

	"github.com/attune-cx/attune"
)

// TestSearchScoredMatchesBleve: relevance-sorted searches collected in one
// pass (searchScored) return what Bleve's request returns — hits, scores,
// order, total and facets — in both orders, at several pages, with and
// without filters and facets, on real texts indexed three times over under
// distinct ids (so scores tie across copies and the id decides), after
// updates that change texts and fields, after deletions, and after a
// reopen.
func TestSearchScoredMatchesBleve(t *testing.T) {
	dir := t.TempDir()
	ix := openTest(t, dir)
	ctx := context.Background()
	base := append(slices.Clone(allTweets(t)[:2000]), bankingDocs(t, 300)...)
	base = append(base, olistDocs(t, 400)...)
	var docs []attune.Doc
	for r := range 3 {
		for _, d := range base {
			if r > 0 {
				d.Event.ID += "~" + strconv.Itoa(r)
			}
			docs = append(docs, d)
		}
	}
	indexInBatches(t, ix, docs, 400)

	neg := -0.05
	queries := []Query{
		{Text: "flight"}, {Text: "lost bag"}, {Text: `"customer service"`}, {Text: "+refund -thanks"},
		{Text: "card", Facets: Facets}, {Text: "entrega", Facets: []string{FacetLanguage, FacetTime}},
		{Text: "delay", Label: "negative", SentimentMax: &neg, From: feb20},
		{Text: "zzzznomatch"}, {Text: "*", Facets: []string{FacetSource}},
		{Text: "delayed flight", Sort: SortRelevance, Source: "ticket"},
	}
	check := func(stage string) {
		t.Helper()
		before := ix.scoredOnePass.Load()
		for _, base := range queries {
			for _, order := range []string{OrderDesc, OrderAsc} {
				for _, page := range [][2]int{{0, 20}, {7, 13}, {590, 100}} {
					q := base
					q.Order, q.Offset, q.Limit = order, page[0], page[1]
					fast, plain := compareWithBleve(t, ix, q)
					if !reflect.DeepEqual(fast, plain) {
						t.Fatalf("%s %+v: one pass %d hits of %d, Bleve %d of %d; first %v vs %v",
							stage, q, len(fast.Hits), fast.Total, len(plain.Hits), plain.Total, firstID(fast), firstID(plain))
					}
				}
			}
		}
		// compareWithBleve runs Search again when a merge moved the index
		// under the comparison, so there may be more.
		if n, want := ix.scoredOnePass.Load()-before, int64(len(queries)*2*3); n < want {
			t.Fatalf("%s: %d of %d searches were collected in one pass", stage, n, want)
		}
	}
	check("written")

	// Updates: every 5th doc with another text (so term statistics
	// change), sentiment and segment; then the customers of every 9th.
	var changed []attune.Doc
	for i, d := range docs {
		if i%5 == 0 {
			o := base[(i*7+11)%len(base)]
			d.Event.Text, d.Analysis = o.Event.Text, o.Analysis
			d.SegmentID, d.SegmentName = "seg-moved", "moved"
			changed = append(changed, d)
		}
	}
	indexInBatches(t, ix, changed, 300)
	for i, d := range docs {
		if i%9 == 0 {
			if _, err := ix.DeleteCustomer(ctx, d.Event.CustomerID); err != nil {
				t.Fatal(err)
			}
		}
	}
	check("updated")

	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	ix = openTest(t, dir)
	check("reopened")
}
