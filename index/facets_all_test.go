package index

import (
	"context"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2/index/scorch"

	"github.com/attune-cx/attune"
)

// checkAllFacets runs every facet over all events both ways, counted from the
// postings (Search) and by Bleve's facet builders (search with allFacets
// false), at several facet sizes, and fails on any difference. It returns
// the fast-path result at MaxFacetSize.
func checkAllFacets(t *testing.T, ix *Index, stage string) *Result {
	t.Helper()
	ctx := context.Background()
	var last *Result
	for _, size := range []int{1, 3, DefaultFacetSize, MaxFacetSize} {
		q := Query{Facets: Facets, FacetSize: size, Limit: 5}
		before := ix.postingsFacets.Load()
		fast, err := ix.Search(ctx, q)
		if err != nil {
			t.Fatalf("%s: Search: %v", stage, err)
		}
		if ix.postingsFacets.Load() != before+1 {
			t.Fatalf("%s: facets over all events were not counted from the postings", stage)
		}
		plain, err := ix.search(ctx, q, false)
		if err != nil {
			t.Fatalf("%s: plain search: %v", stage, err)
		}
		if ix.postingsFacets.Load() != before+1 {
			t.Fatalf("%s: plain search took the postings path", stage)
		}
		if fast.Total != plain.Total {
			t.Fatalf("%s: Total %d vs %d", stage, fast.Total, plain.Total)
		}
		for _, name := range Facets {
			if !reflect.DeepEqual(fast.Facets[name], plain.Facets[name]) {
				t.Errorf("%s, facet %s size %d:\npostings %+v\nbleve    %+v", stage, name, size, fast.Facets[name], plain.Facets[name])
			}
		}
		if !reflect.DeepEqual(fast.Hits, plain.Hits) {
			t.Errorf("%s: hits differ", stage)
		}
		last = fast
	}
	return last
}

// wantLabels counts the latest version of each doc per sentiment label.
func wantLabels(docs map[string]attune.Doc) map[string]int {
	m := map[string]int{}
	for _, d := range docs {
		if l := string(d.Analysis.Sentiment.Label); l != "" {
			m[l]++
		}
	}
	return m
}

func checkLabels(t *testing.T, res *Result, docs map[string]attune.Doc, stage string) {
	t.Helper()
	got := map[string]int{}
	for _, b := range res.Facets[FacetLabel].Buckets {
		got[b.Value] = b.Count
	}
	if want := wantLabels(docs); !reflect.DeepEqual(got, want) {
		t.Errorf("%s: label facet %v, want %v (counted from the docs)", stage, got, want)
	}
	if res.Total != uint64(len(docs)) {
		t.Errorf("%s: Total %d, want %d", stage, res.Total, len(docs))
	}
}

// deletedDocs reports how many documents of the current snapshot are
// obsolete (updated or deleted) but still in a segment's postings.
func deletedDocs(t *testing.T, ix *Index) uint64 {
	t.Helper()
	adv, err := ix.bleve.Advanced()
	if err != nil {
		t.Fatal(err)
	}
	r, err := adv.Reader()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var n uint64
	for _, ss := range r.(*scorch.IndexSnapshot).Segments() {
		if d := ss.Deleted(); d != nil {
			n += d.GetCardinality()
		}
	}
	return n
}

