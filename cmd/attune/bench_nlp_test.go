package main

import (
	"math"
	"testing"
)

// TestCrossFitHeldOut checks that crossFit scores each item with a fit
// that did not see it: with y exactly linear in x and z except for one
// outlier, the items of the outlier's fold (the outlier included) are
// scored by a fit on the other folds, which recovers the line exactly, while
// the other items' fits include the outlier and miss.
func TestCrossFitHeldOut(t *testing.T) {
	var x, z, y []float64
	for i := 0; i < 100; i++ {
		xi, zi := float64(i%7), float64(i%11)
		x, z, y = append(x, xi), append(z, zi), append(y, 1+2*xi-0.5*zi)
	}
	const outlier = 42
	y[outlier] += 1000
	got := crossFit(x, z, y, 5)
	missed := 0
	for i := range y {
		line := 1 + 2*x[i] - 0.5*z[i]
		switch {
		case i%5 == outlier%5 && math.Abs(got[i]-line) > 1e-9:
			t.Errorf("crossFit[%d] = %v, want %v: its fold's fit never saw the outlier", i, got[i], line)
		case i%5 != outlier%5 && math.Abs(got[i]-line) > 1e-3:
			missed++
		}
	}
	if missed == 0 {
		t.Error("no fit that saw the outlier moved: the folds are not what they seem")
	}
}
