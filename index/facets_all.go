package index

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"sync"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	segment "github.com/blevesearch/scorch_segment_api/v2"
)

// Facets are counted from the index's postings instead of by Bleve's facet
// builders. Bleve reads every matching event's doc values, one facet field
// after another: at 100k events and all eight facets that is most of 200 ms.
// The postings already hold the answer: the count of a term is the size of
// its postings list, restricted to the event documents that are live in the
// snapshot. Per scorch segment that is
//
//	live  = postings(type:event) − deleted
//	count = |postings(field:term) ∩ live|
//
// "deleted" is the segment's set of documents that a later update or a
// deletion made obsolete; they stay in the segment's postings until a merge
// drops them, which is why the term dictionary's own counts (FieldDict)
// cannot be used. For a query with text or filters, live is the query's
// matches in the segment instead (see matching). Missing is |live| − |⋃ postings(field:*) ∩ live|, which
// also holds for the multi-valued fields (aspects). The totals, the top-N
// cut and Other are then computed exactly as Bleve's TermsFacetBuilder does,
// so readFacets sees the same FacetResults either way.

// selectsAllEvents reports whether q matches every event document: no text
// and no filter. Only then may facets be counted by countAllFacets.
func (q Query) selectsAllEvents(hasText bool) bool {
	return !hasText && q.Segment == "" && q.Label == "" && q.Source == "" &&
		q.Customer == "" && q.Aspect == "" && q.AspectLabel == "" && q.Language == "" &&
		q.SentimentMin == nil && q.SentimentMax == nil && q.From.IsZero() && q.To.IsZero()
}

// singleValued are the faceted fields an event document has at most one
// term of: the events with a value are the sum of the term counts, with no
// union of the postings needed.
var singleValued = map[string]bool{
	fieldSegmentID: true, fieldSource: true, fieldLabel: true, fieldLanguage: true,
	fieldSentimentBand: true, fieldTSHour: true, fieldTSDay: true, fieldTSMonth: true,
}

// postingsOrInto is what zap's postings lists offer to copy their documents
// into a bitmap (every zapx version has it; the segment API does not name
// it).
type postingsOrInto interface {
	OrInto(receiver *roaring.Bitmap)
}

// fieldCount accumulates the facet result of one field over the segments.
type fieldCount struct {
	terms     map[string]int
	withValue int // live events with at least one term
}

// countAllFacets computes, for every facet request of reqs, the result
// Bleve's term facet builder gives over all event documents, and the number
// of event documents, all from one snapshot of the index. ok is false when
// the index is not a scorch index or a segment does not expose its
// postings; the caller then lets Bleve count.
func (ix *Index) countAllFacets(reqs bleve.FacetsRequest) (fr search.FacetResults, events uint64, ok bool, err error) {
	return ix.countFacets(context.Background(), nil, reqs)
}

// countFacets is countAllFacets over the documents matching bq instead
// (all events if bq is nil). The matching documents are collected per
// segment as a bitmap by running bq's searcher on the snapshot without
// scoring; each term is then counted as its postings' intersection with
// them, instead of Bleve visiting every match's doc values field after
// field.
func (ix *Index) countFacets(ctx context.Context, bq query.Query, reqs bleve.FacetsRequest) (fr search.FacetResults, matches uint64, ok bool, err error) {
	adv, err := ix.bleve.Advanced()
	if err != nil {
		return nil, 0, false, fmt.Errorf("count facets: %w", err)
	}
	r, err := adv.Reader()
	if err != nil {
		return nil, 0, false, fmt.Errorf("count facets: open reader: %w", err)
	}
	defer r.Close()
	snap, isScorch := r.(*scorch.IndexSnapshot)
	if !isScorch {
		return nil, 0, false, nil
	}

	segs := snap.Segments()
	var matched []*roaring.Bitmap
	if bq != nil {
		if matched, err = ix.matching(ctx, snap, segs, bq); err != nil {
			return nil, 0, false, err
		}
	}
	return ix.countFacetsIn(segs, matched, reqs)
}

