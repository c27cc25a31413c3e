package index

import (
	"context"
	"errors"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/attune-cx/attune"
)

// searchFixture is an index holding sample(), and the docs it should hold.
type searchFixture struct {
	ix   *Index
	docs map[string]attune.Doc
}

func newSearchFixture(t *testing.T) searchFixture {
	t.Helper()
	ix := openTest(t, t.TempDir())
	docs := sample(t)
	indexInBatches(t, ix, docs, 128)
	return searchFixture{ix: ix, docs: latest(docs)}
}

// all returns every hit of q, in order, reading pages of Limit.
func (f searchFixture) all(t *testing.T, q Query) ([]Hit, uint64) {
	t.Helper()
	var hits []Hit
	var total uint64
	for q.Offset = 0; ; {
		res, err := f.ix.Search(context.Background(), q)
		if err != nil {
			t.Fatalf("Search(%+v): %v", q, err)
		}
		if q.Offset == 0 {
			total = res.Total
		} else if res.Total != total {
			t.Fatalf("Total changed between pages: %d then %d", total, res.Total)
		}
		hits = append(hits, res.Hits...)
		if len(res.Hits) < q.Limit {
			return hits, total
		}
		q.Offset += len(res.Hits)
	}
}

// word builds a matcher for a whole word and its inflections, the way the
// English analyzer's stemmer conflates them.
func word(forms string) func(string) bool {
	re := regexp.MustCompile(`(?i)\b(` + forms + `)\b`)
	return func(s string) bool { return re.MatchString(s) }
}

func TestSearch(t *testing.T) {
	f := newSearchFixture(t)

	delay := word(`delay|delays|delayed|delaying`)
	refund := word(`refund|refunds|refunded|refunding`)
	thank := word(`thank|thanks|thanked|thanking`)
	service := regexp.MustCompile(`(?i)\bcustomer\W+service\b`)

	// The customer with most events in the sample.
	perCustomer := map[string]int{}
	for _, d := range f.docs {
		perCustomer[d.Event.CustomerID]++
	}
	customer := ""
	for c, n := range perCustomer {
		if n > perCustomer[customer] || (n == perCustomer[customer] && c < customer) {
			customer = c
		}
	}
	if perCustomer[customer] < 2 {
		t.Fatalf("no customer with several events in the sample")
	}

	for _, tc := range []struct {
		name string
		q    Query
		// match says which input docs the query should return.
		match func(attune.Doc) bool
	}{
		{"all events", Query{}, func(attune.Doc) bool { return true }},
		{"word", Query{Text: "delay"}, func(d attune.Doc) bool { return delay(d.Event.Text) }},
		{"inflected word", Query{Text: "delayed"}, func(d attune.Doc) bool { return delay(d.Event.Text) }},
		{"word and label", Query{Text: "delay", Label: "negative"}, func(d attune.Doc) bool {
			return delay(d.Event.Text) && d.Analysis.Sentiment.Label == attune.Negative
		}},
		{"must and must not", Query{Text: "+refund -thanks"}, func(d attune.Doc) bool {
			return refund(d.Event.Text) && !thank(d.Event.Text)
		}},
		{"phrase", Query{Text: `"customer service"`}, func(d attune.Doc) bool {
			return service.MatchString(d.Event.Text)
		}},
		{"label", Query{Label: "positive"}, func(d attune.Doc) bool {
			return d.Analysis.Sentiment.Label == attune.Positive
		}},
		{"label in query string", Query{Text: "label:positive"}, func(d attune.Doc) bool {
			return d.Analysis.Sentiment.Label == attune.Positive
		}},
		{"segment id", Query{Segment: "seg-late-flight"}, func(d attune.Doc) bool {
			return d.SegmentID == "seg-late-flight"
		}},
		{"segment name", Query{Segment: "late-flight"}, func(d attune.Doc) bool {
			return d.SegmentName == "late-flight"
		}},
		{"source", Query{Source: "ticket"}, func(d attune.Doc) bool { return d.Event.Source == "ticket" }},
		{"source and text", Query{Source: "twitter", Text: "card"}, func(d attune.Doc) bool {
			return d.Event.Source == "twitter" && word(`card|cards`)(d.Event.Text)
		}},
		{"customer", Query{Customer: customer}, func(d attune.Doc) bool { return d.Event.CustomerID == customer }},
		{"aspect", Query{Aspect: "baggage"}, func(d attune.Doc) bool { return len(d.Analysis.Aspects) > 0 }},
		{"language", Query{Language: "en", Label: "negative"}, func(d attune.Doc) bool {
			return d.Analysis.Language == "en" && d.Analysis.Sentiment.Label == attune.Negative
		}},
		{"no match", Query{Label: "positive", Segment: "seg-late-flight"}, func(attune.Doc) bool { return false }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.q
			q.Limit = MaxLimit
			hits, total := f.all(t, q)

			var want []string
			for id, d := range f.docs {
				if tc.match(d) {
					want = append(want, id)
				}
			}
			var got []string
			for _, h := range hits {
				got = append(got, h.ID)
			}
			// A case that selects nothing could not tell a filter from a bug.
			if len(want) == 0 && tc.name != "no match" {
				t.Fatalf("no input doc matches %+v", tc.q)
			}
			t.Logf("%d of %d events", len(want), len(f.docs))
			sort.Strings(want)
			sort.Strings(got)
			if total != uint64(len(want)) {
				t.Errorf("Total = %d, want %d", total, len(want))
			}
			if !slices.Equal(got, want) {
				t.Errorf("hit ids differ from the input docs that match:\nmissing %v\nextra   %v",
					minus(want, got), minus(got, want))
			}
			for _, h := range hits {
				checkHit(t, h, f.docs[h.ID])
			}
		})
	}
}

