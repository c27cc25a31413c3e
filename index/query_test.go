package index

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/attune-cx/attune"
)

func ptr(x float64) *float64 { return &x }

// The sample's tweets were written 2015-02-16 .. 2015-02-24 (UTC).
var (
	feb20 = time.Date(2015, 2, 20, 0, 0, 0, 0, time.UTC)
	feb22 = time.Date(2015, 2, 22, 0, 0, 0, 0, time.UTC)
)

func TestSearchRangeFilters(t *testing.T) {
	f := newSearchFixture(t)
	hasAspect := func(d attune.Doc, name string, l attune.Label) bool {
		return slices.ContainsFunc(d.Analysis.Aspects, func(a attune.AspectSentiment) bool {
			return a.Aspect == name && (l == "" || a.Sentiment.Label == l)
		})
	}
	for _, tc := range []struct {
		name  string
		q     Query
		match func(attune.Doc) bool
	}{
		{"sentiment min", Query{SentimentMin: ptr(0.6)}, func(d attune.Doc) bool { return d.Analysis.Sentiment.Score >= 0.6 }},
		{"sentiment max", Query{SentimentMax: ptr(-0.7)}, func(d attune.Doc) bool { return d.Analysis.Sentiment.Score <= -0.7 }},
		{"sentiment range with zero", Query{SentimentMin: ptr(0), SentimentMax: ptr(0)}, func(d attune.Doc) bool {
			return d.Analysis.Sentiment.Score == 0
		}},
		{"sentiment range and text", Query{Text: "flight", SentimentMin: ptr(-1), SentimentMax: ptr(-0.5)}, func(d attune.Doc) bool {
			// "Cancelled Flighted" is in the data; the stemmer makes it flight.
			return word(`flight|flights|flighted`)(d.Event.Text) && d.Analysis.Sentiment.Score <= -0.5
		}},
		{"from", Query{From: feb22}, func(d attune.Doc) bool { return !d.Event.TS.IsZero() && !d.Event.TS.Before(feb22) }},
		{"to", Query{To: feb20}, func(d attune.Doc) bool { return !d.Event.TS.IsZero() && d.Event.TS.Before(feb20) }},
		{"from to", Query{From: feb20, To: feb22}, func(d attune.Doc) bool {
			return !d.Event.TS.Before(feb20) && d.Event.TS.Before(feb22)
		}},
		{"aspect label", Query{Aspect: "baggage", AspectLabel: "negative"}, func(d attune.Doc) bool {
			return hasAspect(d, "baggage", attune.Negative)
		}},
		{"aspect label positive", Query{Aspect: "baggage", AspectLabel: "positive"}, func(d attune.Doc) bool {
			return hasAspect(d, "baggage", attune.Positive)
		}},
		{"everything", Query{Source: "twitter", Label: "negative", From: feb20, SentimentMax: ptr(-0.9), Segment: "late-flight"},
			func(d attune.Doc) bool {
				return d.Event.Source == "twitter" && d.Analysis.Sentiment.Label == attune.Negative &&
					!d.Event.TS.Before(feb20) && d.Analysis.Sentiment.Score <= -0.9 && d.SegmentName == "late-flight"
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.q
			q.Limit = MaxLimit
			hits, total := f.all(t, q)
			var want, got []string
			for id, d := range f.docs {
				if tc.match(d) {
					want = append(want, id)
				}
			}
			if len(want) == 0 || len(want) == len(f.docs) {
				t.Fatalf("%d of %d input docs match: the case cannot tell a filter from a bug", len(want), len(f.docs))
			}
			for _, h := range hits {
				got = append(got, h.ID)
				checkHit(t, h, f.docs[h.ID])
			}
			sort.Strings(want)
			sort.Strings(got)
			t.Logf("%d of %d events", len(want), len(f.docs))
			if total != uint64(len(want)) || !slices.Equal(got, want) {
				t.Errorf("Total %d, want %d; missing %v, extra %v", total, len(want), minus(want, got), minus(got, want))
			}
		})
	}
}

