package cluster

import (
	"context"
	"math"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/attune-cx/attune"
)

// densityConfig clusters the 14,485 airline tweets by density on 8 PCA
// axes of their hashed TF-IDF vectors.
var densityConfig = Config{Algorithm: AlgorithmDensity, PCADims: 8, MinClusterSize: 15, MinSamples: 5, Seed: 7}

// fitTimes zeroes the wall-clock fields, the only ones Fit may vary.
func fitTimes(m *Model) *Model {
	c := *m
	c.FittedAt = time.Time{}
	c.Clusters = append([]attune.Segment(nil), m.Clusters...)
	for i := range c.Clusters {
		c.Clusters[i].UpdatedAt = time.Time{}
	}
	return &c
}

func TestDensityFit(t *testing.T) {
	pts := tweetPoints(t)
	ctx := context.Background()
	m, err := Fit(ctx, pts, densityConfig, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("density: %d segments, %d of %d points outliers, PCA keeps %.0f%% of the variance", m.K(), m.Outliers, len(pts), 100*m.Scaler.PCA.Explained)
	if m.K() < 2 {
		t.Fatalf("%d segments, want several", m.K())
	}
	if m.Outliers == 0 || m.Outliers == len(pts) {
		t.Fatalf("%d of %d points are outliers: density must leave some, not all, unassigned", m.Outliers, len(pts))
	}

	// Assign puts every fitted point back where Fit did: the segment sizes
	// and the outlier count are what Assign gives, and an outlier gets the
	// empty id the pipeline treats as unassigned.
	sizes := map[string]int{}
	for _, p := range pts {
		sizes[m.Assign(p).ID]++
	}
	if sizes[""] != m.Outliers {
		t.Errorf("Assign leaves %d points unassigned, Fit %d", sizes[""], m.Outliers)
	}
	for _, s := range m.Clusters {
		if sizes[s.ID] != s.Size {
			t.Errorf("segment %s (%s): Assign gives %d points, Fit %d", s.ID, s.Name, sizes[s.ID], s.Size)
		}
		if s.Name == "" || len(s.TopTerms) == 0 || len(s.Exemplars) == 0 {
			t.Errorf("segment %s is not described: %+v", s.ID, s)
		}
	}

	// A point unlike any tweet (its embedding is the first principal axis,
	// far out along it) is an outlier: Assign leaves it out, and Explain
	// says so.
	odd := pts[0]
	odd.Vec = make(attune.Vector, len(pts[0].Vec))
	for i, v := range m.Scaler.PCA.Components[0] {
		odd.Vec[i] = float32(v)
	}
	if s := m.Assign(odd); s.ID != "" {
		t.Errorf("a vector unlike any tweet joined %s", s.ID)
	}
	if w, err := m.Explain(odd); err != nil || !w.Outlier {
		t.Errorf("Explain of an outlier = %+v, %v; want Outlier", w, err)
	}
	if w, err := m.Explain(pts[0]); err != nil || w.Outlier != (m.Assign(pts[0]).ID == "") {
		t.Errorf("Explain of a fitted point = %+v, %v; Assign gives %q", w, err, m.Assign(pts[0]).ID)
	}

	t.Run("deterministic", func(t *testing.T) {
		again, err := Fit(ctx, pts, densityConfig, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fitTimes(again), fitTimes(m)) {
			t.Fatal("two fits with the same seed differ")
		}
	})

	t.Run("ids kept on re-fit", func(t *testing.T) {
		again, err := Fit(ctx, pts, densityConfig, m)
		if err != nil {
			t.Fatal(err)
		}
		if again.NextID != m.NextID {
			t.Errorf("NextID %d, was %d: ids were minted for unchanged data", again.NextID, m.NextID)
		}
		for i, l := range again.Lineage {
			if l.Kind != LineageKept || again.Clusters[i].Name != m.Clusters[i].Name {
				t.Errorf("segment %s: lineage %+v, name %q (was %q)", again.Clusters[i].ID, l, again.Clusters[i].Name, m.Clusters[i].Name)
			}
		}
	})

	t.Run("round trip through the store", func(t *testing.T) {
		s := openStore(t, filepath.Join(t.TempDir(), "attune.db"))
		defer s.Close()
		if err := s.SaveModel(m); err != nil {
			t.Fatal(err)
		}
		got, err := s.LoadModel()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Fatal("density model changed through save and load")
		}
		for _, p := range pts[:2000] {
			if a, b := got.Assign(p), m.Assign(p); a.ID != b.ID || a.Name != b.Name {
				t.Fatalf("event %s: loaded model assigns %v, saved one %v", p.Doc.Event.ID, a, b)
			}
		}
	})
}

// TestDensityNeedsPCA: density runs on the reduced space only.
func TestDensityNeedsPCA(t *testing.T) {
	cfg := densityConfig
	cfg.PCADims = 0
	if err := cfg.WithDefaults().Validate(); err == nil {
		t.Fatal("density without pca_dims validated")
	}
}

// TestPCAFitAndAssign: the PCA fitted by Fit is the one Assign and Fused
// apply, and it is the projection of the unit embedding on orthonormal axes.
func TestPCAFitAndAssign(t *testing.T) {
	pts, gold := textPoints(banking77(t, "test", fiveIntents...))
	cfg := Config{K: 5, Seed: 1, PCADims: 16}
	m, err := Fit(context.Background(), pts, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := m.Scaler.PCA
	if p == nil || len(p.Components) != 16 || p.Explained <= 0 || p.Explained > 1 {
		t.Fatalf("PCA = %+v", p)
	}
	for a := range p.Components {
		for b := range p.Components {
			want := 0.0
			if a == b {
				want = 1
			}
			if got := dot(p.Components[a], p.Components[b]); math.Abs(got-want) > 1e-9 {
				t.Fatalf("axes %d·%d = %v, want %v", a, b, got, want)
			}
		}
	}
	dim := len(pts[0].Vec)
	for _, pt := range pts[:50] {
		v, err := m.Fused(pt)
		if err != nil {
			t.Fatal(err)
		}
		if len(v) != 16+1+len(m.Scaler.Behavior) {
			t.Fatalf("fused vector of %d dimensions", len(v))
		}
		u := make([]float64, dim)
		if err := unitInto(u, pt); err != nil {
			t.Fatal(err)
		}
		for c, axis := range p.Components {
			var want float64
			for j := range u {
				want += (u[j] - p.Mean[j]) * axis[j]
			}
			want *= m.Config.Weights.Embedding
			if math.Abs(v[c]-want) > 1e-9 {
				t.Fatalf("event %s axis %d: %v, want %v", pt.Doc.Event.ID, c, v[c], want)
			}
		}
	}
	sizes := map[string]int{}
	for _, pt := range pts {
		sizes[m.Assign(pt).ID]++
	}
	for _, s := range m.Clusters {
		if sizes[s.ID] != s.Size {
			t.Errorf("segment %s: Assign gives %d points, Fit %d", s.ID, sizes[s.ID], s.Size)
		}
	}
	got := nmi(assignAll(m, pts), gold)
	t.Logf("k-means on 16 PCA axes: NMI %.3f against the intents", got)
	if got < 0.5 {
		t.Errorf("NMI %.3f on 16 PCA axes, want ≥ 0.5", got)
	}
}