// checkHit compares the stored fields of a hit with the doc indexed.
func checkHit(t *testing.T, h Hit, d attune.Doc) {
	t.Helper()
	if strings.HasPrefix(h.ID, SegmentIDPrefix) {
		t.Errorf("segment document %s in event search", h.ID)
		return
	}
	want := Hit{
		ID: d.Event.ID, Text: d.Event.Text, CustomerID: d.Event.CustomerID, Source: d.Event.Source,
		Label: string(d.Analysis.Sentiment.Label), SegmentID: d.SegmentID, SegmentName: d.SegmentName,
		Sentiment: d.Analysis.Sentiment.Score, Aspects: aspectNames(d.Analysis.Aspects), Language: d.Analysis.Language,
	}
	got := h
	got.TS, got.Score, got.Snippet = want.TS, 0, ""
	if !reflect.DeepEqual(got, want) {
		t.Errorf("hit %s:\n got %+v\nwant %+v", h.ID, got, want)
	}
	if !h.TS.Equal(d.Event.TS) {
		t.Errorf("hit %s: TS = %v, want %v", h.ID, h.TS, d.Event.TS)
	}
}

func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func TestSearchOrderAndPaging(t *testing.T) {
	f := newSearchFixture(t)
	for _, q := range []Query{{}, {Text: "flight"}, {Text: "delay", Label: "negative"}} {
		t.Run(q.Text, func(t *testing.T) {
			one := q
			one.Limit = MaxLimit
			whole, total := f.all(t, one)
			if total == 0 || uint64(len(whole)) != total {
				t.Fatalf("one page: %d hits, Total %d", len(whole), total)
			}
			paged := q
			paged.Limit = 7
			pages, _ := f.all(t, paged)
			if !slices.EqualFunc(whole, pages, func(a, b Hit) bool { return a.ID == b.ID }) {
				t.Errorf("pages of 7 differ from one page of %d", len(whole))
			}
			for i := 1; i < len(whole); i++ {
				a, b := whole[i-1], whole[i]
				if q.Text != "" {
					if a.Score < b.Score {
						t.Fatalf("hit %d scores %v after %v", i, b.Score, a.Score)
					}
					continue
				}
				// Newest first; events without a time last.
				if b.TS.After(a.TS) || (a.TS.IsZero() && !b.TS.IsZero()) {
					t.Fatalf("hit %d at %v after %v", i, b.TS, a.TS)
				}
			}
		})
	}
}

func TestSearchDefaultLimit(t *testing.T) {
	f := newSearchFixture(t)
	res, err := f.ix.Search(context.Background(), Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Hits) != DefaultLimit || res.Total != uint64(len(f.docs)) {
		t.Errorf("got %d hits of %d, want %d of %d", len(res.Hits), res.Total, DefaultLimit, len(f.docs))
	}
}

func TestSearchSnippet(t *testing.T) {
	f := newSearchFixture(t)
	res, err := f.ix.Search(context.Background(), Query{Text: "delay", Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Hits) == 0 {
		t.Fatal("no hits for delay")
	}
	mark := regexp.MustCompile(`<mark>([^<]*)</mark>`)
	for _, h := range res.Hits {
		m := mark.FindAllStringSubmatch(h.Snippet, -1)
		if len(m) == 0 {
			t.Errorf("hit %s: snippet %q has no <mark>", h.ID, h.Snippet)
		}
		for _, sm := range m {
			if !strings.HasPrefix(strings.ToLower(sm[1]), "delay") {
				t.Errorf("hit %s: marked %q, want a form of delay", h.ID, sm[1])
			}
		}
		if h.Score <= 0 {
			t.Errorf("hit %s: score %v", h.ID, h.Score)
		}
	}
}

func TestSearchInvalid(t *testing.T) {
	f := newSearchFixture(t)
	for _, tc := range []struct {
		name string
		q    Query
	}{
		{"negative limit", Query{Limit: -1}},
		{"negative offset", Query{Offset: -1}},
		{"past window", Query{Offset: MaxWindow - 5, Limit: 10}},
		{"unknown label", Query{Label: "angry"}},
		{"syntax", Query{Text: `"unterminated`}},
		{"bad field syntax", Query{Text: "text:"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := f.ix.Search(context.Background(), tc.q); !errors.Is(err, ErrInvalidQuery) {
				t.Errorf("Search(%+v) = %v, want ErrInvalidQuery", tc.q, err)
			}
		})
	}
}