// TestAllFacetsMatchBleve: on real tweets (with the release's repeated ids),
// banking queries without a time and Portuguese reviews, facets over all
// events counted from the postings equal Bleve's own, also after updates
// that change every faceted field and after deletions, while obsolete
// documents are still in the segments, and after a reopen.
func TestAllFacetsMatchBleve(t *testing.T) {
	dir := t.TempDir()
	ix := openTest(t, dir)
	ctx := context.Background()

	docs := append(slices.Clone(allTweets(t)[:6000]), bankingDocs(t, 400)...)
	docs = append(docs, olistDocs(t, 600)...)
	// A text naming one aspect in two clauses, with two attitudes.
	d := docs[0]
	d.Event.ID = "two-clauses"
	d.Analysis.Aspects = []attune.AspectSentiment{
		{Aspect: "baggage", Sentiment: attune.Sentiment{Label: attune.Negative}},
		{Aspect: "baggage", Sentiment: attune.Sentiment{Label: attune.Positive}},
		{Aspect: "baggage", Sentiment: attune.Sentiment{Label: attune.Negative}},
	}
	docs = append(docs, d)
	indexInBatches(t, ix, docs, 250)
	held := latest(docs)
	checkLabels(t, checkAllFacets(t, ix, "written"), held, "written")

	// Updates: every 7th event again with another label, segment, source,
	// language, aspect and time, in small batches so the obsolete versions
	// are spread over many segments.
	sawDeleted := false
	var updated []attune.Doc
	i := 0
	for _, d := range held {
		if i++; i%7 != 0 {
			continue
		}
		d.Analysis.Sentiment = attune.Sentiment{Score: 0.9, Label: attune.Positive}
		d.SegmentID, d.SegmentName = "seg-updated-"+strconv.Itoa(i%3), "updated"
		d.Event.Source = "survey"
		d.Analysis.Language = "xx"
		d.Analysis.Aspects = append(slices.Clone(d.Analysis.Aspects), attune.AspectSentiment{Aspect: "crew", Sentiment: d.Analysis.Sentiment})
		if i%2 == 0 {
			d.Event.TS = d.Event.TS.AddDate(0, 2, 0)
		}
		updated = append(updated, d)
	}
	for start := 0; start < len(updated); start += 100 {
		part := updated[start:min(start+100, len(updated))]
		indexInBatches(t, ix, part, 100)
		for _, d := range part {
			held[d.Event.ID] = d
		}
		if deletedDocs(t, ix) > 0 {
			sawDeleted = true
		}
		if start%300 == 0 {
			checkLabels(t, checkAllFacets(t, ix, "updated "+strconv.Itoa(start)), held, "updated")
		}
	}
	checkLabels(t, checkAllFacets(t, ix, "updated"), held, "updated")

	// Deletions: the customers of every 11th event.
	gone := map[string]bool{}
	i = 0
	for _, d := range held {
		if i++; i%11 == 0 && d.Event.CustomerID != "" {
			gone[d.Event.CustomerID] = true
		}
	}
	for c := range gone {
		if _, err := ix.DeleteCustomer(ctx, c); err != nil {
			t.Fatal(err)
		}
		if !sawDeleted && deletedDocs(t, ix) > 0 {
			sawDeleted = true
		}
	}
	for id, d := range held {
		if gone[d.Event.CustomerID] {
			delete(held, id)
		}
	}
	checkLabels(t, checkAllFacets(t, ix, "deleted"), held, "deleted")
	if !sawDeleted {
		t.Error("no snapshot held obsolete documents: the test did not exercise deletions")
	}

	// The segment set's documents share the index and are not events.
	if err := ix.ReplaceSegments(ctx, goldSegments(held, feb20)); err != nil {
		t.Fatal(err)
	}
	checkLabels(t, checkAllFacets(t, ix, "segments"), held, "segments")

	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	ix = openTest(t, dir)
	checkLabels(t, checkAllFacets(t, ix, "reopened"), held, "reopened")
}

// TestFacetsFromPostingsMatchBleve: with text or filters, the facets
// counted from the postings of the query's matches equal Bleve's own, for
// every sort, at several facet sizes, before and after updates and
// deletions.
func TestFacetsFromPostingsMatchBleve(t *testing.T) {
	ix := openTest(t, t.TempDir())
	ctx := context.Background()
	docs := append(slices.Clone(allTweets(t)[:5000]), bankingDocs(t, 300)...)
	docs = append(docs, olistDocs(t, 500)...)
	indexInBatches(t, ix, docs, 300)
	neg, pos := -0.5, 0.3
	queries := []Query{
		{Text: "flight"}, {Text: "bag", Sort: SortTime}, {Text: `"customer service"`}, {Text: "+delay -thanks", Sort: SortSentiment},
		{Text: "entrega"}, {Text: "*"}, {Text: "zzzznomatch"}, {Segment: "seg-late-flight"}, {Segment: "late-flight", Sort: SortSentiment},
		{Label: "negative"}, {Source: "ticket"}, {Customer: docs[3].Event.CustomerID}, {Aspect: "baggage"},
		{Aspect: "baggage", AspectLabel: "negative"}, {Language: "pt"}, {SentimentMin: &neg}, {SentimentMax: &pos, Sort: SortSentiment, Order: OrderAsc},
		{From: feb20}, {To: feb20}, {Text: "flight", Label: "negative", From: feb20},
	}
	check := func(stage string) {
		t.Helper()
		for _, base := range queries {
			for _, size := range []int{1, 3, MaxFacetSize} {
				q := base
				q.Facets, q.FacetSize, q.Limit = Facets, size, 7
				before := ix.postingsFacets.Load()
				fast, plain := compareWithBleve(t, ix, q)
				if ix.postingsFacets.Load() == before {
					t.Fatalf("%s %+v: facets not counted from the postings", stage, q)
				}
				if !reflect.DeepEqual(fast, plain) {
					for _, name := range Facets {
						if !reflect.DeepEqual(fast.Facets[name], plain.Facets[name]) {
							t.Errorf("%s %+v, facet %s:\npostings %+v\nbleve    %+v", stage, q, name, fast.Facets[name], plain.Facets[name])
						}
					}
					t.Fatalf("%s %+v: results differ (totals %d, %d; first hits %s, %s)", stage, q, fast.Total, plain.Total, firstID(fast), firstID(plain))
				}
			}
		}
	}
	check("written")
	var changed []attune.Doc
	for i, d := range docs {
		if i%6 == 0 {
			d.Analysis.Sentiment = attune.Sentiment{Score: -0.8, Label: attune.Negative}
			d.SegmentID, d.SegmentName = "seg-late-flight", "late-flight"
			d.Analysis.Aspects = []attune.AspectSentiment{{Aspect: "baggage", Sentiment: d.Analysis.Sentiment}}
			changed = append(changed, d)
		}
	}
	indexInBatches(t, ix, changed, 150)
	for i, d := range docs {
		if i%17 == 0 {
			if _, err := ix.DeleteCustomer(ctx, d.Event.CustomerID); err != nil {
				t.Fatal(err)
			}
		}
	}
	check("updated")
}

