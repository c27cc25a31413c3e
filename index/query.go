package index

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/attune-cx/attune"
)

// Paging and size limits of Search.
const (
	// DefaultLimit is the page size when Query.Limit is 0.
	DefaultLimit = 10
	// MaxLimit caps Query.Limit; a larger value is an error, so a caller
	// never silently gets fewer hits than it asked for.
	MaxLimit = 1000
	// MaxWindow caps Offset+Limit. Bleve ranks Offset+Limit hits to return
	// Limit of them, so deep pages cost memory and time a caller can choose.
	MaxWindow = 10000
	// MaxQueryBytes caps len(Query.Text) and every filter value. A query
	// string compiles to one clause per term; a bound keeps one request from
	// costing the index arbitrary work.
	MaxQueryBytes = 1024
	// MaxFacetSize caps Query.FacetSize.
	MaxFacetSize = 100
	// DefaultFacetSize is the number of buckets of a term facet (segment,
	// aspect, source, …) when Query.FacetSize is 0.
	DefaultFacetSize = 10
)

// Sort keys of Query.Sort.
const (
	// SortRelevance ranks by score; it is the default with Query.Text, and
	// without text (every score equal) it falls back to SortTime.
	SortRelevance = "relevance"
	// SortTime orders by event time; events without one come last.
	SortTime = "time"
	// SortSentiment orders by sentiment score.
	SortSentiment = "sentiment"
)

// Sort orders of Query.Order.
const (
	OrderDesc = "desc" // the default: best, newest, most positive first
	OrderAsc  = "asc"
)

// Facet names of Query.Facets and keys of Result.Facets.
const (
	FacetSegment         = "segment"          // terms of the segment id; Bucket.Label is the segment name
	FacetAspect          = "aspect"           // terms of the aspects texts talk about
	FacetAspectSentiment = "aspect_sentiment" // "aspect:label" terms, e.g. "delivery:negative"
	FacetSource          = "source"           // terms of the event source
	FacetLabel           = "label"            // terms of the sentiment label
	FacetLanguage        = "language"         // terms of the detected language
	FacetSentiment       = "sentiment"        // fixed sentiment bands (SentimentBands)
	// FacetTime is a histogram of event times over the index's whole time
	// span narrowed by From/To (so charts of different filters share their
	// axis), the interval chosen from that span.
	FacetTime = "time"
)

// Facets lists every facet name, in the order a UI would show them.
var Facets = []string{
	FacetSegment, FacetAspect, FacetAspectSentiment, FacetSource, FacetLabel,
	FacetLanguage, FacetSentiment, FacetTime,
}

// SentimentBand is one bucket of the sentiment facet: scores in [Min, Max).
// The last band includes 1.
type SentimentBand struct {
	Name     string
	Min, Max float64
}

// SentimentBands are the buckets of FacetSentiment. The neutral band matches
// the NLP stage's neutral label (|score| < 0.05).
var SentimentBands = []SentimentBand{
	{"very_negative", -1, -0.5},
	{"negative", -0.5, -0.05},
	{"neutral", -0.05, 0.05},
	{"positive", 0.05, 0.5},
	{"very_positive", 0.5, 1},
}

