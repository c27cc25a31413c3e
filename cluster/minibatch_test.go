package cluster

import (
	"context"
	"errors"
	"slices"
	"testing"
)

// TestFitMiniBatch fits 20 intents of the banking77 test split (TF-IDF
// vectors) with exact and mini-batch k-means: mini-batch must be
// deterministic under a seed and lose little agreement with the intents.
func TestFitMiniBatch(t *testing.T) {
	var intents []string
	for _, r := range banking77(t, "test") {
		if !slices.Contains(intents, r.label) && len(intents) < 20 {
			intents = append(intents, r.label)
		}
	}
	pts, gold := textPoints(banking77(t, "test", intents...))
	ctx := context.Background()
	exact, err := Fit(ctx, pts, Config{K: 20, Seed: 1, Inits: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{K: 20, Seed: 1, Inits: 1, Algorithm: AlgorithmMiniBatch, BatchSize: 128}
	mb, err := Fit(ctx, pts, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Fit(ctx, pts, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := assignAll(mb, pts), assignAll(again, pts); !slices.Equal(a, b) {
		t.Error("mini-batch k-means is not deterministic under a seed")
	}
	ne, nm := NMI(assignAll(exact, pts), gold), NMI(assignAll(mb, pts), gold)
	t.Logf("NMI exact %.3f, mini-batch %.3f; inertia %.1f vs %.1f", ne, nm, exact.Inertia, mb.Inertia)
	if nm < ne-0.1 {
		t.Errorf("mini-batch NMI %.3f is far below exact %.3f", nm, ne)
	}
	if nm < 0.3 {
		t.Errorf("mini-batch NMI %.3f: no better than noise", nm)
	}
	if _, err := Fit(ctx, pts, Config{Algorithm: "dbscan"}, nil); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("unknown algorithm: %v", err)
	}
}
