package attune

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Sources an event may come from. They are also the last token of the NATS
// subject an event is published on (attune.events.<source>).
const (
	SourceReview = "review"
	SourceTicket = "ticket"
	SourceSurvey = "survey"
)

// Event is one piece of customer text as pipelines publish it. The JSON form is
// the wire schema documented in the README.
type Event struct {
	// ID identifies the event; it is the JetStream Nats-Msg-Id and the index
	// document id, so publishing or delivering an event twice stores it once.
	ID string `json:"id"`
	// CustomerID groups events of one customer for behavioral features.
	// Optional: events without one form a customer of their own.
	CustomerID string `json:"customer_id,omitempty"`
	// Source is review, ticket, survey or any short word the pipeline uses.
	Source string `json:"source,omitempty"`
	// Text is what the customer wrote.
	Text string `json:"text"`
	// TS is when the customer wrote it (RFC 3339). Zero means unknown.
	TS time.Time `json:"ts,omitzero"`
	// Rating is an optional numeric rating the customer gave (stars, NPS…).
	Rating *float64 `json:"rating,omitempty"`
	// Attrs carries any further fields. Numeric attributes named in the
	// configuration feed the customer's behavioral features.
	Attrs map[string]any `json:"attrs,omitempty"`
}

// Reasons an event is dead-lettered. Each is the last token of its DLQ subject
// (attune.dlq.<reason>) and the value of its Attune-Reason header.
const (
	ReasonMalformed    = "malformed"     // not a JSON object of the event schema
	ReasonMissingField = "missing_field" // no id or no text
	ReasonEmpty        = "empty"         // empty payload or blank text
	ReasonOversized    = "oversized"     // payload over the configured limit
	ReasonInvalidUTF8  = "invalid_utf8"  // payload is not valid UTF-8
	// ReasonMaxDeliver: delivered more than the configured number of times
	// without ever being settled (a worker crashed or was killed each time
	// it held the event), so it may be what crashes workers.
	ReasonMaxDeliver = "max_deliver"
	// ReasonPanic: handling the event alone panicked; the worker recovered.
	ReasonPanic = "panic"
)

// DecodeEvent parses and validates one wire payload. maxBytes bounds the
// payload size (0 means no bound). Every failure is a *PermanentError whose
// Reason is one of the Reason constants: retrying the same bytes cannot help.
func DecodeEvent(payload []byte, maxBytes int) (Event, error) {
	var ev Event
	switch {
	case len(payload) == 0:
		return ev, Permanent(ReasonEmpty, fmt.Errorf("empty payload"))
	case maxBytes > 0 && len(payload) > maxBytes:
		return ev, Permanent(ReasonOversized, fmt.Errorf("payload is %d bytes, limit is %d", len(payload), maxBytes))
	case !utf8.Valid(payload):
		return ev, Permanent(ReasonInvalidUTF8, fmt.Errorf("payload is not valid UTF-8"))
	}
	if err := json.Unmarshal(payload, &ev); err != nil {
		return ev, Permanent(ReasonMalformed, fmt.Errorf("decode event: %w", err))
	}
	ev.ID = strings.TrimSpace(ev.ID)
	switch {
	case ev.ID == "":
		return ev, Permanent(ReasonMissingField, fmt.Errorf("event has no id"))
	case len(ev.ID) > 256:
		return ev, Permanent(ReasonMalformed, fmt.Errorf("event id is %d bytes, limit is 256", len(ev.ID)))
	case ev.Text == "":
		return ev, Permanent(ReasonMissingField, fmt.Errorf("event %s has no text", ev.ID))
	case strings.TrimSpace(ev.Text) == "":
		return ev, Permanent(ReasonEmpty, fmt.Errorf("event %s has blank text", ev.ID))
	}
	if ev.CustomerID == "" {
		ev.CustomerID = "event:" + ev.ID
	}
	return ev, nil
}

// Number returns the numeric value of attribute name, accepting JSON numbers
// and numeric strings.
func (e Event) Number(name string) (float64, bool) {
	v, ok := e.Attrs[name]
	if !ok {
		return 0, false
	}
	switch x := v.(type) {
	case float64:
		return x, true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case string:
		var f float64
		if _, err := fmt.Sscan(strings.TrimSpace(x), &f); err == nil {
			return f, true
		}
	}
	return 0, false
}
