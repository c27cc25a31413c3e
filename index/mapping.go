package index

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/datetime/flexible"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/analysis/lang/pt"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/whitespace"
	"github.com/blevesearch/bleve/v2/mapping"

	"github.com/attune-cx/attune"
)

// MappingVersion identifies the field layout this package writes. It is stored
// in the index when the index is created; bump it whenever a field is added,
// removed or analysed differently, so that Open refuses an index built with an
// older layout instead of searching fields that are not there.
const MappingVersion = "3"

// Document types, the value of the "type" field.
const (
	TypeEvent   = "event"
	TypeSegment = "segment"
)

// SegmentIDPrefix starts the document id of every segment document. Event ids
// must not start with it (see ValidateDoc), or an event could overwrite a
// segment.
const SegmentIDPrefix = "segment:"

// Field names. They are part of the query-string syntax users see
// (label:negative, segment_name:late-flight), so renaming one is a breaking
// change and a MappingVersion bump.
const (
	fieldType = "type"

	// Event fields.
	fieldID          = "id"
	fieldText        = "text"
	fieldStems       = "stems"
	fieldTokens      = "tokens"
	fieldSentiment   = "sentiment"
	fieldLabel       = "label"
	fieldSegmentID   = "segment_id"
	fieldSegmentName = "segment_name"
	fieldSource      = "source"
	fieldCustomer    = "customer"
	fieldTS          = "ts"
	fieldAspects     = "aspects"
	fieldLanguage    = "language"
	// fieldTextPT holds the text of Portuguese events again, analysed with
	// Portuguese stemming and stop words; the English analysis of text
	// conflates nothing in Portuguese.
	fieldTextPT = "text_pt"
	// fieldAspectSentiment holds "aspect:label" per aspect, so complaints
	// about one aspect can be filtered and counted in praising texts.
	fieldAspectSentiment = "aspect_sentiment"
	// Time buckets of the event time as keywords (UTC): the time facet counts
	// them as terms, which costs one map increment per hit, where Bleve's
	// date-range facet tests every range against every hit.
	fieldTSHour  = "ts_hour"  // 2006-01-02T15
	fieldTSDay   = "ts_day"   // 2006-01-02
	fieldTSMonth = "ts_month" // 2006-01
	// Sort and facet keys as single keyword terms. The numeric ts and
	// sentiment fields are indexed as 16 prefix-coded terms per value (for
	// range queries), and sorting or faceting on them reads every one of
	// those per matching event; one term is several times cheaper.
	fieldTSSort        = "ts_sort"        // RFC 3339, UTC, fixed-width nanoseconds: sorts as text
	fieldSentimentSort = "sentiment_sort" // score+1 as "1.234567": sorts as text
	fieldSentimentBand = "sentiment_band" // the SentimentBands name

	// Segment fields (besides id).
	fieldName          = "name"
	fieldTopTerms      = "top_terms"
	fieldSize          = "size"
	fieldCustomers     = "customers"
	fieldMeanSentiment = "mean_sentiment"
	fieldExemplars     = "exemplars"
	fieldUpdatedAt     = "updated_at"
	// fieldAbout is the searchable text of a segment, its top terms and its
	// exemplars; fieldNameText its name's words. Both are analysed as English.
	fieldAbout    = "about"
	fieldNameText = "name_text"
)

// Layouts of the time bucket fields.
const (
	layoutHour  = "2006-01-02T15"
	layoutDay   = "2006-01-02"
	layoutMonth = "2006-01"
	layoutSort  = "2006-01-02T15:04:05.000000000Z"
)

// sentimentBand names the band of SentimentBands that holds score.
func sentimentBand(score float64) string {
	for _, b := range SentimentBands[:len(SentimentBands)-1] {
		if score < b.Max {
			return b.Name
		}
	}
	return SentimentBands[len(SentimentBands)-1].Name
}

// Analysis components registered in the mapping by name.
const (
	// analyzerStems splits the pre-computed stems on whitespace and lowercases
	// them; they are already stemmed by the NLP stage, so stemming them again
	// would only drift from what the segment top terms show.
	analyzerStems = "attune_stems"
	// dateTimeNano parses and renders stored timestamps as RFC 3339 with
	// nanoseconds. Bleve's default renders stored times in whole seconds, which
	// would not round-trip Segment.UpdatedAt.
	dateTimeNano = "attune_rfc3339nano"
	// analyzerPT analyses Portuguese text: Unicode words, lowercased,
	// Portuguese stop words dropped, Snowball-stemmed (see stemmerPT).
	analyzerPT = "attune_pt"
)