// TestSearchByTimeMatchesBleve: time-sorted searches paged from a time
// window return what Bleve's sort of all matches returns (hits, total,
// facets), in both orders, at several offsets, with and without filters and
// text, on real data with bursty times (a week of tweets, two years of
// reviews) and events without a time, after updates and deletions, and
// after a reopen.
func TestSearchByTimeMatchesBleve(t *testing.T) {
	dir := t.TempDir()
	ix := openTest(t, dir)
	ctx := context.Background()
	docs := append(slices.Clone(allTweets(t)[:7000]), bankingDocs(t, 500)...)
	docs = append(docs, olistDocs(t, 3000)...)
	indexInBatches(t, ix, docs, 500)

	neg := -0.05
	queries := []Query{
		{}, {Facets: Facets}, {Label: "negative"}, {Source: "review", Facets: []string{FacetTime, FacetAspect}},
		{Language: "en", SentimentMax: &neg}, {From: feb20}, {To: feb20.AddDate(0, 0, 2)},
		{Text: "flight", Sort: SortTime}, {Segment: "seg-late-flight", Facets: []string{FacetTime}},
	}
	check := func(stage string) {
		t.Helper()
		for _, base := range queries {
			for _, order := range []string{OrderDesc, OrderAsc} {
				for _, page := range [][2]int{{0, 20}, {0, 1}, {37, 50}, {1900, 100}, {9000, 1000}} {
					q := base
					q.Order, q.Offset, q.Limit = order, page[0], page[1]
					fast, err := ix.Search(ctx, q)
					if err != nil {
						t.Fatalf("%s %+v: %v", stage, q, err)
					}
					plain, err := ix.search(ctx, q, false)
					if err != nil {
						t.Fatalf("%s %+v: %v", stage, q, err)
					}
					fast.Took, plain.Took = 0, 0
					if !reflect.DeepEqual(fast, plain) {
						t.Fatalf("%s %+v: windowed %d hits of %d, Bleve %d of %d; first %v vs %v",
							stage, q, len(fast.Hits), fast.Total, len(plain.Hits), plain.Total, firstID(fast), firstID(plain))
					}
				}
			}
		}
	}
	before := ix.timeWindowed.Load()
	check("written")
	if n := ix.timeWindowed.Load() - before; n < 40 {
		t.Fatalf("only %d pages came from a time window", n)
	}

	// Updates that move events in time, then deletions.
	var moved []attune.Doc
	for i, d := range docs {
		if i%5 == 0 && !d.Event.TS.IsZero() {
			d.Event.TS = d.Event.TS.AddDate(1, 0, i%30)
			moved = append(moved, d)
		}
	}
	indexInBatches(t, ix, moved, 200)
	for i, d := range docs {
		if i%13 == 0 {
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

func firstID(r *Result) string {
	if len(r.Hits) == 0 {
		return ""
	}
	return r.Hits[0].ID
}

// compareWithBleve returns Search's result for q and SearchBleve's. Relevance
// scores change when Bleve merges away obsolete documents in the background
// (term statistics count them until then), so the Bleve search runs before
// and after Search; when those two differ, the index moved under the
// comparison and it is tried again.
func compareWithBleve(t *testing.T, ix *Index, q Query) (fast, plain *Result) {
	t.Helper()
	ctx := context.Background()
	run := func(search func(context.Context, Query) (*Result, error)) *Result {
		t.Helper()
		r, err := search(ctx, q)
		if err != nil {
			t.Fatalf("%+v: %v", q, err)
		}
		r.Took = 0
		return r
	}
	for range 10 {
		before := run(ix.SearchBleve)
		fast = run(ix.Search)
		if after := run(ix.SearchBleve); reflect.DeepEqual(before, after) {
			return fast, before
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%+v: Bleve's own results kept changing", q)
	return nil, nil
}
