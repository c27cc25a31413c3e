package index

import (
	"container/heap"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/search"
	index "github.com/blevesearch/bleve_index_api"
)

// A relevance-sorted search (the default with text) is collected in one
// pass over its matches by searchScored instead of by Bleve's request:
//
//   - Bleve's collector sorts by score and then by the id doc value, and
//     reads that doc value for every match, although only matches whose
//     score reaches the page's lowest can enter it. searchScored keeps the
//     best offset+limit in a heap and reads an id only for a match whose
//     score ties the heap's worst (or to return it).
//   - With facets, Bleve's request is the first of two passes over the
//     matches (the second collects them for countFacets); searchScored
//     collects the matches as per-segment bitmaps in the same pass, from the
//     same snapshot.
//
// The scores are the searcher's, as in Bleve's request; the order (score
// descending or ascending, then id ascending) is sortOrder's. The stored
// fields of the page are read by one Bleve request for just those ids.

// scoredHit is one match kept for the page.
type scoredHit struct {
	num   uint64 // the snapshot's document number
	score float64
	id    string // "" until read
}

// topHits is a heap of at most k hits whose root is the one that sorts
// last. Reading an id can fail; the first error is kept in err.
type topHits struct {
	k    int
	desc bool
	hits []*scoredHit
	snap *scorch.IndexSnapshot
	err  error
}

func (t *topHits) id(h *scoredHit) string {
	if h.id == "" && t.err == nil {
		id, err := t.snap.ExternalID(index.NewIndexInternalID(nil, h.num))
		if err != nil {
			t.err = fmt.Errorf("read id of document %d: %w", h.num, err)
		}
		h.id = id
	}
	return h.id
}

// before reports whether a sorts before b in the page.
func (t *topHits) before(a, b *scoredHit) bool {
	if a.score != b.score {
		return (a.score > b.score) == t.desc
	}
	return t.id(a) < t.id(b)
}

func (t *topHits) Len() int           { return len(t.hits) }
func (t *topHits) Less(i, j int) bool { return t.before(t.hits[j], t.hits[i]) } // root: the last
func (t *topHits) Swap(i, j int)      { t.hits[i], t.hits[j] = t.hits[j], t.hits[i] }
func (t *topHits) Push(x any)         { t.hits = append(t.hits, x.(*scoredHit)) }
func (t *topHits) Pop() any {
	h := t.hits[len(t.hits)-1]
	t.hits = t.hits[:len(t.hits)-1]
	return h
}

// offer adds the match num with score if it sorts before the heap's last.
func (t *topHits) offer(num uint64, score float64) {
	if len(t.hits) < t.k {
		heap.Push(t, &scoredHit{num: num, score: score})
		return
	}
	last := t.hits[0]
	if last.score != score && (score > last.score) != t.desc {
		return // sorts after the last by score alone: no id needed
	}
	h := &scoredHit{num: num, score: score}
	if !t.before(h, last) {
		return
	}
	t.hits[0] = h
	heap.Fix(t, 0)
}

// sorted returns the hits in page order.
func (t *topHits) sorted() []*scoredHit {
	out := slices.Clone(t.hits)
	slices.SortFunc(out, func(a, b *scoredHit) int {
		switch {
		case t.before(a, b):
			return -1
		case t.before(b, a):
			return 1
		}
		return 0
	})
	return out
}