// eventDoc is the flat form an event is indexed in. Bleve walks it by
// reflection, using the json tags as field names.
type eventDoc struct {
	Type      string  `json:"type"`
	ID        string  `json:"id"`
	Text      string  `json:"text"`
	Stems     string  `json:"stems"`
	Tokens    int     `json:"tokens"`
	Sentiment float64 `json:"sentiment"`
	// Keyword fields are nil when empty: Bleve would index "" as a term,
	// which facets would count as a value rather than as missing.
	Label       *string `json:"label"`
	SegmentID   *string `json:"segment_id"`
	SegmentName *string `json:"segment_name"`
	Source      *string `json:"source"`
	Customer    *string `json:"customer"`
	// TS is nil when the event time is unknown, so no field is indexed rather
	// than year 1, which Bleve cannot represent.
	TS *string `json:"ts"`
	// Aspects are the aspect names the text talks about.
	Aspects  []string `json:"aspects"`
	Language *string  `json:"language"`
	// TextPT is Text for Portuguese events, nil otherwise.
	TextPT *string `json:"text_pt"`
	// AspectSentiment is "aspect:label" per aspect.
	AspectSentiment []string `json:"aspect_sentiment"`
	TSHour          *string  `json:"ts_hour"`
	TSDay           *string  `json:"ts_day"`
	TSMonth         *string  `json:"ts_month"`
	TSSort          *string  `json:"ts_sort"`
	SentimentSort   string   `json:"sentiment_sort"`
	SentimentBand   string   `json:"sentiment_band"`
}

// BleveType tells Bleve which document mapping applies.
func (eventDoc) BleveType() string { return TypeEvent }

// segmentDoc is the flat form a segment is indexed in.
type segmentDoc struct {
	Type          string   `json:"type"`
	ID            string   `json:"id"`
	Name          string   `json:"name"`
	TopTerms      []string `json:"top_terms"`
	Size          int      `json:"size"`
	Customers     int      `json:"customers"`
	MeanSentiment float64  `json:"mean_sentiment"`
	Exemplars     []string `json:"exemplars"`
	UpdatedAt     *string  `json:"updated_at"`
	About         string   `json:"about"`
	NameText      string   `json:"name_text"`
}

// BleveType tells Bleve which document mapping applies.
func (segmentDoc) BleveType() string { return TypeSegment }

// ValidateDoc reports whether doc can be indexed. A doc that fails can never be
// indexed, so the error is an attune.PermanentError: the caller should
// dead-letter that event rather than retry it. IndexDocs runs the same check
// on every doc before it writes anything.
func ValidateDoc(doc attune.Doc) error {
	id := doc.Event.ID
	switch {
	case id == "":
		return attune.Permanent(attune.ReasonMissingField, fmt.Errorf("event has no id"))
	case strings.HasPrefix(id, SegmentIDPrefix):
		// Such an id would collide with the document of segment
		// strings.TrimPrefix(id, SegmentIDPrefix).
		return attune.Permanent(attune.ReasonMalformed,
			fmt.Errorf("event id %q starts with the reserved prefix %q", id, SegmentIDPrefix))
	}
	return nil
}

func newEventDoc(d attune.Doc) eventDoc {
	e := eventDoc{
		Type:        TypeEvent,
		ID:          d.Event.ID,
		Text:        d.Event.Text,
		Stems:       strings.Join(d.Analysis.Stems, " "),
		Tokens:      len(d.Analysis.Tokens),
		Sentiment:   d.Analysis.Sentiment.Score,
		Label:       nonEmpty(string(d.Analysis.Sentiment.Label)),
		SegmentID:   nonEmpty(d.SegmentID),
		SegmentName: nonEmpty(d.SegmentName),
		Source:      nonEmpty(d.Event.Source),
		Customer:    nonEmpty(d.Event.CustomerID),
		TS:          formatTime(d.Event.TS),
		Aspects:     aspectNames(d.Analysis.Aspects),
		Language:    nonEmpty(d.Analysis.Language),
	}
	score := max(-1, min(1, d.Analysis.Sentiment.Score))
	if score != score { // NaN: stored as is, sorted and banded as neutral
		score = 0
	}
	e.SentimentSort = strconv.FormatFloat(score+1, 'f', 6, 64)
	e.SentimentBand = sentimentBand(score)
	if d.Analysis.Language == "pt" {
		e.TextPT = &e.Text
	}
	for _, a := range d.Analysis.Aspects {
		e.AspectSentiment = append(e.AspectSentiment, a.Aspect+":"+string(a.Sentiment.Label))
	}
	if ts := d.Event.TS; !ts.IsZero() {
		ts = ts.UTC()
		h, day, m := ts.Format(layoutHour), ts.Format(layoutDay), ts.Format(layoutMonth)
		e.TSHour, e.TSDay, e.TSMonth = &h, &day, &m
		st := ts.Format(layoutSort)
		e.TSSort = &st
	}
	return e
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func aspectNames(as []attune.AspectSentiment) []string {
	if len(as) == 0 {
		return nil
	}
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.Aspect
	}
	return out
}

