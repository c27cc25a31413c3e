package index

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search"
)

// Time histogram intervals (Facet.Interval).
const (
	IntervalHour  = "hour"
	IntervalDay   = "day"
	IntervalWeek  = "week"
	IntervalMonth = "month"
	IntervalYear  = "year"
)

// termFacetFields maps the term facets to the fields they count.
var termFacetFields = map[string]string{
	FacetSegment:         fieldSegmentID,
	FacetAspect:          fieldAspects,
	FacetAspectSentiment: fieldAspectSentiment,
	FacetSource:          fieldSource,
	FacetLabel:           fieldLabel,
	FacetLanguage:        fieldLanguage,
}

// timeSpan is the histogram plan of one search: buckets of interval over
// [start, end), counted from the terms of field.
type timeSpan struct {
	interval   string
	field      string
	layout     string
	start, end time.Time
	raw        int // raw field terms in the span: the facet size needed
}

// addFacets adds the facet requests of q to req and returns the plan of the
// time histogram (nil if q asks for none or no event has a time).
func (ix *Index) addFacets(ctx context.Context, req *bleve.SearchRequest, q Query) (*timeSpan, error) {
	var span *timeSpan
	for _, name := range q.Facets {
		if field, ok := termFacetFields[name]; ok {
			req.AddFacet(name, bleve.NewFacetRequest(field, q.facetSize()))
			continue
		}
		switch name {
		case FacetSentiment:
			req.AddFacet(name, bleve.NewFacetRequest(fieldSentimentBand, len(SentimentBands)))
		case FacetTime:
			lo, hi, ok, err := ix.timeRange(ctx)
			if err != nil {
				return nil, err
			}
			if !q.From.IsZero() && q.From.After(lo) {
				lo = q.From
			}
			if !q.To.IsZero() && !q.To.After(hi) {
				hi = q.To.Add(-time.Nanosecond) // To is exclusive
			}
			if !ok || hi.Before(lo) {
				continue // nothing to bucket: the facet comes back empty
			}
			span = planTimeSpan(lo, hi)
			req.AddFacet(name, bleve.NewFacetRequest(span.field, span.raw+1))
		}
	}
	return span, nil
}

// planTimeSpan picks the interval for times in [lo, hi]: the finest of hour,
// day, week, month and year that gives at most about 60 buckets, so a trend
// chart has enough points to show a shape and few enough to read.
func planTimeSpan(lo, hi time.Time) *timeSpan {
	lo, hi = lo.UTC(), hi.UTC()
	d := hi.Sub(lo)
	s := &timeSpan{}
	switch {
	case d <= 48*time.Hour:
		s.interval, s.field, s.layout = IntervalHour, fieldTSHour, layoutHour
	case d <= 62*24*time.Hour:
		s.interval, s.field, s.layout = IntervalDay, fieldTSDay, layoutDay
	case d <= 366*24*time.Hour:
		s.interval, s.field, s.layout = IntervalWeek, fieldTSDay, layoutDay
	case d <= 6*366*24*time.Hour:
		s.interval, s.field, s.layout = IntervalMonth, fieldTSMonth, layoutMonth
	default:
		s.interval, s.field, s.layout = IntervalYear, fieldTSMonth, layoutMonth
	}
	s.start = truncate(lo, s.interval)
	s.end = next(truncate(hi, s.interval), s.interval)
	switch s.field {
	case fieldTSHour:
		s.raw = int(s.end.Sub(s.start) / time.Hour)
	case fieldTSDay:
		s.raw = int(s.end.Sub(s.start) / (24 * time.Hour))
	default:
		s.raw = (s.end.Year()-s.start.Year())*12 + int(s.end.Month()-s.start.Month())
	}
	return s
}

// truncate returns the start of the interval holding t (UTC); weeks start on
// Monday (ISO 8601).
func truncate(t time.Time, interval string) time.Time {
	y, m, d := t.Date()
	switch interval {
	case IntervalHour:
		return time.Date(y, m, d, t.Hour(), 0, 0, 0, time.UTC)
	case IntervalDay:
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	case IntervalWeek:
		back := (int(t.Weekday()) + 6) % 7
		return time.Date(y, m, d-back, 0, 0, 0, 0, time.UTC)
	case IntervalMonth:
		return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	}
	return time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
}

// next returns the start of the interval after the one starting at t.
func next(t time.Time, interval string) time.Time {
	switch interval {
	case IntervalHour:
		return t.Add(time.Hour)
	case IntervalDay:
		return t.AddDate(0, 0, 1)
	case IntervalWeek:
		return t.AddDate(0, 0, 7)
	case IntervalMonth:
		return t.AddDate(0, 1, 0)
	}
	return t.AddDate(1, 0, 0)
}

