package index

import (
	"context"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
)

// timeWindowMin is the number of matches up to which a time-sorted search
// sorts all of them at once.
const timeWindowMin = 2000

// searchByTime runs req, which sorts by event time, in two parts. First the
// total and the facets of all matches, from the postings, without sorting
// them (countFacets). Then the page, from
// the matches within a time window at the end the sort starts from (the
// newest for descending order, the oldest for ascending), widened until the
// window holds the page. Every match outside the window sorts after every
// match in it (it is older, or newer, or has no time, which sorts last
// either way, and ties on the time are all inside), so the page is the one
// sorting all matches gives. Sorting is what a broad time-sorted query
// spends most on: Bleve reads the sort key and the id of every match.
//
// The two parts read two snapshots of the index; with writes in between,
// Total and the facets may count one write more or less than the page.
func (ix *Index) searchByTime(ctx context.Context, q Query, tq query.Query, req *bleve.SearchRequest, hasText bool) (*bleve.SearchResult, error) {
	start := time.Now()
	var (
		total  uint64
		facets search.FacetResults
	)
	fr, n, ok, err := ix.countFacets(ctx, q.facetQuery(req.Query, hasText), req.Facets)
	if err != nil {
		return nil, err
	}
	if !ok {
		return ix.searchCounted(ctx, q, req, hasText)
	}
	if len(req.Facets) > 0 {
		ix.postingsFacets.Add(1)
	}
	total, facets = n, fr

	lo, hi, hasTime, err := ix.timeRange(ctx)
	if err != nil {
		return nil, err
	}
	if !q.From.IsZero() && q.From.After(lo) {
		lo = q.From
	}
	if !q.To.IsZero() && q.To.Before(hi) {
		hi = q.To
	}
	span := hi.Sub(lo)
	need := q.Offset + q.limit()
	// A window expected to hold four pages if the matches were spread
	// evenly over the span; eight times wider on each retry.
	w := time.Duration(0)
	if hasTime && total > timeWindowMin && span > 0 {
		w = time.Duration(float64(span) * min(1, 4*float64(need)/float64(total)))
	}
	for tries := 0; ; tries++ {
		var window query.Query
		if w > 0 && w < span && tries < 4 {
			incl := true
			var r *query.DateRangeQuery
			if q.Order == OrderAsc {
				r = bleve.NewDateRangeInclusiveQuery(time.Time{}, lo.Add(w), nil, &incl)
			} else {
				r = bleve.NewDateRangeInclusiveQuery(hi.Add(-w), time.Time{}, &incl, nil)
			}
			r.SetField(fieldTS)
			window = r
		}
		page := *req
		page.Facets = nil
		page.Query = q.query(tq, window, true)
		sr, err := ix.bleve.SearchInContext(ctx, &page)
		if err != nil {
			return nil, err
		}
		if window == nil || sr.Total >= uint64(need) {
			if window != nil {
				sr.Total = total
				ix.timeWindowed.Add(1)
			}
			sr.Facets = facets
			sr.Took = time.Since(start)
			return sr, nil
		}
		w *= 8
	}
}
