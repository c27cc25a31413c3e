package index

import (
	"context"
	"fmt"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
)

// timeWindowMin is the number of matches up to which a time-sorted search
// sorts all of them at once.
const timeWindowMin = 2000

// searchByTime runs req, which sorts by event time, in two parts. First
// the matches, as a bitmap per segment: from the postings of the filter's
// terms when there is no text and no range (filterMatches), else by running
// the query without scoring (matching). The total and the facets are
// counted from them (countFacetsIn), without sorting anything. Then the
// page, from the matches within a time window at the end the sort starts
// from (the newest for descending order, the oldest for ascending): the
// smallest one holding the page, found from the time bucket terms
// (pageWindow). Every match outside the window sorts after every
// match in it (it is older, or newer, or has no time, which sorts last
// either way), so the page is the one sorting all matches gives. Sorting is
// what a broad time-sorted query spends most on: Bleve reads the sort key
// and the id of every match.
//
// The two parts read two snapshots of the index; with writes in between,
// Total and the facets may count one write more or less than the page.
func (ix *Index) searchByTime(ctx context.Context, q Query, tq query.Query, req *bleve.SearchRequest, hasText bool) (*bleve.SearchResult, error) {
	start := time.Now()
	adv, err := ix.bleve.Advanced()
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	r, err := adv.Reader()
	if err != nil {
		return nil, fmt.Errorf("search: open reader: %w", err)
	}
	defer r.Close()
	snap, isScorch := r.(*scorch.IndexSnapshot)
	if !isScorch {
		return ix.searchCounted(ctx, q, req, hasText)
	}
	segs := snap.Segments()
	var matched []*roaring.Bitmap
	ok := false
	if !hasText {
		if matched, ok, err = filterMatches(ctx, segs, q); err != nil {
			return nil, err
		}
	}
	if !ok {
		if matched, err = ix.matching(ctx, snap, segs, req.Query); err != nil {
			return nil, err
		}
	}
	ms := newMatchSet(segs, matched)
	total := ms.total()
	var facets search.FacetResults
	if len(req.Facets) > 0 {
		var counted bool
		if facets, _, counted, err = ix.countFacetsIn(segs, matched, req.Facets); err != nil {
			return nil, err
		}
		if !counted {
			return ix.searchCounted(ctx, q, req, hasText)
		}
		ix.postingsFacets.Add(1)
	}

	page := *req
	page.Facets = nil
	windowed := false
	if total > timeWindowMin {
		from, to, ok, err := ms.pageWindow(q.Offset+q.limit(), q.Order != OrderAsc)
		if err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		if ok {
			incl, excl := true, false
			var w *query.DateRangeQuery
			if to.IsZero() {
				w = bleve.NewDateRangeInclusiveQuery(from, time.Time{}, &incl, nil)
			} else {
				w = bleve.NewDateRangeInclusiveQuery(time.Time{}, to, nil, &excl)
			}
			w.SetField(fieldTS)
			page.Query = q.query(tq, w, true)
			windowed = true
		}
	}
	sr, err := ix.bleve.SearchInContext(ctx, &page)
	if err != nil {
		return nil, err
	}
	if windowed {
		sr.Total = total
		ix.timeWindowed.Add(1)
	}
	sr.Facets = facets
	sr.Took = time.Since(start)
	return sr, nil
}