// Query selects event documents. All set fields must match. The zero Query
// returns the newest DefaultLimit events.
type Query struct {
	// Text is a Bleve query string (https://blevesearch.com/docs/Query-String-Query/)
	// matched against the event text and its stems ("lost bag",
	// +refund -thanks, label:negative). Empty matches every event.
	Text string `json:"text,omitempty"`
	// Segment is a segment id or a segment name, matched exactly.
	Segment string `json:"segment,omitempty"`
	// Label is "positive", "neutral", "negative" or "unknown".
	Label string `json:"label,omitempty"`
	// Source is the event source, matched exactly.
	Source string `json:"source,omitempty"`
	// Customer is the customer id, matched exactly.
	Customer string `json:"customer,omitempty"`
	// Aspect is an aspect the text talks about (delivery, price, …).
	Aspect string `json:"aspect,omitempty"`
	// AspectLabel, with Aspect, keeps events whose attitude toward Aspect
	// has this label ("negative": complaints about delivery).
	AspectLabel string `json:"aspect_label,omitempty"`
	// Language is the detected language code ("en", "pt").
	Language string `json:"language,omitempty"`
	// SentimentMin and SentimentMax bound the sentiment score, both
	// inclusive, each in [-1, 1]; nil means unbounded.
	SentimentMin *float64 `json:"sentiment_min,omitempty"`
	SentimentMax *float64 `json:"sentiment_max,omitempty"`
	// From and To bound the event time: From inclusive, To exclusive; zero
	// means unbounded. Events without a time match only when both are zero.
	From time.Time `json:"from,omitzero"`
	To   time.Time `json:"to,omitzero"`

	// Facets names the facets to compute over all matching events (not only
	// the page): any of Facets.
	Facets []string `json:"facets,omitempty"`
	// FacetSize is the number of buckets of each term facet: default
	// DefaultFacetSize, at most MaxFacetSize.
	FacetSize int `json:"facet_size,omitempty"`

	// Sort is SortRelevance, SortTime or SortSentiment; empty means
	// relevance with Text and time without.
	Sort string `json:"sort,omitempty"`
	// Order is OrderDesc (default) or OrderAsc.
	Order string `json:"order,omitempty"`
	// Limit is the page size: default DefaultLimit, at most MaxLimit.
	Limit int `json:"limit,omitempty"`
	// Offset is the number of hits skipped; Offset+Limit is at most MaxWindow.
	Offset int `json:"offset,omitempty"`
}

// Hit is one matching event.
type Hit struct {
	ID          string   `json:"id"`
	Text        string   `json:"text"`
	CustomerID  string   `json:"customer_id,omitempty"`
	Source      string   `json:"source,omitempty"`
	Label       string   `json:"label,omitempty"`
	SegmentID   string   `json:"segment_id,omitempty"`
	SegmentName string   `json:"segment_name,omitempty"`
	Sentiment   float64  `json:"sentiment"`
	Aspects     []string `json:"aspects,omitempty"`
	Language    string   `json:"language,omitempty"`
	// TS is the event time, zero if unknown.
	TS time.Time `json:"ts,omitzero"`
	// Score is the relevance score; 0 unless the hits are ranked by it.
	Score float64 `json:"score,omitempty"`
	// Snippet is the best fragment of Text for Query.Text, HTML-escaped with
	// matches wrapped in <mark></mark>. Empty when Query.Text is empty or
	// matched no text term (for instance only a stem or a keyword field).
	Snippet string `json:"snippet,omitempty"`
}

// Result is one page of hits, with the facets asked for.
type Result struct {
	// Total is the number of matching events, not only those on this page.
	Total uint64 `json:"total"`
	Hits  []Hit  `json:"hits"`
	// Facets holds one entry per name in Query.Facets.
	Facets map[string]Facet `json:"facets,omitempty"`
	Took   time.Duration    `json:"took"`
}

// Facet counts the matching events per value of one field.
type Facet struct {
	// Buckets are the counts: for term facets the most frequent values,
	// largest first (ties by value); for FacetSentiment every band in
	// SentimentBands order; for FacetTime every interval of the span in time
	// order, empty ones included.
	Buckets []Bucket `json:"buckets"`
	// Other counts values beyond the buckets returned (term facets).
	Other int `json:"other,omitempty"`
	// Missing counts matching events without a value.
	Missing int `json:"missing,omitempty"`
	// Interval is the bucket width of FacetTime: "hour", "day", "week",
	// "month" or "year".
	Interval string `json:"interval,omitempty"`
}

// Bucket is one value of a facet and its count.
type Bucket struct {
	// Value is the term, the band name, or the interval start (RFC 3339)
	// for FacetTime. It is what the matching filter takes (Query.Segment,
	// Query.Aspect, …).
	Value string `json:"value"`
	// Label is a display name where it differs from Value: the segment name
	// of FacetSegment buckets.
	Label string `json:"label,omitempty"`
	Count int    `json:"count"`
	// Min and Max bound FacetSentiment bands.
	Min *float64 `json:"min,omitempty"`
	Max *float64 `json:"max,omitempty"`
	// Start and End bound FacetTime buckets (End exclusive).
	Start time.Time `json:"start,omitzero"`
	End   time.Time `json:"end,omitzero"`
}

