package index

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/highlight/format/html"
	"github.com/blevesearch/bleve/v2/search/query"
)

// hasChunk is how many ids Has looks up per search.
const hasChunk = 1000

// ErrInvalidQuery is wrapped by the error Search returns for a query it
// rejects: bad query-string syntax, an unknown label, negative or too deep
// paging. Retrying the same query cannot succeed.
var ErrInvalidQuery = errors.New("invalid query")

// eventFields are the stored fields a Hit is built from.
var eventFields = []string{
	fieldText, fieldCustomer, fieldSource, fieldLabel,
	fieldSegmentID, fieldSegmentName, fieldSentiment, fieldTS,
	fieldAspects, fieldLanguage,
}

// Search returns one page of the events matching q, with the facets q asks
// for. A query Validate rejects returns an error wrapping ErrInvalidQuery, as
// does a Text with bad query-string syntax. Ties of the sort are broken by
// event id, so pages are stable while the index does not change.
func (ix *Index) Search(ctx context.Context, q Query) (*Result, error) {
	return ix.search(ctx, q, true)
}

// SearchBleve is Search done the plain way, the baseline Search is
// measured against (`attune bench index`): one Bleve request, with Bleve's
// facet builders reading every match and its sort of every match, and a
// filter without text tested on every document. It returns what Search
// returns.
func (ix *Index) SearchBleve(ctx context.Context, q Query) (*Result, error) {
	return ix.search(ctx, q, false)
}

