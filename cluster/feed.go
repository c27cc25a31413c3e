package cluster

import (
	"fmt"
	"time"
)

// Kinds of MembershipEvent.
const (
	Enter = "enter"
	Exit  = "exit"
)

// Reasons of a MembershipEvent.
const (
	ReasonEvent     = "event"     // a new event of the customer landed elsewhere
	ReasonRecluster = "recluster" // a re-cluster moved the customer
)

// MembershipEvent is one message of the campaign trigger feed: a customer
// entering or leaving a segment. The worker publishes it as JSON on
// attune.segments.<segment_id>.enter or .exit.
type MembershipEvent struct {
	Customer    string `json:"customer"`
	Kind        string `json:"kind"` // Enter or Exit
	SegmentID   string `json:"segment_id"`
	SegmentName string `json:"segment_name"`
	// From is, for an enter, the segment the customer left; To is, for an
	// exit, the segment the customer went to. Empty for none (a first
	// event; an event no segment could take).
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// EventID is the event that moved the customer; empty for a re-cluster.
	EventID string `json:"event_id,omitempty"`
	// TS is the moving event's time (or, without one, when it was
	// processed), or the re-cluster's fit time.
	TS     time.Time `json:"ts"`
	Reason string    `json:"reason"` // ReasonEvent or ReasonRecluster
}

// Key identifies the message for de-duplication (JetStream Nats-Msg-Id): a
// transition published again after a crash or retry has the same key.
func (e MembershipEvent) Key() string {
	cause := e.EventID
	if cause == "" {
		cause = e.TS.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("seg|%s|%s|%s>%s|%s|%s", e.Kind, e.Customer, e.From, e.To, e.Reason, cause)
}

// MembershipEvents turns a transition into its exit (when the customer had a
// segment) and enter (when it has one now) messages. name maps segment ids to
// names; an id it lacks is its own name.
func MembershipEvents(t Transition, name func(id string) string, ts time.Time, reason string) []MembershipEvent {
	var out []MembershipEvent
	base := MembershipEvent{Customer: t.Customer, From: t.From, To: t.To, EventID: t.EventID, TS: ts.UTC(), Reason: reason}
	if t.From != "" {
		e := base
		e.Kind, e.SegmentID, e.SegmentName, e.From = Exit, t.From, name(t.From), ""
		out = append(out, e)
	}
	if t.To != "" {
		e := base
		e.Kind, e.SegmentID, e.SegmentName, e.To = Enter, t.To, name(t.To), ""
		out = append(out, e)
	}
	return out
}

// Kinds of Alert.
const (
	AlertVolume    = "volume"
	AlertSentiment = "sentiment"
)

// Alert is a drift spike of one segment in one window, published as JSON on
// attune.alerts.segment once per segment, window and kind.
type Alert struct {
	SegmentID   string    `json:"segment_id"`
	SegmentName string    `json:"segment_name"`
	Kind        string    `json:"kind"` // AlertVolume or AlertSentiment
	WindowStart time.Time `json:"window_start"`
	Window      string    `json:"window"` // its width, e.g. "24h0m0s"
	Count       int       `json:"count"`
	// MeanSentiment of the window's events so far.
	MeanSentiment float64 `json:"mean_sentiment"`
	// Z is the window's distance from its trailing windows in their
	// standard deviations, on the alert's kind; Sigma the threshold.
	Z     float64   `json:"z"`
	Sigma float64   `json:"sigma"`
	TS    time.Time `json:"ts"` // when the spike was noticed (wall clock)
}

// Key identifies the alert: one per segment, window and kind.
func (a Alert) Key() string {
	return fmt.Sprintf("alert|%s|%s|%s", a.SegmentID, a.WindowStart.UTC().Format(time.RFC3339), a.Kind)
}

// AlertsOf returns the alerts window w of a segment raises: none, or one per
// kind of spike.
func AlertsOf(id, name string, w Window, cfg DriftConfig, now time.Time) []Alert {
	base := Alert{SegmentID: id, SegmentName: name, WindowStart: w.Start, Window: cfg.Window.String(),
		Count: w.Count, MeanSentiment: w.MeanSentiment, Sigma: cfg.Sigma, TS: now.UTC()}
	var out []Alert
	if w.VolumeSpike {
		a := base
		a.Kind, a.Z = AlertVolume, w.VolumeZ
		out = append(out, a)
	}
	if w.SentimentSpike {
		a := base
		a.Kind, a.Z = AlertSentiment, w.SentimentZ
		out = append(out, a)
	}
	return out
}
