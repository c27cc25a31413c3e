package main

import (
	"math"
	"testing"
)

// TestIsotonic checks the pooled fit: a violating pair is pooled to its
// weighted mean, the map is non-decreasing and interpolates between
// blocks, and is flat beyond them.
func TestIsotonic(t *testing.T) {
	// x: 0, 1, 2, 3 with y: 0, 1, 0.5, 2 — (1, 1) and (2, 0.5) violate
	// and pool to x 1.5, y 0.75 (equal weights).
	f := isotonic([]float64{2, 0, 3, 1}, []float64{0.5, 0, 2, 1}, []float64{1, 1, 1, 1})
	for _, tt := range []struct{ x, want float64 }{
		{-1, 0}, {0, 0}, {1.5, 0.75}, {0.75, 0.375}, {3, 2}, {9, 2},
	} {
		if got := f(tt.x); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("f(%v) = %v, want %v", tt.x, got, tt.want)
		}
	}
	prev := math.Inf(-1)
	for x := -1.0; x <= 4; x += 0.01 {
		if v := f(x); v < prev {
			t.Fatalf("f decreases at %v: %v after %v", x, v, prev)
		}
		prev = f(x)
	}
}

// TestShape checks that shape gives the Analyzer's score at blend 0.2
// (held on the label's side) and that tempering keeps the label's sign.
func TestShape(t *testing.T) {
	s := scored{p: [3]float64{0.3, 0.2, 0.5}, compound: -0.9, ok: true}
	if got := shape(s, 0.2, 1); got != 0.01 {
		t.Errorf("blend against a positive label = %v, want held at 0.01", got)
	}
	if got, want := shape(s, 0, 1), 0.5-0.3; math.Abs(got-want) > 1e-12 {
		t.Errorf("blend 0 = %v, want %v", got, want)
	}
	if got := shape(s, 0, 3); got <= 0 || got >= 0.2 {
		t.Errorf("tempered by 3 = %v, want in (0, 0.2)", got)
	}
	if got := shape(scored{}, 0.2, 1); got != 0 {
		t.Errorf("no parts = %v, want 0", got)
	}
}