// readFacets turns Bleve's facet results into Facets, in the shape q asked
// for.
func (ix *Index) readFacets(ctx context.Context, q Query, fr search.FacetResults, span *timeSpan) (map[string]Facet, error) {
	out := make(map[string]Facet, len(q.Facets))
	for _, name := range q.Facets {
		r := fr[name]
		f := Facet{Buckets: []Bucket{}}
		switch {
		case termFacetFields[name] != "":
			if r != nil {
				f.Other, f.Missing = r.Other, r.Missing
				for _, t := range r.Terms.Terms() {
					f.Buckets = append(f.Buckets, Bucket{Value: t.Term, Count: t.Count})
				}
				// Bleve sorts by count only; make ties deterministic.
				slices.SortStableFunc(f.Buckets, func(a, b Bucket) int {
					return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Value, b.Value))
				})
			}
			if name == FacetSegment {
				if err := ix.labelSegments(ctx, f.Buckets); err != nil {
					return nil, err
				}
			}
		case name == FacetSentiment:
			counts := map[string]int{}
			if r != nil {
				f.Missing = r.Missing
				for _, t := range r.Terms.Terms() {
					counts[t.Term] = t.Count
				}
			}
			for _, b := range SentimentBands {
				f.Buckets = append(f.Buckets, Bucket{Value: b.Name, Count: counts[b.Name], Min: &b.Min, Max: &b.Max})
			}
		case name == FacetTime:
			if span == nil {
				break
			}
			f.Interval = span.interval
			counts := map[time.Time]int{}
			if r != nil {
				f.Missing = r.Missing
				for _, t := range r.Terms.Terms() {
					ts, err := time.Parse(span.layout, t.Term)
					if err != nil {
						continue // not written by this package
					}
					counts[truncate(ts, span.interval)] += t.Count
				}
			}
			for t := span.start; t.Before(span.end); t = next(t, span.interval) {
				f.Buckets = append(f.Buckets, Bucket{
					Value: t.Format(time.RFC3339), Count: counts[t], Start: t, End: next(t, span.interval),
				})
			}
		}
		out[name] = f
	}
	return out, nil
}

// labelSegments sets the Label of segment buckets to the segment's name:
// from the segment set (cached in memory), or, for a segment not in it
// (events indexed with a segment before the set was stored), from one of its
// events.
func (ix *Index) labelSegments(ctx context.Context, bs []Bucket) error {
	if len(bs) == 0 {
		return nil
	}
	names, err := ix.segmentNames(ctx)
	if err != nil {
		return err
	}
	for i := range bs {
		if n, ok := names[bs[i].Value]; ok {
			bs[i].Label = n
			continue
		}
		req := bleve.NewSearchRequestOptions(termQuery(fieldSegmentID, bs[i].Value), 1, 0, false)
		req.Score = "none"
		req.Fields = []string{fieldSegmentName}
		sr, err := ix.bleve.SearchInContext(ctx, req)
		if err != nil {
			return fmt.Errorf("read segment name: %w", err)
		}
		if len(sr.Hits) > 0 {
			bs[i].Label = fieldString(sr.Hits[0].Fields, fieldSegmentName)
		}
	}
	return nil
}

// segmentNames returns segment id → name of the stored segment set, read
// once and replaced by ReplaceSegments. The map is never modified.
func (ix *Index) segmentNames(ctx context.Context) (map[string]string, error) {
	ix.segNamesMu.Lock()
	names := ix.segNames
	ix.segNamesMu.Unlock()
	if names != nil {
		return names, nil
	}
	segs, err := ix.Segments(ctx)
	if err != nil {
		return nil, err
	}
	names = make(map[string]string, len(segs))
	for _, s := range segs {
		names[s.ID] = s.Name
	}
	ix.segNamesMu.Lock()
	defer ix.segNamesMu.Unlock()
	if ix.segNames == nil { // ReplaceSegments may have set a newer one
		ix.segNames = names
	}
	return ix.segNames, nil
}

// tsRange is the earliest and latest event time in the index, the span of
// the time histogram. It is read from the index once and widened by every
// write; deletions do not narrow it (a histogram then starts with empty
// buckets, which is harmless).
type tsRange struct {
	mu     sync.Mutex
	loaded bool
	has    bool
	lo, hi time.Time
}

func (r *tsRange) widen(t time.Time) {
	if t.IsZero() {
		return
	}
	if !r.has || t.Before(r.lo) {
		r.lo = t
	}
	if !r.has || t.After(r.hi) {
		r.hi = t
	}
	r.has = true
}

// noteTimes widens the cached time range by the times of written docs.
func (ix *Index) noteTimes(ts []time.Time) {
	ix.ts.mu.Lock()
	defer ix.ts.mu.Unlock()
	for _, t := range ts {
		ix.ts.widen(t)
	}
}

// timeRange returns the earliest and latest event time, ok false if no event
// has one.
func (ix *Index) timeRange(ctx context.Context) (lo, hi time.Time, ok bool, err error) {
	ix.ts.mu.Lock()
	loaded := ix.ts.loaded
	ix.ts.mu.Unlock()
	if !loaded {
		// Read outside the lock: writes widen the range meanwhile, and the
		// union of both is still within the index's true range.
		var ends [2]time.Time
		for i, desc := range []bool{false, true} {
			req := bleve.NewSearchRequestOptions(termQuery(fieldType, TypeEvent), 1, 0, false)
			req.Score = "none"
			req.Fields = []string{fieldTS}
			req.SortByCustom(search.SortOrder{&search.SortField{
				Field: fieldTSSort, Type: search.SortFieldAsString, Desc: desc, Missing: search.SortFieldMissingLast,
			}})
			sr, err := ix.bleve.SearchInContext(ctx, req)
			if err != nil {
				return lo, hi, false, fmt.Errorf("read event time range: %w", err)
			}
			if len(sr.Hits) > 0 {
				ends[i] = fieldTime(sr.Hits[0].Fields, fieldTS)
			}
		}
		ix.ts.mu.Lock()
		ix.ts.widen(ends[0])
		ix.ts.widen(ends[1])
		ix.ts.loaded = true
		ix.ts.mu.Unlock()
	}
	ix.ts.mu.Lock()
	defer ix.ts.mu.Unlock()
	return ix.ts.lo, ix.ts.hi, ix.ts.has, nil
}