// countFacetsIn is countFacets over segs, the segments of one snapshot,
// with matched the documents matching per segment (nil: every live event).
func (ix *Index) countFacetsIn(segs []*scorch.SegmentSnapshot, matched []*roaring.Bitmap, reqs bleve.FacetsRequest) (fr search.FacetResults, matches uint64, ok bool, err error) {
	fields := map[string]*fieldCount{}
	for _, fq := range reqs {
		if fq.Field == "" || fq.NumericRanges != nil || fq.DateTimeRanges != nil {
			return nil, 0, false, nil // only plain term facets are counted here
		}
		if fields[fq.Field] == nil {
			fields[fq.Field] = &fieldCount{terms: map[string]int{}}
		}
	}
	ix.terms.keep(segs)

	// The segments are counted in parallel, each worker into its own
	// counts, summed after.
	workers := max(1, min(runtime.GOMAXPROCS(0), len(segs), maxFacetWorkers))
	parts := make([]facetPart, workers)
	var wg sync.WaitGroup
	for w := range workers {
		parts[w].fields = map[string]*fieldCount{}
		for f := range fields {
			parts[w].fields[f] = &fieldCount{terms: map[string]int{}}
		}
		parts[w].ok = true
		wg.Go(func() {
			for i := w; i < len(segs); i += workers {
				var m *roaring.Bitmap
				if matched != nil {
					m = matched[i]
				}
				if err := ix.countSegmentFacets(segs[i], m, &parts[w]); err != nil || !parts[w].ok {
					parts[w].err = err
					return
				}
			}
		})
	}
	wg.Wait()
	var n int
	for _, p := range parts {
		if p.err != nil || !p.ok {
			return nil, 0, false, p.err
		}
		n += p.n
		for f, fc := range p.fields {
			fields[f].withValue += fc.withValue
			for t, c := range fc.terms {
				fields[f].terms[t] += c
			}
		}
	}

	fr = make(search.FacetResults, len(reqs))
	for name, fq := range reqs {
		fr[name] = termFacetResult(fq.Field, fq.Size, fields[fq.Field], n)
	}
	return fr, uint64(n), true, nil
}

// maxFacetWorkers bounds the goroutines one search counts facets with.
const maxFacetWorkers = 4

// facetPart is what one worker of countFacetsIn counted.
type facetPart struct {
	fields map[string]*fieldCount
	n      int // live matches
	ok     bool
	err    error
	union  *roaring.Bitmap // scratch
}

// countSegmentFacets adds the facet counts of one segment to p: of the
// documents matched (nil: the segment's live events).
func (ix *Index) countSegmentFacets(ss *scorch.SegmentSnapshot, matched *roaring.Bitmap, p *facetPart) error {
	seg := ss.Segment()
	live := matched
	if live == nil {
		var ok bool
		var err error
		if live, ok, err = postingsBitmap(seg, fieldType, TypeEvent); err != nil || !ok {
			p.ok = ok
			return err
		}
		if del := ss.Deleted(); del != nil {
			live.AndNot(del)
		}
	}
	nLive := int(live.GetCardinality())
	if nLive == 0 {
		return nil
	}
	p.n += nLive
	if p.union == nil {
		p.union = roaring.New()
	}
	// Postings lists count their documents outside an except set
	// without copying them: except everything but the live matches.
	notLive := roaring.Flip(live, 0, seg.Count())
	for field, fc := range p.fields {
		single := singleValued[field]
		dict, err := seg.Dictionary(field)
		if err != nil {
			return fmt.Errorf("count facets: dictionary of %s: %w", field, err)
		}
		terms, err := ix.terms.of(seg, field, dict)
		if err != nil {
			return err
		}
		p.union.Clear()
		var pl segment.PostingsList
		for _, term := range terms {
			if pl, err = dict.PostingsList([]byte(term), notLive, pl); err != nil {
				return fmt.Errorf("count facets: postings of %s:%s: %w", field, term, err)
			}
			c := int(pl.Count())
			if c == 0 {
				continue
			}
			fc.terms[term] += c
			if single {
				fc.withValue += c
				continue
			}
			oi, ok := pl.(postingsOrInto)
			if !ok {
				p.ok = false
				return nil
			}
			oi.OrInto(p.union) // all of the term's documents; cut to live below
		}
		if !single {
			fc.withValue += int(p.union.AndCardinality(live))
		}
	}
	return nil
}

// termCache holds the terms of the faceted fields per segment. Segments
// never change, and reading a term dictionary (an FST) took a third of
// counting the facets of a broad search at 1M documents; the cache holds
// only segments of recent snapshots.
type termCache struct {
	mu sync.Mutex
	m  map[segment.Segment]map[string][]string
}

