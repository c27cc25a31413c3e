package cluster

import (
	"context"
	"testing"
)

// TestModelCodecAssignsAlike: a model sent through EncodeModel/DecodeModel
// (as workers share it through NATS KV) assigns every point exactly as the
// original, and a corrupted value is refused instead of misplacing points.
func TestModelCodecAssignsAlike(t *testing.T) {
	pts, _ := textPoints(banking77(t, "test", fiveIntents...))
	m, err := Fit(context.Background(), pts, Config{K: 5, Seed: 1, PCADims: 8}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := EncodeModel(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeModel(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pts {
		if a, g := m.Assign(p), got.Assign(p); a.ID != g.ID || a.Name != g.Name {
			t.Fatalf("event %s: decoded model assigns %v, original %v", p.Doc.Event.ID, g, a)
		}
	}
	if _, err := DecodeModel(b[:len(b)/2]); err == nil {
		t.Error("a truncated model decoded without error")
	}
	bad := *m
	bad.Centroids = bad.Centroids[:1]
	bb, err := EncodeModel(&bad)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeModel(bb); err == nil {
		t.Error("a model with fewer centroids than segments decoded without error")
	}
}
