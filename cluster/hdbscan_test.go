package cluster

import (
	"context"
	"math/rand/v2"
	"testing"
)

// TestHDBSCANBlobs: three dense blobs of different sizes and spreads in a
// sparse haze; each blob is one cluster, and most of the haze is noise.
func TestHDBSCANBlobs(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	type blob struct {
		n      int
		center [2]float64
		spread float64
	}
	blobs := []blob{{300, [2]float64{0, 0}, 0.3}, {150, [2]float64{6, 0}, 0.5}, {80, [2]float64{0, 7}, 0.2}}
	var truth []int
	x := newMatrix(300+150+80+60, 2)
	r := 0
	for b, bl := range blobs {
		for range bl.n {
			x.row(r)[0] = bl.center[0] + bl.spread*rng.NormFloat64()
			x.row(r)[1] = bl.center[1] + bl.spread*rng.NormFloat64()
			truth = append(truth, b)
			r++
		}
	}
	for ; r < x.n; r++ {
		x.row(r)[0] = -6 + 18*rng.Float64()
		x.row(r)[1] = -6 + 18*rng.Float64()
		truth = append(truth, -1)
	}
	labels, _, err := hdbscan(context.Background(), x, 20, 5)
	if err != nil {
		t.Fatal(err)
	}
	got := map[[2]int]int{}
	for i, l := range labels {
		got[[2]int{truth[i], l}]++
	}
	t.Logf("(truth, label) counts: %v", got)
	k := 0
	for _, l := range labels {
		k = max(k, l+1)
	}
	if k != 3 {
		t.Fatalf("%d clusters, want 3", k)
	}
	for b, bl := range blobs {
		// Each blob maps to one label holding ≥ 90% of it.
		best := 0
		for l := range k {
			best = max(best, got[[2]int{b, l}])
		}
		if best < bl.n*9/10 {
			t.Errorf("blob %d: best label holds %d of %d", b, best, bl.n)
		}
	}
	if noise := got[[2]int{-1, -1}]; noise < 30 {
		t.Errorf("only %d of 60 haze points are noise", noise)
	}
}
