package main

import (
	"math"
	"testing"

	"github.com/attune-cx/attune/cluster"
	"github.com/attune-cx/attune/nlp"
	"github.com/attune-cx/attune/nlp/nlpdata"
)

// TestModelAttitudeBands re-measures cluster.ModelBands: the learned
// sentiment model's mean score per crowd label on the airline tweets'
// training split (never the held-out fifth), turned into the bands by their
// definition in shares of negative and positive texts. A retrained model that
// moves the bands fails here until the constants are updated.
func TestModelAttitudeBands(t *testing.T) {
	d, err := nlpdata.Open(datasets)
	if err != nil {
		t.Fatal(err)
	}
	train, _, err := d.Airline()
	if err != nil {
		t.Fatal(err)
	}
	an, err := nlp.New()
	if err != nil {
		t.Fatal(err)
	}
	sum, n := map[nlpdata.Class]float64{}, map[nlpdata.Class]float64{}
	for _, l := range train {
		sum[l.Class] += an.Analyze(l.Text).Sentiment.Score
		n[l.Class]++
	}
	neg, neu, pos := sum[-1]/n[-1], sum[0]/n[0], sum[1]/n[1]
	mixNeg := func(share float64) float64 { return share*neg + (1-share)*neu }
	mixPos := func(share float64) float64 { return share*pos + (1-share)*neu }
	want := cluster.Bands{mixNeg(0.9), mixNeg(0.65), mixNeg(0.35), mixPos(0.35), mixPos(0.75)}
	t.Logf("class means on %d training tweets: negative %.3f, neutral %.3f, positive %.3f; bands %.3f", len(train), neg, neu, pos, want)
	for i := range want {
		if math.Abs(want[i]-cluster.ModelBands[i]) > 0.01 {
			t.Errorf("band %d: measured %.3f, cluster.ModelBands has %.3f", i, want[i], cluster.ModelBands[i])
		}
	}
}