// Validate reports the first problem with q, as an error wrapping
// ErrInvalidQuery with a message meant for the person who wrote the query.
// Search runs it first.
func (q Query) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidQuery, fmt.Sprintf(format, args...))
	}
	if n := len(q.Text); n > MaxQueryBytes {
		return bad("query text is %d bytes, at most %d allowed", n, MaxQueryBytes)
	}
	if !utf8.ValidString(q.Text) {
		return bad("query text is not valid UTF-8")
	}
	for _, f := range []struct{ name, v string }{
		{"segment", q.Segment}, {"source", q.Source}, {"customer", q.Customer},
		{"aspect", q.Aspect}, {"language", q.Language},
	} {
		if len(f.v) > MaxQueryBytes {
			return bad("%s is %d bytes, at most %d allowed", f.name, len(f.v), MaxQueryBytes)
		}
	}
	if q.Label != "" && !validLabel(q.Label) {
		return bad("unknown label %q (want positive, neutral, negative or unknown)", q.Label)
	}
	if q.AspectLabel != "" {
		if q.Aspect == "" {
			return bad("aspect label %q needs an aspect", q.AspectLabel)
		}
		if !validLabel(q.AspectLabel) {
			return bad("unknown aspect label %q (want positive, neutral, negative or unknown)", q.AspectLabel)
		}
	}
	for _, s := range []struct {
		name string
		v    *float64
	}{{"sentiment_min", q.SentimentMin}, {"sentiment_max", q.SentimentMax}} {
		if s.v != nil && !(*s.v >= -1 && *s.v <= 1) { // also catches NaN
			return bad("%s %v is outside [-1, 1]", s.name, *s.v)
		}
	}
	if q.SentimentMin != nil && q.SentimentMax != nil && *q.SentimentMin > *q.SentimentMax {
		return bad("sentiment_min %v is above sentiment_max %v", *q.SentimentMin, *q.SentimentMax)
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return bad("from %s is not before to %s", q.From.Format(time.RFC3339), q.To.Format(time.RFC3339))
	}
	for _, t := range []struct {
		name string
		v    time.Time
	}{{"from", q.From}, {"to", q.To}} {
		// Bleve stores times as int64 nanoseconds since 1970.
		if !t.v.IsZero() && (t.v.Year() < 1678 || t.v.Year() > 2261) {
			return bad("%s %s is outside the years 1678–2261", t.name, t.v.Format(time.RFC3339))
		}
	}
	seen := map[string]bool{}
	for _, f := range q.Facets {
		if !slices.Contains(Facets, f) {
			return bad("unknown facet %q (want one of %s)", f, strings.Join(Facets, ", "))
		}
		if seen[f] {
			return bad("facet %q asked for twice", f)
		}
		seen[f] = true
	}
	if q.FacetSize < 0 || q.FacetSize > MaxFacetSize {
		return bad("facet size %d is outside 0–%d", q.FacetSize, MaxFacetSize)
	}
	switch q.Sort {
	case "", SortRelevance, SortTime, SortSentiment:
	default:
		return bad("unknown sort %q (want relevance, time or sentiment)", q.Sort)
	}
	switch q.Order {
	case "", OrderAsc, OrderDesc:
	default:
		return bad("unknown order %q (want asc or desc)", q.Order)
	}
	switch {
	case q.Limit < 0:
		return bad("negative limit %d", q.Limit)
	case q.Limit > MaxLimit:
		return bad("limit %d is over %d", q.Limit, MaxLimit)
	case q.Offset < 0:
		return bad("negative offset %d", q.Offset)
	case q.Offset > MaxWindow-q.limit(): // not Offset+limit: it could overflow
		return bad("offset %d + limit %d is over %d; narrow the query instead of paging this deep", q.Offset, q.limit(), MaxWindow)
	}
	return nil
}

// limit is the page size q asks for.
func (q Query) limit() int {
	if q.Limit == 0 {
		return DefaultLimit
	}
	return q.Limit
}

func (q Query) facetSize() int {
	if q.FacetSize == 0 {
		return DefaultFacetSize
	}
	return q.FacetSize
}

func validLabel(s string) bool {
	switch attune.Label(s) {
	case attune.Positive, attune.Neutral, attune.Negative, attune.Unknown:
		return true
	}
	return false
}