func TestSearchSort(t *testing.T) {
	f := newSearchFixture(t)
	for _, tc := range []struct {
		q Query
		// before reports whether a may come before b.
		before func(a, b Hit) bool
	}{
		{Query{Sort: SortTime}, func(a, b Hit) bool { return !a.TS.Before(b.TS) || b.TS.IsZero() }},
		{Query{Sort: SortTime, Order: OrderAsc}, func(a, b Hit) bool { return !a.TS.After(b.TS) && !a.TS.IsZero() || b.TS.IsZero() }},
		{Query{Sort: SortSentiment}, func(a, b Hit) bool { return a.Sentiment >= b.Sentiment }},
		{Query{Sort: SortSentiment, Order: OrderAsc}, func(a, b Hit) bool { return a.Sentiment <= b.Sentiment }},
		{Query{Text: "delay", Sort: SortSentiment, Order: OrderAsc}, func(a, b Hit) bool { return a.Sentiment <= b.Sentiment }},
		{Query{Text: "delay", Sort: SortTime}, func(a, b Hit) bool { return !a.TS.Before(b.TS) }},
		{Query{Text: "delay late", Order: OrderAsc}, func(a, b Hit) bool { return a.Score <= b.Score }},
		// Relevance without text falls back to time, newest first.
		{Query{Sort: SortRelevance}, func(a, b Hit) bool { return !a.TS.Before(b.TS) || b.TS.IsZero() }},
	} {
		name := fmt.Sprintf("%s/%s/%s", tc.q.Text, tc.q.Sort, tc.q.Order)
		t.Run(name, func(t *testing.T) {
			q := tc.q
			q.Limit = 50
			hits, total := f.all(t, q)
			if total < 10 || uint64(len(hits)) != total {
				t.Fatalf("%d hits of %d", len(hits), total)
			}
			distinct := map[string]bool{}
			for i := 1; i < len(hits); i++ {
				a, b := hits[i-1], hits[i]
				if !tc.before(a, b) {
					t.Fatalf("hit %d (%s ts %v sentiment %v score %v) after hit %d (%s ts %v sentiment %v score %v)",
						i, b.ID, b.TS, b.Sentiment, b.Score, i-1, a.ID, a.TS, a.Sentiment, a.Score)
				}
				distinct[fmt.Sprint(a.TS, a.Sentiment, a.Score)] = true
			}
			if len(distinct) < 3 {
				t.Fatalf("hits have only %d distinct sort keys; the case cannot fail", len(distinct))
			}
			if q.Text != "" && (q.Sort == SortRelevance || q.Sort == "") {
				if hits[0].Score == 0 {
					t.Errorf("relevance sort without scores")
				}
			} else if hits[0].Score != 0 {
				t.Errorf("score %v set without relevance sort", hits[0].Score)
			}
		})
	}
}

