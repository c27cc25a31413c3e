package cluster

import (
	"math"
	"slices"
	"testing"
	"time"
)

// TestDriftTrackerMatchesDrift feeds the airline tweets one by one, as the
// worker sees them, with their complaint reason as segment. The tracker must
// judge every window exactly as the batch Drift does over the same events,
// must count a redelivered event once, and must raise the storm-day
// cancellation spike while that day's tweets arrive.
func TestDriftTrackerMatchesDrift(t *testing.T) {
	cfg := DriftConfig{Window: 24 * time.Hour, Trailing: 7, Sigma: 2}
	tr, err := NewDriftTracker(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var obs []Observation
	firstSpike := map[string]int{} // day → tweets of that day seen when it first spiked
	seenOfDay := map[string]int{}
	// In time order, as a live feed delivers them (the file is not).
	tws := tweets(t)
	slices.SortStableFunc(tws, func(a, b tweet) int { return a.created.Compare(b.created) })
	for _, tw := range tws {
		seg := tw.reason
		if seg == "" {
			seg = "none"
		}
		o := Observation{Segment: seg, TS: tw.created, Sentiment: map[string]float64{"negative": -1, "neutral": 0, "positive": 1}[tw.sentiment]}
		obs = append(obs, o)
		if !tr.Add(tw.id, o) {
			t.Fatalf("tweet %s with time %s not counted", tw.id, tw.created)
		}
		tr.Add(tw.id, o) // a redelivery
		if seg == "Cancelled Flight" {
			day := tw.created.UTC().Format("01-02")
			seenOfDay[day]++
			if _, ok := firstSpike[day]; !ok && tr.Window(seg, tw.created).VolumeSpike {
				firstSpike[day] = seenOfDay[day]
			}
		}
	}
	if tr.Len() != len(obs) {
		t.Fatalf("tracker counts %d events, want %d", tr.Len(), len(obs))
	}
	batch, err := Drift(obs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	windows := 0
	for _, d := range batch {
		for _, w := range d.Windows {
			got := tr.Window(d.Segment, w.Start)
			if got.Count != w.Count || math.Abs(got.VolumeZ-w.VolumeZ) > 1e-9 || math.Abs(got.SentimentZ-w.SentimentZ) > 1e-9 ||
				got.VolumeSpike != w.VolumeSpike || got.SentimentSpike != w.SentimentSpike {
				t.Fatalf("%s %s: tracker %+v, Drift %+v", d.Segment, w.Start, got, w)
			}
			windows++
		}
	}
	t.Logf("%d segment windows agree; cancellation spikes first seen (day: tweets of the day so far): %v", windows, firstSpike)
	if n, ok := firstSpike["02-22"]; !ok || n >= seenOfDay["02-22"] {
		t.Errorf("storm day 22 Feb not flagged before its last tweet arrived (flagged at %d of %d)", n, seenOfDay["02-22"])
	}
	if _, ok := firstSpike["02-20"]; ok {
		t.Errorf("ordinary day 20 Feb flagged")
	}

	// Moving an event un-counts it from its old window.
	tw := tweets(t)[0]
	before := tr.Window("moved-here", tw.created).Count
	tr.Add(tw.id, Observation{Segment: "moved-here", TS: tw.created})
	if got := tr.Window("moved-here", tw.created).Count; got != before+1 {
		t.Errorf("moved event: count %d, want %d", got, before+1)
	}
	if tr.Len() != len(obs) {
		t.Errorf("after a move the tracker counts %d events, want %d", tr.Len(), len(obs))
	}
	if tr.Add("no-time", Observation{Segment: "x"}) {
		t.Error("an event without a time was counted")
	}
	latest := tr.Latest()
	if len(latest) == 0 {
		t.Error("Latest is empty")
	}
	if trend := tr.Trend("Cancelled Flight", 3); len(trend) != 3 || !trend[2].Start.Equal(latest["Cancelled Flight"].Start) {
		t.Errorf("Trend ends at %v, Latest at %v", trend, latest["Cancelled Flight"].Start)
	}
}

// TestDriftTrackerWildTimestamp: one event dated decades off must not make the
// tracker allocate every window in between.
func TestDriftTrackerWildTimestamp(t *testing.T) {
	tr, err := NewDriftTracker(DriftConfig{Window: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	tr.Add("old", Observation{Segment: "s", TS: time.Unix(1, 0)})
	tr.Add("new", Observation{Segment: "s", TS: time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)})
	if w := tr.Window("s", time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)); w.Count != 1 {
		t.Errorf("count %d, want 1", w.Count)
	}
}
