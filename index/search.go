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

	"github.com/attune-cx/attune"
)

// Paging limits of Search.
const (
	// DefaultLimit is the page size when Query.Limit is 0.
	DefaultLimit = 10
	// MaxLimit caps Query.Limit; larger values are lowered to it.
	MaxLimit = 1000
	// MaxWindow caps Offset+Limit. Bleve ranks Offset+Limit hits to return
	// Limit of them, so deep pages cost memory and time a caller can choose.
	MaxWindow = 10000
)

// hasChunk is how many ids Has looks up per search.
const hasChunk = 1000

// ErrInvalidQuery is wrapped by the error Search returns for a query it
// rejects: bad query-string syntax, an unknown label, negative or too deep
// paging. Retrying the same query cannot succeed.
var ErrInvalidQuery = errors.New("invalid query")

// Query selects event documents. All set fields must match.
type Query struct {
	// Text is a Bleve query string matched against the event text and stems
	// ("lost bag", +refund -thanks, label:negative). Empty matches every event.
	Text string
	// Segment is a segment id or a segment name, matched exactly.
	Segment string
	// Label is "positive", "neutral" or "negative".
	Label string
	// Source is the event source, matched exactly.
	Source string
	// Customer is the customer id, matched exactly.
	Customer string
	// Aspect is an aspect the text talks about (delivery, price, …).
	Aspect string
	// Language is the detected language code ("en", "pt").
	Language string
	// Limit is the page size: default DefaultLimit, at most MaxLimit.
	Limit int
	// Offset is the number of hits skipped; Offset+Limit is at most MaxWindow.
	Offset int
}

// Hit is one matching event.
type Hit struct {
	ID          string
	Text        string
	CustomerID  string
	Source      string
	Label       string
	SegmentID   string
	SegmentName string
	Sentiment   float64
	Aspects     []string
	Language    string
	// TS is the event time, zero if unknown.
	TS time.Time
	// Score is the relevance score; 0 when Query.Text is empty.
	Score float64
	// Snippet is the best fragment of Text for Query.Text, HTML-escaped with
	// matches wrapped in <mark></mark>. Empty when Query.Text is empty or
	// matched no text term (for instance only a stem or a keyword field).
	Snippet string
}

// Result is one page of hits.
type Result struct {
	// Total is the number of matching events, not only those on this page.
	Total uint64
	Hits  []Hit
	Took  time.Duration
}

// eventFields are the stored fields a Hit is built from.
var eventFields = []string{
	fieldText, fieldCustomer, fieldSource, fieldLabel,
	fieldSegmentID, fieldSegmentName, fieldSentiment, fieldTS,
	fieldAspects, fieldLanguage,
}

// Search returns one page of the events matching q. With Query.Text, hits are
// ranked by relevance; without, newest first. Ties are broken by id, so pages
// are stable while the index does not change.
func (ix *Index) Search(ctx context.Context, q Query) (*Result, error) {
	if err := ix.readable(); err != nil {
		return nil, err
	}
	limit, err := q.page()
	if err != nil {
		return nil, err
	}
	filter, err := q.filter()
	if err != nil {
		return nil, err
	}

	bq := bleve.NewBooleanQuery()
	// The filter does not score: every hit passes it, so it would add the
	// same to every score anyway, and skipping scoring is cheaper.
	bq.AddFilter(filter)
	order := search.SortOrder{
		&search.SortField{Field: fieldTS, Type: search.SortFieldAsDate, Desc: true, Missing: search.SortFieldMissingLast},
		&search.SortDocID{},
	}
	hasText := strings.TrimSpace(q.Text) != ""
	if hasText {
		qs := bleve.NewQueryStringQuery(q.Text)
		// Parse here so that a syntax error is the caller's, not the index's.
		if _, err := qs.Parse(); err != nil {
			return nil, fmt.Errorf("%w: text %q: %v", ErrInvalidQuery, q.Text, err)
		}
		bq.AddMust(qs)
		order = append(search.SortOrder{&search.SortScore{Desc: true}}, order...)
	}

	req := bleve.NewSearchRequestOptions(bq, limit, q.Offset, false)
	req.SortByCustom(order)
	req.Fields = eventFields
	if !hasText {
		req.Score = "none" // order is by time; scores would all be equal
	}
	if hasText {
		req.Highlight = bleve.NewHighlightWithStyle(html.Name)
		req.Highlight.AddField(fieldText)
	}

	sr, err := ix.bleve.SearchInContext(ctx, req)
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
		if hasText {
			h.Score = dm.Score
			if frags := dm.Fragments[fieldText]; len(frags) > 0 {
				h.Snippet = frags[0]
			}
		}
		res.Hits = append(res.Hits, h)
	}
	return res, nil
}

// page validates the paging fields and returns the page size.
func (q Query) page() (int, error) {
	limit := q.Limit
	switch {
	case limit < 0:
		return 0, fmt.Errorf("%w: negative limit %d", ErrInvalidQuery, limit)
	case limit == 0:
		limit = DefaultLimit
	case limit > MaxLimit:
		limit = MaxLimit
	}
	switch {
	case q.Offset < 0:
		return 0, fmt.Errorf("%w: negative offset %d", ErrInvalidQuery, q.Offset)
	case q.Offset+limit > MaxWindow:
		return 0, fmt.Errorf("%w: offset %d + limit %d is over %d", ErrInvalidQuery, q.Offset, limit, MaxWindow)
	}
	return limit, nil
}

// filter is the conjunction of the type and keyword-field conditions of q.
func (q Query) filter() (query.Query, error) {
	c := bleve.NewConjunctionQuery(termQuery(fieldType, TypeEvent))
	if q.Segment != "" {
		// Ids and names are distinct vocabularies, so either may be given.
		c.AddQuery(bleve.NewDisjunctionQuery(
			termQuery(fieldSegmentID, q.Segment),
			termQuery(fieldSegmentName, q.Segment),
		))
	}
	if q.Label != "" {
		switch attune.Label(q.Label) {
		case attune.Positive, attune.Neutral, attune.Negative:
		default:
			return nil, fmt.Errorf("%w: unknown label %q", ErrInvalidQuery, q.Label)
		}
		c.AddQuery(termQuery(fieldLabel, q.Label))
	}
	if q.Source != "" {
		c.AddQuery(termQuery(fieldSource, q.Source))
	}
	if q.Customer != "" {
		c.AddQuery(termQuery(fieldCustomer, q.Customer))
	}
	if q.Aspect != "" {
		c.AddQuery(termQuery(fieldAspects, q.Aspect))
	}
	if q.Language != "" {
		c.AddQuery(termQuery(fieldLanguage, q.Language))
	}
	return c, nil
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
