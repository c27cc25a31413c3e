package cluster

import (
	"math"
	"testing"
	"time"
)

// TestDriftAirlineCancellations watches the airline tweets with their gold
// complaint reason as the segment. The week of 17–24 February 2015 holds a
// real event: storms cancelled flights on the 21st–23rd, and complaints about
// cancellations jumped from ~45 a day to 131 and 268. Drift must flag that
// jump and stay quiet on the ordinary days before it.
func TestDriftAirlineCancellations(t *testing.T) {
	var obs []Observation
	for _, tw := range tweets(t) {
		seg := tw.reason
		if seg == "" {
			seg = "none"
		}
		score := map[string]float64{"negative": -1, "neutral": 0, "positive": 1}[tw.sentiment]
		obs = append(obs, Observation{Segment: seg, TS: tw.created, Sentiment: score})
	}
	drift, err := Drift(obs, DriftConfig{Window: 24 * time.Hour, Trailing: 7, Sigma: 2})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	var cancelled *SegmentDrift
	for i, d := range drift {
		for _, w := range d.Windows {
			total += w.Count
			if math.IsNaN(w.VolumeZ) || math.IsNaN(w.SentimentZ) {
				t.Fatalf("%s %s: NaN z", d.Segment, w.Start)
			}
		}
		if d.Segment == "Cancelled Flight" {
			cancelled = &drift[i]
		}
	}
	if total != len(obs) {
		t.Errorf("windows hold %d events, want %d", total, len(obs))
	}
	if cancelled == nil {
		t.Fatal("no Cancelled Flight segment")
	}
	spiked := map[string]bool{}
	for _, w := range cancelled.Windows {
		t.Logf("%s %4d  volume z %5.2f  spike %v", w.Start.Format("Jan 02"), w.Count, w.VolumeZ, w.VolumeSpike)
		if w.VolumeSpike {
			spiked[w.Start.Format("01-02")] = true
		}
	}
	if !spiked["02-22"] {
		t.Errorf("the storm day 22 Feb is not a volume spike: %v", spiked)
	}
	for _, quiet := range []string{"02-20"} {
		if spiked[quiet] {
			t.Errorf("ordinary day %s flagged as a spike", quiet)
		}
	}

	for _, bad := range []DriftConfig{{Window: -time.Hour}, {Trailing: 1}, {Sigma: math.NaN()}} {
		if _, err := Drift(obs, bad); err == nil {
			t.Errorf("Drift accepted %+v", bad)
		}
	}
}