// search is Search; fast false leaves every query to Bleve alone, as one
// search with its facet builders (tests compare both ways).
func (ix *Index) search(ctx context.Context, q Query, fast bool) (*Result, error) {
	if err := ix.readable(); err != nil {
		return nil, err
	}
	if err := q.Validate(); err != nil {
		return nil, err
	}
	hasText := strings.TrimSpace(q.Text) != ""
	var tq query.Query
	if hasText {
		var err error
		if tq, err = textQuery(q.Text); err != nil {
			return nil, err
		}
	}
	bq := q.query(tq, nil, fast)

	req := bleve.NewSearchRequestOptions(bq, q.limit(), q.Offset, false)
	byScore := q.sortKey(hasText) == SortRelevance
	req.SortByCustom(q.sortOrder(hasText))
	req.Fields = eventFields
	if !byScore {
		req.Score = "none" // scores would not decide anything
	}
	span, err := ix.addFacets(ctx, req, q)
	if err != nil {
		return nil, err
	}

	var sr *bleve.SearchResult
	switch {
	case fast && q.sortKey(hasText) == SortTime:
		sr, err = ix.searchByTime(ctx, q, tq, req, hasText)
	case fast && byScore:
		var ok bool
		if sr, ok, err = ix.searchScored(ctx, req, q.Order != OrderAsc); err == nil && !ok {
			sr, err = ix.searchCounted(ctx, q, req, hasText)
		}
	case fast:
		sr, err = ix.searchCounted(ctx, q, req, hasText)
	default:
		sr, err = ix.bleve.SearchInContext(ctx, req)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("search events: %w", err)
	}
	res := &Result{Total: sr.Total, Took: sr.Took, Hits: make([]Hit, 0, len(sr.Hits))}
	for _, dm := range sr.Hits {
		h := Hit{
			ID:          dm.ID,
			Text:        fieldString(dm.Fields, fieldText),
			CustomerID:  fieldString(dm.Fields, fieldCustomer),
			Source:      fieldString(dm.Fields, fieldSource),
			Label:       fieldString(dm.Fields, fieldLabel),
			SegmentID:   fieldString(dm.Fields, fieldSegmentID),
			SegmentName: fieldString(dm.Fields, fieldSegmentName),
			Sentiment:   fieldFloat(dm.Fields, fieldSentiment),
			TS:          fieldTime(dm.Fields, fieldTS),
			Aspects:     fieldStrings(dm.Fields, fieldAspects),
			Language:    fieldString(dm.Fields, fieldLanguage),
		}
		if byScore {
			h.Score = dm.Score
		}
		res.Hits = append(res.Hits, h)
	}
	if hasText && len(res.Hits) > 0 {
		if err := ix.highlight(ctx, tq, res.Hits); err != nil {
			return nil, err
		}
	}
	if len(q.Facets) > 0 {
		if res.Facets, err = ix.readFacets(ctx, q, sr.Facets, span); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// query is the Bleve query of q: text tq (if not nil) must match, q's
// filters and window (if not nil) filter.
//
// The filter does not score: every hit passes it, so it would add the same
// to every score anyway, and skipping scoring is cheaper. Without text,
// though, Bleve runs a filter alone as a test of every document in the
// index, in turn; with direct false it still does (the baseline), with
// direct true the filter becomes the query itself, whose conjunction leaps
// from one posting to the next instead. Nothing is scored either way: a
// search without text never sorts by relevance.
func (q Query) query(tq query.Query, window query.Query, direct bool) *query.BooleanQuery {
	bq := bleve.NewBooleanQuery()
	f := q.filter()
	if window != nil {
		f.AddQuery(window)
	}
	switch {
	case tq != nil && direct && window == nil && plainText(q.Text) && q.selectsAllEvents(false):
		// Plain words search _all and text_pt, which only event documents
		// have: the type filter alone would test every match for nothing.
		bq.AddMust(tq)
	case tq != nil:
		bq.AddFilter(f)
		bq.AddMust(tq)
	case direct:
		bq.AddMust(f)
	default:
		bq.AddFilter(f)
	}
	return bq
}

// searchCounted runs req with its facets counted from the postings (see
// countFacets), in a snapshot taken right after the search's. If a write
// landed in between, the match counts differ and Bleve counts the facets in
// a second search after all; a write that replaced events without changing
// their number may be counted, as in any later search.
func (ix *Index) searchCounted(ctx context.Context, q Query, req *bleve.SearchRequest, hasText bool) (*bleve.SearchResult, error) {
	if len(req.Facets) == 0 {
		return ix.bleve.SearchInContext(ctx, req)
	}
	start := time.Now()
	plain := *req
	req.Facets = nil
	sr, err := ix.bleve.SearchInContext(ctx, req)
	if err != nil {
		return nil, err
	}
	fr, n, ok, err := ix.countFacets(ctx, q.facetQuery(req.Query, hasText), plain.Facets)
	switch {
	case err != nil:
		return nil, err
	case ok && n == sr.Total:
		sr.Facets = fr
		sr.Took = time.Since(start)
		ix.postingsFacets.Add(1)
		return sr, nil
	}
	return ix.bleve.SearchInContext(ctx, &plain)
}

// facetQuery is what countFacets counts for q, whose Bleve query is bq:
// nil (every event, straight from the postings) when q selects all events.
func (q Query) facetQuery(bq query.Query, hasText bool) query.Query {
	if q.selectsAllEvents(hasText) {
		return nil
	}
	return bq
}

// highlight sets the snippets of hits, which matched tq. It runs as a
// second search over just these hits: asked of the main search, Bleve
// would gather the term locations of every match, not only of the page,
// which on a broad query costs more than the search itself.
func (ix *Index) highlight(ctx context.Context, tq query.Query, hits []Hit) error {
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i] = h.ID
	}
	req := bleve.NewSearchRequestOptions(bleve.NewConjunctionQuery(bleve.NewDocIDQuery(ids), tq), len(ids), 0, false)
	req.Score = "none"
	req.Highlight = bleve.NewHighlightWithStyle(html.Name)
	req.Highlight.AddField(fieldText)
	req.Highlight.AddField(fieldTextPT)
	// Bleve highlights only the stored fields it loads.
	req.Fields = []string{fieldText, fieldTextPT}
	sr, err := ix.bleve.SearchInContext(ctx, req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("highlight hits: %w", err)
	}
	snippets := make(map[string]string, len(sr.Hits))
	for _, dm := range sr.Hits {
		// Bleve returns a fragment of every highlighted field, marked or
		// not; the snippet is the first that marks a match.
		for _, f := range []string{fieldText, fieldTextPT} {
			if frags := dm.Fragments[f]; len(frags) > 0 && strings.Contains(frags[0], "<mark>") {
				snippets[dm.ID] = frags[0]
				break
			}
		}
	}
	for i := range hits {
		hits[i].Snippet = snippets[hits[i].ID]
	}
	return nil
}

// textQuery compiles Query.Text. A query string searches _all, which is
// analysed as English; plain words (no query-string syntax) also match the
// Portuguese field, so "entrega atrasada" finds "entregas atrasadas".
func textQuery(text string) (query.Query, error) {
	qs := bleve.NewQueryStringQuery(text)
	// Parse here so that a syntax error is the caller's, not the index's.
	if _, err := qs.Parse(); err != nil {
		return nil, fmt.Errorf("%w: text %q: %v", ErrInvalidQuery, text, err)
	}
	if !plainText(text) {
		return qs, nil
	}
	pt := bleve.NewMatchQuery(text)
	pt.SetField(fieldTextPT)
	return bleve.NewDisjunctionQuery(qs, pt), nil
}

// plainText reports whether text is plain words, without query-string
// syntax (no field names, phrases, operators or wildcards).
func plainText(text string) bool {
	return !strings.ContainsAny(text, `+-:"*?~^()[]{}/\!&|<>=`)
}

// sortKey is the sort q asks for, defaults applied.
func (q Query) sortKey(hasText bool) string {
	switch {
	case q.Sort == SortRelevance && hasText, q.Sort == "" && hasText:
		return SortRelevance
	case q.Sort == "", q.Sort == SortRelevance:
		return SortTime
	}
	return q.Sort
}