func newSegmentDoc(s attune.Segment) segmentDoc {
	return segmentDoc{
		Type:          TypeSegment,
		ID:            s.ID,
		Name:          s.Name,
		TopTerms:      s.TopTerms,
		Size:          s.Size,
		Customers:     s.Customers,
		MeanSentiment: s.MeanSentiment,
		Exemplars:     s.Exemplars,
		UpdatedAt:     formatTime(s.UpdatedAt),
		About:         strings.Join(append(slices.Clone(s.TopTerms), s.Exemplars...), "\n"),
		NameText:      strings.ReplaceAll(s.Name, "-", " "),
	}
}

func formatTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339Nano)
	return &s
}

// newMapping builds the index mapping. Bleve stores it in the index on
// creation and reads it back on Open, so this runs only for new indexes.
func newMapping() (*mapping.IndexMappingImpl, error) {
	im := mapping.NewIndexMapping()
	im.TypeField = fieldType
	im.DefaultType = TypeEvent
	// Query-string terms without a field prefix search the composite _all
	// field, which only text and stems feed; analyse them as English, like
	// text.
	im.DefaultField = "_all"
	im.DefaultAnalyzer = en.AnalyzerName
	im.DefaultDateTimeParser = dateTimeNano
	im.StoreDynamic = false
	im.IndexDynamic = false
	im.DocValuesDynamic = false
	// Documents of an unknown type are not indexed at all.
	im.DefaultMapping = mapping.NewDocumentDisabledMapping()

	if err := im.AddCustomAnalyzer(analyzerStems, map[string]any{
		"type":          custom.Name,
		"tokenizer":     whitespace.Name,
		"token_filters": []any{lowercase.Name},
	}); err != nil {
		return nil, fmt.Errorf("register analyzer %s: %w", analyzerStems, err)
	}
	if err := im.AddCustomAnalyzer(analyzerPT, map[string]any{
		"type":          custom.Name,
		"tokenizer":     unicode.Name,
		"token_filters": []any{lowercase.Name, pt.StopName, stemmerPT},
	}); err != nil {
		return nil, fmt.Errorf("register analyzer %s: %w", analyzerPT, err)
	}
	if err := im.AddCustomDateTimeParser(dateTimeNano, map[string]any{
		"type":    flexible.Name,
		"layouts": []any{time.RFC3339Nano},
	}); err != nil {
		return nil, fmt.Errorf("register datetime parser %s: %w", dateTimeNano, err)
	}

	im.AddDocumentMapping(TypeEvent, eventMapping())
	im.AddDocumentMapping(TypeSegment, segmentMapping())
	if err := im.Validate(); err != nil {
		return nil, fmt.Errorf("validate mapping: %w", err)
	}
	return im, nil
}