// of returns the terms of field in seg, dict its dictionary.
func (c *termCache) of(seg segment.Segment, field string, dict segment.TermDictionary) ([]string, error) {
	c.mu.Lock()
	terms, ok := c.m[seg][field]
	c.mu.Unlock()
	if ok {
		return terms, nil
	}
	it := dict.AutomatonIterator(nil, nil, nil)
	for {
		e, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("count facets: terms of %s: %w", field, err)
		}
		if e == nil {
			break
		}
		terms = append(terms, e.Term)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[segment.Segment]map[string][]string{}
	}
	if c.m[seg] == nil {
		c.m[seg] = map[string][]string{}
	}
	c.m[seg][field] = terms
	return terms, nil
}

// keep drops the segments not in segs, once the cache holds many more
// segments than a snapshot has (merges replaced them).
func (c *termCache) keep(segs []*scorch.SegmentSnapshot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) <= 2*len(segs)+8 {
		return
	}
	in := make(map[segment.Segment]bool, len(segs))
	for _, ss := range segs {
		in[ss.Segment()] = true
	}
	for seg := range c.m {
		if !in[seg] {
			delete(c.m, seg)
		}
	}
}

// matching runs bq on snap without scoring and returns its matches as one
// bitmap of local document numbers per segment of segs.
func (ix *Index) matching(ctx context.Context, snap *scorch.IndexSnapshot, segs []*scorch.SegmentSnapshot, bq query.Query) ([]*roaring.Bitmap, error) {
	// Global document numbers are the segment's offset plus the local
	// one; offsets are the running sum of the segments' sizes (deleted
	// documents included), as scorch lays them out.
	offsets := make([]uint64, len(segs)+1)
	out := make([]*roaring.Bitmap, len(segs))
	for i, ss := range segs {
		offsets[i+1] = offsets[i] + ss.Segment().Count()
		out[i] = roaring.New()
	}
	s, err := bq.Searcher(ctx, snap, ix.bleve.Mapping(), search.SearcherOptions{Score: "none"})
	if err != nil {
		return nil, fmt.Errorf("count facets: %w", err)
	}
	defer s.Close()
	sctx := &search.SearchContext{DocumentMatchPool: search.NewDocumentMatchPool(s.DocumentMatchPoolSize(), 0)}
	seg, hits := 0, 0
	for {
		dm, err := s.Next(sctx)
		if err != nil {
			return nil, fmt.Errorf("count facets: %w", err)
		}
		if dm == nil {
			return out, nil
		}
		num := dm.IndexInternalID.Value()
		for seg < len(segs) && num >= offsets[seg+1] {
			seg++ // matches come in document number order
		}
		if seg == len(segs) {
			return nil, fmt.Errorf("count facets: document number %d beyond the snapshot", num)
		}
		out[seg].Add(uint32(num - offsets[seg]))
		sctx.DocumentMatchPool.Put(dm)
		if hits++; hits%4096 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
}

// postingsBitmap returns the documents of seg (deleted ones included) that
// have term in field.
func postingsBitmap(seg segment.Segment, field, term string) (*roaring.Bitmap, bool, error) {
	dict, err := seg.Dictionary(field)
	if err != nil {
		return nil, false, fmt.Errorf("count facets: dictionary of %s: %w", field, err)
	}
	pl, err := dict.PostingsList([]byte(term), nil, nil)
	if err != nil {
		return nil, false, fmt.Errorf("count facets: postings of %s:%s: %w", field, term, err)
	}
	oi, ok := pl.(postingsOrInto)
	if !ok {
		return nil, false, nil
	}
	b := roaring.New()
	oi.OrInto(b)
	return b, true, nil
}

// termFacetResult is what bleve's TermsFacetBuilder.Result returns for
// these counts over docs matching documents: terms sorted by count, largest
// first, ties by term; the first size kept; Other the visits of the rest.
func termFacetResult(field string, size int, fc *fieldCount, docs int) *search.FacetResult {
	rv := &search.FacetResult{Field: field, Missing: docs - fc.withValue, Terms: &search.TermFacets{}}
	for t, c := range fc.terms {
		rv.Total += c
		rv.Terms.Add(&search.TermFacet{Term: t, Count: c})
	}
	sort.Sort(rv.Terms)
	rv.Terms.TrimToTopN(min(size, rv.Terms.Len()))
	notOther := 0
	for _, tf := range rv.Terms.Terms() {
		notOther += tf.Count
	}
	rv.Other = rv.Total - notOther
	return rv
}