// sortOrder is the sort key and then the event id, so that ties (equal
// scores, events without a time) page in a stable order even when Bleve
// merges segments between two page requests. The id is read from its doc
// values: Bleve's own id key (SortDocID) reads a stored field per matching
// event, several times the cost. Secondary keys such as newest-first for
// equal scores would cost a doc-value read per matching event as well, and
// are left out.
func (q Query) sortOrder(hasText bool) search.SortOrder {
	desc := q.Order != OrderAsc
	byID := &search.SortField{Field: fieldID, Type: search.SortFieldAsString}
	switch q.sortKey(hasText) {
	case SortRelevance:
		return search.SortOrder{&search.SortScore{Desc: desc}, byID}
	case SortSentiment:
		return search.SortOrder{&search.SortField{Field: fieldSentimentSort, Type: search.SortFieldAsString, Desc: desc, Missing: search.SortFieldMissingLast}, byID}
	}
	return search.SortOrder{&search.SortField{Field: fieldTSSort, Type: search.SortFieldAsString, Desc: desc, Missing: search.SortFieldMissingLast}, byID}
}

// filter is the conjunction of the type and field conditions of q.
func (q Query) filter() *query.ConjunctionQuery {
	c := bleve.NewConjunctionQuery(termQuery(fieldType, TypeEvent))
	if q.Segment != "" {
		// Ids and names are distinct vocabularies, so either may be given.
		c.AddQuery(bleve.NewDisjunctionQuery(
			termQuery(fieldSegmentID, q.Segment),
			termQuery(fieldSegmentName, q.Segment),
		))
	}
	if q.Label != "" {
		c.AddQuery(termQuery(fieldLabel, q.Label))
	}
	if q.Source != "" {
		c.AddQuery(termQuery(fieldSource, q.Source))
	}
	if q.Customer != "" {
		c.AddQuery(termQuery(fieldCustomer, q.Customer))
	}
	if q.Aspect != "" {
		if q.AspectLabel != "" {
			c.AddQuery(termQuery(fieldAspectSentiment, q.Aspect+":"+q.AspectLabel))
		} else {
			c.AddQuery(termQuery(fieldAspects, q.Aspect))
		}
	}
	if q.Language != "" {
		c.AddQuery(termQuery(fieldLanguage, q.Language))
	}
	if q.SentimentMin != nil || q.SentimentMax != nil {
		incl := true
		r := bleve.NewNumericRangeInclusiveQuery(q.SentimentMin, q.SentimentMax, &incl, &incl)
		r.SetField(fieldSentiment)
		c.AddQuery(r)
	}
	if !q.From.IsZero() || !q.To.IsZero() {
		incl, excl := true, false
		r := bleve.NewDateRangeInclusiveQuery(q.From, q.To, &incl, &excl)
		r.SetField(fieldTS)
		c.AddQuery(r)
	}
	return c
}

func termQuery(field, term string) *query.TermQuery {
	t := bleve.NewTermQuery(term)
	t.SetField(field)
	return t
}

// CountEvents returns the number of event documents.
func (ix *Index) CountEvents(ctx context.Context) (uint64, error) {
	if err := ix.readable(); err != nil {
		return 0, err
	}
	req := bleve.NewSearchRequestOptions(termQuery(fieldType, TypeEvent), 0, 0, false)
	sr, err := ix.bleve.SearchInContext(ctx, req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, fmt.Errorf("count events: %w", err)
	}
	return sr.Total, nil
}

// Has reports, for each of ids, whether an event document with that id is in
// the index. Every id is a key of the result.
func (ix *Index) Has(ctx context.Context, ids []string) (map[string]bool, error) {
	if err := ix.readable(); err != nil {
		return nil, err
	}
	found := make(map[string]bool, len(ids))
	for _, id := range ids {
		found[id] = false
	}
	for start := 0; start < len(ids); start += hasChunk {
		chunk := ids[start:min(start+hasChunk, len(ids))]
		bq := bleve.NewBooleanQuery()
		bq.AddMust(bleve.NewDocIDQuery(chunk))
		bq.AddFilter(termQuery(fieldType, TypeEvent))
		req := bleve.NewSearchRequestOptions(bq, len(chunk), 0, false)
		req.Score = "none"
		sr, err := ix.bleve.SearchInContext(ctx, req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("look up %d ids: %w", len(chunk), err)
		}
		for _, dm := range sr.Hits {
			found[dm.ID] = true
		}
	}
	return found, nil
}

// Stored fields come back as a single value, or as []any when a field has
// several; these helpers read them leniently, because a missing or odd field
// in one document should not fail a whole search.

func fieldString(f map[string]any, name string) string {
	s, _ := f[name].(string)
	return s
}

func fieldStrings(f map[string]any, name string) []string {
	switch v := f[name].(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func fieldFloat(f map[string]any, name string) float64 {
	x, _ := f[name].(float64)
	return x
}

func fieldTime(f map[string]any, name string) time.Time {
	s, ok := f[name].(string)
	if !ok {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}