func TestSearchFacets(t *testing.T) {
	f := newSearchFixture(t)
	ctx := context.Background()
	for _, q := range []Query{
		{},
		{Text: "flight"},
		{Label: "negative", From: feb20},
	} {
		t.Run(q.Text+q.Label, func(t *testing.T) {
			q.Facets = Facets
			q.FacetSize = MaxFacetSize
			res, err := f.ix.Search(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			all := q
			all.Facets, all.Limit = nil, MaxLimit
			hits, total := f.all(t, all)
			if total != res.Total {
				t.Fatalf("Total %d with facets, %d without", res.Total, total)
			}
			var docs []attune.Doc
			for _, h := range hits {
				docs = append(docs, f.docs[h.ID])
			}
			if len(docs) < 20 {
				t.Fatalf("only %d matches", len(docs))
			}
			if len(res.Facets) != len(Facets) {
				t.Fatalf("got %d facets, want %d", len(res.Facets), len(Facets))
			}

			terms := func(d attune.Doc, name string) []string {
				switch name {
				case FacetSegment:
					if d.SegmentID == "" {
						return nil
					}
					return []string{d.SegmentID}
				case FacetAspect:
					return aspectNames(d.Analysis.Aspects)
				case FacetAspectSentiment:
					var out []string
					for _, a := range d.Analysis.Aspects {
						out = append(out, a.Aspect+":"+string(a.Sentiment.Label))
					}
					return out
				case FacetSource:
					return []string{d.Event.Source}
				case FacetLabel:
					return []string{string(d.Analysis.Sentiment.Label)}
				case FacetLanguage:
					return []string{d.Analysis.Language}
				}
				panic(name)
			}
			for name := range termFacetFields {
				want := map[string]int{}
				missing := 0
				for _, d := range docs {
					ts := terms(d, name)
					if len(ts) == 0 {
						missing++
					}
					for _, x := range ts {
						want[x]++
					}
				}
				got := map[string]int{}
				fc := res.Facets[name]
				for i, b := range fc.Buckets {
					got[b.Value] = b.Count
					if i > 0 && cmp.Or(cmp.Compare(fc.Buckets[i-1].Count, b.Count), strings.Compare(b.Value, fc.Buckets[i-1].Value)) < 0 {
						t.Errorf("facet %s: bucket %d (%v) out of order", name, i, b)
					}
				}
				if len(want) > MaxFacetSize {
					t.Fatalf("facet %s has %d values, more than a page", name, len(want))
				}
				if fmt.Sprint(got) != fmt.Sprint(want) || fc.Missing != missing {
					t.Errorf("facet %s: got %v missing %d, want %v missing %d", name, got, fc.Missing, want, missing)
				}
			}
			for _, b := range res.Facets[FacetSegment].Buckets {
				if b.Label != strings.TrimPrefix(b.Value, "seg-") {
					t.Errorf("segment bucket %s labelled %q", b.Value, b.Label)
				}
			}

			// Sentiment bands.
			bands := res.Facets[FacetSentiment].Buckets
			if len(bands) != len(SentimentBands) {
				t.Fatalf("%d sentiment bands", len(bands))
			}
			sum := 0
			for i, b := range bands {
				want := 0
				for _, d := range docs {
					s := d.Analysis.Sentiment.Score
					if (s >= *b.Min || i == 0) && (s < *b.Max || i == len(bands)-1) {
						want++
					}
				}
				if b.Value != SentimentBands[i].Name || b.Count != want {
					t.Errorf("band %d: %s %d, want %s %d", i, b.Value, b.Count, SentimentBands[i].Name, want)
				}
				sum += b.Count
			}
			if sum != len(docs) {
				t.Errorf("bands count %d events of %d", sum, len(docs))
			}

			// Time histogram: days (the tweets span about nine days),
			// contiguous, counting every matching event with a time.
			tf := res.Facets[FacetTime]
			if tf.Interval != IntervalDay {
				t.Errorf("interval %q, want day", tf.Interval)
			}
			perDay := map[string]int{}
			withTime := 0
			for _, d := range docs {
				if !d.Event.TS.IsZero() {
					perDay[d.Event.TS.UTC().Format(time.RFC3339)[:10]]++
					withTime++
				}
			}
			sum = 0
			for i, b := range tf.Buckets {
				if i > 0 && !b.Start.Equal(tf.Buckets[i-1].End) {
					t.Errorf("bucket %d starts %v, previous ends %v", i, b.Start, tf.Buckets[i-1].End)
				}
				if b.End.Sub(b.Start) != 24*time.Hour || b.Value != b.Start.Format(time.RFC3339) {
					t.Errorf("bucket %d: %+v", i, b)
				}
				if b.Count != perDay[b.Value[:10]] {
					t.Errorf("day %s: %d events, want %d", b.Value[:10], b.Count, perDay[b.Value[:10]])
				}
				sum += b.Count
			}
			if sum != withTime || tf.Missing != len(docs)-withTime {
				t.Errorf("histogram counts %d (missing %d), want %d (missing %d)", sum, tf.Missing, withTime, len(docs)-withTime)
			}
			if !q.From.IsZero() && !tf.Buckets[0].Start.Equal(q.From) {
				t.Errorf("histogram starts %v, query from %v", tf.Buckets[0].Start, q.From)
			}
		})
	}
}

func TestFacetSizeAndOther(t *testing.T) {
	f := newSearchFixture(t)
	res, err := f.ix.Search(context.Background(), Query{Facets: []string{FacetSegment}, FacetSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	fc := res.Facets[FacetSegment]
	inBuckets := 0
	for _, b := range fc.Buckets {
		inBuckets += b.Count
	}
	withSeg := 0
	for _, d := range f.docs {
		if d.SegmentID != "" {
			withSeg++
		}
	}
	if len(fc.Buckets) != 3 || fc.Other == 0 || inBuckets+fc.Other != withSeg {
		t.Errorf("%d buckets holding %d, other %d; want 3 buckets and other adding up to %d", len(fc.Buckets), inBuckets, fc.Other, withSeg)
	}
}

func TestPlanTimeSpan(t *testing.T) {
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		lo, hi, interval, start, end string
		buckets                      int
	}{
		{"2015-02-24T10:30:00Z", "2015-02-24T13:05:00Z", IntervalHour, "2015-02-24T10:00:00Z", "2015-02-24T14:00:00Z", 4},
		{"2015-02-16T23:00:00Z", "2015-02-24T11:00:00Z", IntervalDay, "2015-02-16T00:00:00Z", "2015-02-25T00:00:00Z", 9},
		// 2016-10-04 is a Tuesday: weeks start on the Monday before.
		{"2016-10-04T08:00:00Z", "2017-03-01T00:00:00Z", IntervalWeek, "2016-10-03T00:00:00Z", "2017-03-06T00:00:00Z", 22},
		{"2016-09-04T00:00:00Z", "2018-10-17T00:00:00Z", IntervalMonth, "2016-09-01T00:00:00Z", "2018-11-01T00:00:00Z", 26},
		{"2001-05-01T00:00:00Z", "2026-01-01T00:00:00Z", IntervalYear, "2001-01-01T00:00:00Z", "2027-01-01T00:00:00Z", 26},
	} {
		s := planTimeSpan(at(tc.lo), at(tc.hi))
		n := 0
		for x := s.start; x.Before(s.end); x = next(x, s.interval) {
			n++
		}
		if s.interval != tc.interval || !s.start.Equal(at(tc.start)) || !s.end.Equal(at(tc.end)) || n != tc.buckets {
			t.Errorf("%s..%s: %s %v..%v (%d buckets), want %s %s..%s (%d)", tc.lo, tc.hi, s.interval, s.start, s.end, n,
				tc.interval, tc.start, tc.end, tc.buckets)
		}
	}
}

func TestQueryValidate(t *testing.T) {
	f := newSearchFixture(t)
	for _, tc := range []struct {
		name string
		q    Query
		msg  string // part of the error message
	}{
		{"negative limit", Query{Limit: -1}, "negative limit"},
		{"limit over max", Query{Limit: MaxLimit + 1}, "limit 1001 is over 1000"},
		{"negative offset", Query{Offset: -1}, "negative offset"},
		{"past window", Query{Offset: MaxWindow - 5, Limit: 10}, "is over 10000"},
		{"offset overflowing", Query{Offset: math.MaxInt - 5, Limit: 10}, "is over 10000"},
		{"unknown label", Query{Label: "angry"}, `unknown label "angry"`},
		{"syntax", Query{Text: `"unterminated`}, "unterminated"},
		{"too long", Query{Text: strings.Repeat("delay ", 200)}, "1200 bytes, at most 1024"},
		{"long filter", Query{Customer: strings.Repeat("x", 2000)}, "customer is 2000 bytes"},
		{"bad sort", Query{Sort: "date"}, `unknown sort "date"`},
		{"bad order", Query{Order: "up"}, `unknown order "up"`},
		{"inverted sentiment", Query{SentimentMin: ptr(0.5), SentimentMax: ptr(-0.5)}, "sentiment_min 0.5 is above sentiment_max -0.5"},
		{"sentiment out of range", Query{SentimentMax: ptr(2)}, "sentiment_max 2 is outside [-1, 1]"},
		{"inverted time", Query{From: feb22, To: feb20}, "is not before to"},
		{"empty time range", Query{From: feb22, To: feb22}, "is not before to"},
		{"unknown facet", Query{Facets: []string{"colour"}}, `unknown facet "colour"`},
		{"facet twice", Query{Facets: []string{FacetSource, FacetSource}}, "asked for twice"},
		{"facet size", Query{FacetSize: MaxFacetSize + 1}, "facet size"},
		{"aspect label alone", Query{AspectLabel: "negative"}, "needs an aspect"},
		{"bad aspect label", Query{Aspect: "price", AspectLabel: "meh"}, `unknown aspect label "meh"`},
		{"not UTF-8", Query{Text: "caf\xe9"}, "not valid UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.ix.Search(context.Background(), tc.q)
			if !errors.Is(err, ErrInvalidQuery) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("Search(%+v) = %v, want ErrInvalidQuery saying %q", tc.q, err, tc.msg)
			}
		})
	}
	// The boundaries themselves are valid.
	for _, q := range []Query{
		{Limit: MaxLimit},
		{Offset: MaxWindow - MaxLimit, Limit: MaxLimit},
		{Text: strings.Repeat("a", MaxQueryBytes)},
		{SentimentMin: ptr(-1), SentimentMax: ptr(1)},
		{Label: "unknown"},
	} {
		if _, err := f.ix.Search(context.Background(), q); err != nil {
			t.Errorf("Search(%+v): %v", q, err)
		}
	}
}