// searchScored runs req, sorted by relevance, as described above. ok is
// false when the index cannot be read this way (not scorch) or a page hit
// disappeared before its fields were read (a concurrent write); the caller
// then runs req through Bleve.
func (ix *Index) searchScored(ctx context.Context, req *bleve.SearchRequest, desc bool) (sr *bleve.SearchResult, ok bool, err error) {
	start := time.Now()
	adv, err := ix.bleve.Advanced()
	if err != nil {
		return nil, false, fmt.Errorf("search: %w", err)
	}
	r, err := adv.Reader()
	if err != nil {
		return nil, false, fmt.Errorf("search: open reader: %w", err)
	}
	defer r.Close()
	snap, isScorch := r.(*scorch.IndexSnapshot)
	if !isScorch {
		return nil, false, nil
	}
	segs := snap.Segments()
	var matched []*roaring.Bitmap
	offsets := make([]uint64, len(segs)+1)
	for i, ss := range segs {
		offsets[i+1] = offsets[i] + ss.Segment().Count()
	}
	if len(req.Facets) > 0 {
		matched = make([]*roaring.Bitmap, len(segs))
		for i := range matched {
			matched[i] = roaring.New()
		}
	}

	s, err := req.Query.Searcher(ctx, snap, ix.bleve.Mapping(), search.SearcherOptions{})
	if err != nil {
		return nil, false, fmt.Errorf("search: %w", err)
	}
	defer s.Close()
	sctx := &search.SearchContext{DocumentMatchPool: search.NewDocumentMatchPool(s.DocumentMatchPoolSize(), 0)}
	top := &topHits{k: req.From + req.Size, desc: desc, snap: snap}
	var total uint64
	seg := 0
	for {
		dm, err := s.Next(sctx)
		if err != nil {
			return nil, false, fmt.Errorf("search: %w", err)
		}
		if dm == nil {
			break
		}
		num := dm.IndexInternalID.Value()
		top.offer(num, dm.Score)
		if matched != nil {
			for seg < len(segs) && num >= offsets[seg+1] {
				seg++ // matches come in document number order
			}
			if seg == len(segs) {
				return nil, false, fmt.Errorf("search: document number %d beyond the snapshot", num)
			}
			matched[seg].Add(uint32(num - offsets[seg]))
		}
		sctx.DocumentMatchPool.Put(dm)
		if total++; total%4096 == 0 && ctx.Err() != nil {
			return nil, false, ctx.Err()
		}
	}
	page := top.sorted()
	page = page[min(req.From, len(page)):]
	for _, h := range page {
		top.id(h)
	}
	if top.err != nil {
		return nil, false, fmt.Errorf("search: %w", top.err)
	}

	var facets search.FacetResults
	if matched != nil {
		var counted bool
		if facets, _, counted, err = ix.countFacetsIn(segs, matched, req.Facets); err != nil || !counted {
			return nil, counted, err
		}
		ix.postingsFacets.Add(1)
	}

	hits, ok, err := ix.loadFields(ctx, page, req.Fields)
	if err != nil || !ok {
		return nil, ok, err
	}
	ix.scoredOnePass.Add(1)
	return &bleve.SearchResult{
		Request: req,
		Hits:    hits,
		Total:   total,
		Facets:  facets,
		Took:    time.Since(start),
	}, true, nil
}

// loadFields returns page as document matches with their stored fields,
// read by one request for just those ids. ok is false if one of them is no
// longer in the index.
func (ix *Index) loadFields(ctx context.Context, page []*scoredHit, fields []string) (search.DocumentMatchCollection, bool, error) {
	out := make(search.DocumentMatchCollection, len(page))
	if len(page) == 0 {
		return out, true, nil
	}
	ids := make([]string, len(page))
	for i, h := range page {
		ids[i] = h.id
	}
	req := bleve.NewSearchRequestOptions(bleve.NewDocIDQuery(ids), len(ids), 0, false)
	req.Score = "none"
	req.Fields = fields
	sr, err := ix.bleve.SearchInContext(ctx, req)
	if err != nil {
		return nil, false, fmt.Errorf("search: read fields: %w", err)
	}
	byID := make(map[string]*search.DocumentMatch, len(sr.Hits))
	for _, dm := range sr.Hits {
		byID[dm.ID] = dm
	}
	for i, h := range page {
		dm := byID[h.id]
		if dm == nil {
			return nil, false, nil
		}
		out[i] = &search.DocumentMatch{ID: h.id, Score: h.score, Fields: dm.Fields}
	}
	return out, true, nil
}