func eventMapping() *mapping.DocumentMapping {
	dm := strictDocumentMapping()

	text := mapping.NewTextFieldMapping()
	text.Analyzer = en.AnalyzerName
	text.Store = true
	text.IncludeTermVectors = true // positions for highlighting and phrases
	text.IncludeInAll = true
	text.DocValues = false // never sorted or faceted on; saves space
	dm.AddFieldMappingsAt(fieldText, text)

	stems := mapping.NewTextFieldMapping()
	stems.Analyzer = analyzerStems
	stems.Store = false // derived from text
	stems.IncludeTermVectors = false
	stems.IncludeInAll = true
	stems.DocValues = true // term facets over stems ("what do these hits talk about")
	dm.AddFieldMappingsAt(fieldStems, stems)

	textPT := mapping.NewTextFieldMapping()
	textPT.Analyzer = analyzerPT
	textPT.Store = true              // highlighting reads the stored field
	textPT.IncludeTermVectors = true // positions for highlighting and phrases
	textPT.IncludeInAll = false      // _all is analysed as English; searched on its own
	textPT.DocValues = false
	dm.AddFieldMappingsAt(fieldTextPT, textPT)

	// The document id; indexed for id:... queries, doc values as the sort
	// tie-breaker.
	dm.AddFieldMappingsAt(fieldID, keywordField(false))
	for _, f := range []string{fieldLabel, fieldSegmentID, fieldSegmentName, fieldSource, fieldCustomer, fieldAspects, fieldLanguage} {
		dm.AddFieldMappingsAt(f, keywordField(true))
	}
	for _, f := range []string{fieldAspectSentiment, fieldTSHour, fieldTSDay, fieldTSMonth, fieldTSSort, fieldSentimentSort, fieldSentimentBand} {
		dm.AddFieldMappingsAt(f, keywordField(false)) // filtered and faceted, never shown
	}
	// Range queries only: sorting and facets use the keyword forms above.
	for f, m := range map[string]*mapping.FieldMapping{fieldSentiment: numericField(), fieldTokens: numericField(), fieldTS: dateField()} {
		m.DocValues = false
		dm.AddFieldMappingsAt(f, m)
	}
	return dm
}

func segmentMapping() *mapping.DocumentMapping {
	dm := strictDocumentMapping()
	dm.AddFieldMappingsAt(fieldID, keywordField(true))
	dm.AddFieldMappingsAt(fieldName, keywordField(true))
	dm.AddFieldMappingsAt(fieldTopTerms, keywordField(true))
	dm.AddFieldMappingsAt(fieldSize, numericField())
	dm.AddFieldMappingsAt(fieldCustomers, numericField())
	dm.AddFieldMappingsAt(fieldMeanSentiment, numericField())
	dm.AddFieldMappingsAt(fieldUpdatedAt, dateField())

	// Exemplars are shown, not searched.
	ex := mapping.NewTextFieldMapping()
	ex.Index = false
	ex.Store = true
	ex.IncludeTermVectors = false
	ex.IncludeInAll = false
	ex.DocValues = false
	dm.AddFieldMappingsAt(fieldExemplars, ex)

	// What SearchSegments matches. Not in _all: event searches never see it.
	about := mapping.NewTextFieldMapping()
	about.Analyzer = en.AnalyzerName
	about.Store = false
	about.IncludeTermVectors = false
	about.IncludeInAll = false
	about.DocValues = false
	dm.AddFieldMappingsAt(fieldAbout, about)
	nameText := mapping.NewTextFieldMapping()
	nameText.Analyzer = en.AnalyzerName
	nameText.Store = false
	nameText.IncludeTermVectors = false
	nameText.IncludeInAll = false
	nameText.DocValues = false
	dm.AddFieldMappingsAt(fieldNameText, nameText)
	return dm
}

// strictDocumentMapping returns a document mapping that indexes only the
// fields mapped explicitly, plus the type field for filtering by type.
func strictDocumentMapping() *mapping.DocumentMapping {
	dm := mapping.NewDocumentStaticMapping()
	typ := keywordField(false)
	typ.DocValues = false
	dm.AddFieldMappingsAt(fieldType, typ)
	return dm
}

func keywordField(store bool) *mapping.FieldMapping {
	f := mapping.NewKeywordFieldMapping()
	f.Analyzer = keyword.Name
	f.Store = store
	f.IncludeTermVectors = false
	f.IncludeInAll = false
	f.DocValues = true // sorting and term facets
	return f
}

func numericField() *mapping.FieldMapping {
	f := mapping.NewNumericFieldMapping()
	f.Store = true
	f.IncludeInAll = false
	f.DocValues = true
	return f
}

func dateField() *mapping.FieldMapping {
	f := mapping.NewDateTimeFieldMapping()
	f.DateFormat = dateTimeNano
	f.Store = true
	f.IncludeInAll = false
	f.DocValues = true
	return f
}

// NewBleveMapping returns the index mapping Open creates indexes with, and
// BleveDocument the value IndexDocs writes for d under id d.Event.ID. They let
// a tool write the very same documents with Bleve directly: `attune bench
// index` measures IndexDocs against that baseline.
func NewBleveMapping() (*mapping.IndexMappingImpl, error) { return newMapping() }

// BleveDocument: see NewBleveMapping.
func BleveDocument(d attune.Doc) any { return newEventDoc(d) }