// olistDocs returns n Portuguese reviews (with a comment) from the Olist
// reviews file, as "review" events of language pt, labelled from the stars.
func olistDocs(tb testing.TB, n int) []attune.Doc {
	tb.Helper()
	rows, err := readCSV(filepath.Join(datasets, "olist", "olist_order_reviews_dataset.csv"))
	if err != nil {
		tb.Fatal(err)
	}
	var docs []attune.Doc
	for _, r := range rows {
		text := strings.TrimSpace(r["review_comment_message"])
		if text == "" {
			continue
		}
		ts, err := time.Parse("2006-01-02 15:04:05", r["review_creation_date"])
		if err != nil {
			tb.Fatal(err)
		}
		stars, _ := strconv.Atoi(r["review_score"])
		s := attune.Sentiment{Score: float64(stars-3) / 2, Label: attune.Neutral}
		switch {
		case stars >= 4:
			s.Label = attune.Positive
		case stars <= 2:
			s.Label = attune.Negative
		}
		a := analyse(text, s)
		a.Language = "pt"
		docs = append(docs, attune.Doc{
			Event:    attune.Event{ID: "olist-" + r["review_id"], CustomerID: "olist-" + r["order_id"], Source: "review", Text: text, TS: ts},
			Analysis: a,
		})
		if len(docs) == n {
			break
		}
	}
	return docs
}

