package attune

import "time"

// Label is the three-way reading of a sentiment score.
type Label string

const (
	Positive Label = "positive"
	Neutral  Label = "neutral"
	Negative Label = "negative"
	// Unknown is the label of text in a language the scorer has no model
	// for: no score is better than a wrong English one.
	Unknown Label = "unknown"
)

// Sentiment is a score in [-1, 1] and its label.
type Sentiment struct {
	Score float64 `json:"score"`
	Label Label   `json:"label"`
}

// Analysis is what the NLP stage derives from an event's text.
type Analysis struct {
	// Clean is the text with handles, URLs and markup removed: what is
	// embedded. Mentions and links say who was addressed, not what about.
	Clean string `json:"clean"`
	// Sentences is the number of sentences found.
	Sentences int `json:"sentences"`
	// Tokens are the lowercased word tokens of Clean, punctuation dropped.
	Tokens []string `json:"tokens"`
	// Stems are the snowball stems of the content tokens (stop words dropped),
	// in text order; segment names and top terms come from them.
	Stems []string `json:"stems"`
	// Sentiment of the whole text.
	Sentiment Sentiment `json:"sentiment"`
	// Language is the detected ISO 639-1 code ("en", "pt", …), empty if
	// unknown.
	Language string `json:"language,omitempty"`
	// Aspects are the aspects the text talks about, each with the sentiment
	// of the clauses that mention it.
	Aspects []AspectSentiment `json:"aspects,omitempty"`
}

// AspectSentiment is the attitude of a text toward one aspect (delivery,
// price, staff, …).
type AspectSentiment struct {
	Aspect    string    `json:"aspect"`
	Sentiment Sentiment `json:"sentiment"`
	// Mentions are the phrases that matched the aspect.
	Mentions []string `json:"mentions,omitempty"`
}

// Vector is an L2-normalised embedding as served by the embedding model.
type Vector []float32

// Doc is an analysed, embedded and segmented event: the unit the index stores.
type Doc struct {
	Event    Event    `json:"event"`
	Analysis Analysis `json:"analysis"`
	// Segment is the id and name of the segment the event is assigned to,
	// empty before the first clustering.
	SegmentID   string `json:"segment_id,omitempty"`
	SegmentName string `json:"segment_name,omitempty"`
}

// Customer holds the behavioral features of one customer, derived from the
// events seen for them. Fields that the data does not hold are absent (Has*
// false), never invented.
type Customer struct {
	ID string `json:"id"`
	// Frequency is the number of events seen.
	Frequency float64 `json:"frequency"`
	// First and Last are the earliest and latest event times seen.
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`
	// RatingSum and Ratings give the mean rating (monetary/satisfaction proxy)
	// where events carry a rating.
	RatingSum float64 `json:"rating_sum"`
	Ratings   float64 `json:"ratings"`
	// Monetary sums the configured monetary attribute (e.g. order value).
	Monetary    float64 `json:"monetary"`
	HasMonetary bool    `json:"has_monetary"`
	// Engagement sums the configured engagement attributes (e.g. retweets).
	Engagement    float64 `json:"engagement"`
	HasEngagement bool    `json:"has_engagement"`
}

// Segment is a named group of texts (and so of customers) that share an
// attitude toward the same thing and behave alike.
type Segment struct {
	ID            string    `json:"id"`
	Name          string    `json:"name"`
	Size          int       `json:"size"`
	Customers     int       `json:"customers"`
	MeanSentiment float64   `json:"mean_sentiment"`
	TopTerms      []string  `json:"top_terms"`
	Exemplars     []string  `json:"exemplars"`
	UpdatedAt     time.Time `json:"updated_at"`
	// Aspect is the segment's dominant aspect (configs/aspects.yaml): most
	// of its texts mention it and no other segment's do. A generated name
	// starts with it ("baggage-angry"); empty when there is none.
	Aspect string `json:"aspect,omitempty"`
}
