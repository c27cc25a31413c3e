package index

import (
	"context"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/attune-cx/attune"
)

// goldSegments builds the segment set of docs from their gold segment
// labels (tweet negative reasons, banking intents), as the clusterer would
// publish it: sizes, customers, mean sentiment, most frequent tokens and the
// first texts as exemplars.
func goldSegments(docs map[string]attune.Doc, updated time.Time) []attune.Segment {
	type acc struct {
		seg       attune.Segment
		customers map[string]bool
		sum       float64
		terms     map[string]int
	}
	ids := make([]string, 0, len(docs))
	for id := range docs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	bySeg := map[string]*acc{}
	for _, id := range ids {
		d := docs[id]
		if d.SegmentID == "" {
			continue
		}
		a := bySeg[d.SegmentID]
		if a == nil {
			a = &acc{
				seg:       attune.Segment{ID: d.SegmentID, Name: d.SegmentName, UpdatedAt: updated},
				customers: map[string]bool{}, terms: map[string]int{},
			}
			bySeg[d.SegmentID] = a
		}
		a.seg.Size++
		a.customers[d.Event.CustomerID] = true
		a.sum += d.Analysis.Sentiment.Score
		for _, s := range d.Analysis.Stems {
			if len(s) > 3 {
				a.terms[s]++
			}
		}
		if len(a.seg.Exemplars) < 3 {
			a.seg.Exemplars = append(a.seg.Exemplars, d.Event.Text)
		}
	}
	var segs []attune.Segment
	for _, a := range bySeg {
		terms := make([]string, 0, len(a.terms))
		for s := range a.terms {
			terms = append(terms, s)
		}
		sort.Slice(terms, func(i, j int) bool {
			if a.terms[terms[i]] != a.terms[terms[j]] {
				return a.terms[terms[i]] > a.terms[terms[j]]
			}
			return terms[i] < terms[j]
		})
		a.seg.TopTerms = terms[:min(5, len(terms))]
		a.seg.Customers = len(a.customers)
		a.seg.MeanSentiment = a.sum / float64(a.seg.Size)
		segs = append(segs, a.seg)
	}
	// The order Segments promises: size descending, then id.
	sort.Slice(segs, func(i, j int) bool {
		if segs[i].Size != segs[j].Size {
			return segs[i].Size > segs[j].Size
		}
		return segs[i].ID < segs[j].ID
	})
	return segs
}

func checkSegments(t *testing.T, ix *Index, want []attune.Segment) {
	t.Helper()
	got, err := ix.Segments(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("Segments returned %d, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if !g.UpdatedAt.Equal(w.UpdatedAt) {
			t.Errorf("segment %d (%s): UpdatedAt = %v, want %v", i, w.ID, g.UpdatedAt, w.UpdatedAt)
		}
		g.UpdatedAt, w.UpdatedAt = time.Time{}, time.Time{}
		// Empty lists are stored as no field and come back nil.
		if len(w.TopTerms) == 0 {
			w.TopTerms = nil
		}
		if len(w.Exemplars) == 0 {
			w.Exemplars = nil
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("segment %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

func TestSegmentsRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ix, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	docs := sample(t)
	indexInBatches(t, ix, docs, 200)
	events := countEvents(t, ix)

	// Nanoseconds and a non-UTC zone must survive.
	updated := time.Date(2015, 2, 24, 11, 35, 52, 123456789, time.FixedZone("PST", -8*3600))
	segs := goldSegments(latest(docs), updated)
	if len(segs) < 10 {
		t.Fatalf("only %d gold segments in the sample", len(segs))
	}
	if err := ix.ReplaceSegments(ctx, segs); err != nil {
		t.Fatal(err)
	}
	checkSegments(t, ix, segs)

	// Segment documents are not events.
	if got := countEvents(t, ix); got != events {
		t.Errorf("CountEvents = %d with segments stored, want %d", got, events)
	}
	for _, text := range []string{"", segs[0].Name, segs[0].TopTerms[0], "top_terms:" + segs[0].TopTerms[0], "name:" + segs[0].Name} {
		res, err := ix.Search(ctx, Query{Text: text, Limit: MaxLimit})
		if err != nil {
			t.Fatalf("Search(%q): %v", text, err)
		}
		for _, h := range res.Hits {
			if strings.HasPrefix(h.ID, SegmentIDPrefix) {
				t.Errorf("Search(%q) returned segment document %s", text, h.ID)
			}
		}
		if text == "" && res.Total != events {
			t.Errorf("Search() Total = %d, want %d events", res.Total, events)
		}
	}

	// A smaller set replaces the larger one, also across a reopen.
	smaller := append([]attune.Segment(nil), segs[:3]...)
	smaller[0].Size += 1000 // changed, still first
	if err := ix.ReplaceSegments(ctx, smaller); err != nil {
		t.Fatal(err)
	}
	checkSegments(t, ix, smaller)
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	ix = openTest(t, dir)
	checkSegments(t, ix, smaller)
	if got := countEvents(t, ix); got != events {
		t.Errorf("CountEvents after replacing segments = %d, want %d", got, events)
	}

	// An empty set removes them all.
	if err := ix.ReplaceSegments(ctx, nil); err != nil {
		t.Fatal(err)
	}
	checkSegments(t, ix, nil)
	if err := ix.ReplaceSegments(ctx, nil); err != nil {
		t.Errorf("ReplaceSegments(nil) on no segments = %v", err)
	}
}

// More segments than one page of Segments reads.
func TestSegmentsManyPages(t *testing.T) {
	ix := openTest(t, t.TempDir())
	docs := latest(allTweets(t))
	// One segment per customer of the first tweets: real names, many sets.
	byCustomer := map[string]attune.Doc{}
	for _, d := range docs {
		d.SegmentID, d.SegmentName = "cust-"+slug(d.Event.CustomerID), d.Event.CustomerID
		byCustomer[d.SegmentID] = d
		if len(byCustomer) == segmentPage+segmentPage/2 {
			break
		}
	}
	segs := goldSegments(byCustomer, time.Now())
	if err := ix.ReplaceSegments(context.Background(), segs); err != nil {
		t.Fatal(err)
	}
	checkSegments(t, ix, segs)
	if err := ix.ReplaceSegments(context.Background(), segs[:10]); err != nil {
		t.Fatal(err)
	}
	checkSegments(t, ix, segs[:10])
}

func TestReplaceSegmentsInvalid(t *testing.T) {
	ix := openTest(t, t.TempDir())
	docs := sample(t)
	segs := goldSegments(latest(docs), time.Now())
	for _, tc := range []struct {
		name string
		segs []attune.Segment
	}{
		{"empty id", append([]attune.Segment{{Name: "nameless"}}, segs...)},
		{"duplicate id", append(segs, segs[1])},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := ix.ReplaceSegments(context.Background(), tc.segs); err == nil {
				t.Error("ReplaceSegments succeeded")
			}
			checkSegments(t, ix, nil)
		})
	}
}