func TestSearchPortuguese(t *testing.T) {
	ix := openTest(t, t.TempDir())
	docs := olistDocs(t, 2000)
	indexInBatches(t, ix, docs, 500)
	ctx := context.Background()

	// "entregue" (delivered), "entregues", "entrega" (delivery) share the
	// Portuguese stem; the English analyzer keeps them apart.
	// The tokenizer keeps "excelente.Entrega" one word (UAX #29), so a form
	// right after a period without a space does not count.
	forms := regexp.MustCompile(`(?i)(^|[^\p{L}.])(entrega|entregas|entregue|entregues|entregar|entregou|entregaram)\b`).MatchString
	var want []string
	for _, d := range docs {
		if forms(d.Event.Text) {
			want = append(want, d.Event.ID)
		}
	}
	res, err := ix.Search(ctx, Query{Text: "entregue", Limit: MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	marked := 0
	for _, h := range res.Hits {
		got = append(got, h.ID)
		if strings.Contains(h.Snippet, "<mark>") {
			marked++
		}
	}
	sort.Strings(want)
	sort.Strings(got)
	exact := 0
	for _, d := range docs {
		if word(`entregue`)(d.Event.Text) {
			exact++
		}
	}
	t.Logf("%d docs with a form of entregar, %d with entregue; %d hits, %d with a marked snippet", len(want), exact, len(got), marked)
	if len(got) <= exact {
		t.Errorf("%d hits for entregue, no more than the %d exact matches: Portuguese stemming not applied", len(got), exact)
	}
	if missing := minus(want, got); len(missing) > 0 {
		t.Errorf("%d docs with a form of entregar not found, e.g. %v", len(missing), missing[:min(3, len(missing))])
	}
	if marked != len(got) {
		t.Errorf("%d of %d hits have a highlighted snippet", marked, len(got))
	}
}

func TestDeleteCustomer(t *testing.T) {
	dir := t.TempDir()
	ix := openTest(t, dir)
	docs := sample(t)
	indexInBatches(t, ix, docs, 128)
	ctx := context.Background()
	byCustomer := map[string][]string{}
	for id, d := range latest(docs) {
		byCustomer[d.Event.CustomerID] = append(byCustomer[d.Event.CustomerID], id)
	}
	// The customer with most events, and one with a single event.
	var big, single string
	for c, ids := range byCustomer {
		if len(ids) > len(byCustomer[big]) || (len(ids) == len(byCustomer[big]) && c < big) {
			big = c
		}
		if len(ids) == 1 && (single == "" || c < single) {
			single = c
		}
	}
	if len(byCustomer[big]) < 2 {
		t.Fatal("no customer with several events")
	}
	before := countEvents(t, ix)
	for _, c := range []string{big, single} {
		n, err := ix.DeleteCustomer(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		if n != len(byCustomer[c]) {
			t.Errorf("DeleteCustomer(%s) = %d, want %d", c, n, len(byCustomer[c]))
		}
	}
	if n, err := ix.DeleteCustomer(ctx, big); err != nil || n != 0 {
		t.Errorf("second DeleteCustomer = %d, %v; want 0, nil", n, err)
	}
	if _, err := ix.DeleteCustomer(ctx, ""); err == nil {
		t.Error("DeleteCustomer(\"\") succeeded")
	}
	want := before - uint64(len(byCustomer[big])+1)
	check := func(ix *Index) {
		t.Helper()
		if n := countEvents(t, ix); n != want {
			t.Errorf("%d events, want %d", n, want)
		}
		has, err := ix.Has(ctx, append(byCustomer[big], byCustomer[single]...))
		if err != nil {
			t.Fatal(err)
		}
		for id, ok := range has {
			if ok {
				t.Errorf("event %s of a deleted customer still indexed", id)
			}
		}
		res, err := ix.Search(ctx, Query{Customer: big, Facets: []string{FacetSource}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Total != 0 {
			t.Errorf("search by deleted customer: %d hits", res.Total)
		}
	}
	check(ix)
	// Deletions are persisted: a reopened index agrees.
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	check(openTest(t, dir))
}

func TestStatsAndSize(t *testing.T) {
	dir := t.TempDir()
	ix := openTest(t, dir)
	ctx := context.Background()
	st0, err := ix.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	docs := sample(t)
	indexInBatches(t, ix, docs, 128)
	if err := ix.ReplaceSegments(ctx, goldSegments(latest(docs), time.Now())); err != nil {
		t.Fatal(err)
	}
	st, err := ix.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("empty %+v, filled %+v", st0, st)
	if st.Events != uint64(len(latest(docs))) || st.Segments == 0 || st.MappingVersion != MappingVersion || st.Path != dir {
		t.Errorf("Stats = %+v", st)
	}
	// The texts alone take more than this; the index stores them.
	textBytes := 0
	for _, d := range latest(docs) {
		textBytes += len(d.Event.Text)
	}
	if st0.Bytes <= 0 || st.Bytes < st0.Bytes+int64(textBytes) {
		t.Errorf("size %d empty, %d with %d bytes of text", st0.Bytes, st.Bytes, textBytes)
	}
}

func TestSearchSegments(t *testing.T) {
	ix := openTest(t, t.TempDir())
	ctx := context.Background()
	docs := latest(sample(t))
	segs := goldSegments(docs, time.Now())
	if err := ix.ReplaceSegments(ctx, segs); err != nil {
		t.Fatal(err)
	}
	// Every segment is found by its own name's words, and best.
	for _, s := range segs {
		hits, err := ix.SearchSegments(ctx, strings.ReplaceAll(s.Name, "-", " "), 5)
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) == 0 || hits[0].ID != s.ID {
			t.Errorf("segment %s (%s): hits %+v", s.ID, s.Name, hits)
		}
	}
	// Inflected words match through stemming; event texts are not segments.
	hits, err := ix.SearchSegments(ctx, "delays", 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hits {
		if h.ID == "" || h.Name == "" {
			t.Errorf("hit %+v", h)
		}
	}
	if _, err := ix.SearchSegments(ctx, " ", 10); !errors.Is(err, ErrInvalidQuery) {
		t.Errorf("blank query: %v", err)
	}
	if _, err := ix.SearchSegments(ctx, "x", 0); !errors.Is(err, ErrInvalidQuery) {
		t.Errorf("zero limit: %v", err)
	}
}

func TestTimeFacetAfterReopen(t *testing.T) {
	dir := t.TempDir()
	ix := openTest(t, dir)
	docs := sample(t)
	indexInBatches(t, ix, docs, 128)
	ctx := context.Background()
	q := Query{Facets: []string{FacetTime}}
	first, err := ix.Search(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := openTest(t, dir).Search(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(first.Facets) != fmt.Sprint(again.Facets) || len(first.Facets[FacetTime].Buckets) < 5 {
		t.Errorf("before reopen %v\nafter %v", first.Facets, again.Facets)
	}
}
