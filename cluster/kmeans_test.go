package cluster

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/attune-cx/attune"
)

// fiveIntents are banking77 intents about clearly different things.
var fiveIntents = []string{"exchange_rate", "card_arrival", "passcode_forgotten", "apple_pay_or_google_pay", "terminate_account"}

// textPoints makes one Point per text with its TF-IDF vector, each text its
// own customer seen once, as the Store would record it.
func textPoints(rows []labeledText) ([]Point, []string) {
	texts := make([]string, len(rows))
	gold := make([]string, len(rows))
	for i, r := range rows {
		texts[i], gold[i] = r.text, r.label
	}
	vecs := tfidf(texts)
	pts := make([]Point, len(rows))
	for i, r := range rows {
		ev := attune.Event{ID: fmt.Sprintf("b77-%04d", i), Text: r.text}
		pts[i] = Point{Doc: analysedDoc(ev), Vec: vecs[i], Customer: attune.Customer{ID: "event:" + ev.ID, Frequency: 1}}
	}
	return pts, gold
}

func assignAll(m *Model, pts []Point) []string {
	out := make([]string, len(pts))
	for i, p := range pts {
		out[i] = m.Assign(p).ID
	}
	return out
}

func TestNMIHelper(t *testing.T) {
	a := []int{0, 0, 1, 1, 2, 2}
	tests := []struct {
		name string
		b    []string
		want float64
	}{
		{"identical up to renaming", []string{"x", "x", "y", "y", "z", "z"}, 1},
		{"one cluster", []string{"x", "x", "x", "x", "x", "x"}, 0},
		// B is a function of A, so I = H(B) = ln 3 − (2/3)ln 2, and H(A) = ln 3.
		{"merged pair", []string{"x", "x", "x", "x", "z", "z"}, 2 * (math.Log(3) - 2.0/3*math.Log(2)) / (2*math.Log(3) - 2.0/3*math.Log(2))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := nmi(a, tt.b); math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("nmi = %v, want %v", got, tt.want)
			}
		})
	}
}

// topicOnly weighs the embedding alone. The banking77 labels are intents,
// topics, and the sentiment of these neutral questions is noise with respect
// to them, so the recovery tests leave it out to measure the clustering.
var topicOnly = Weights{Embedding: 1}

// TestFitBanking77 clusters five banking77 intents by the TF-IDF of their
// texts and checks the clusters recover the intents.
func TestFitBanking77(t *testing.T) {
	pts, gold := textPoints(banking77(t, "test", fiveIntents...))
	ctx := context.Background()
	cfg := Config{K: len(fiveIntents), Seed: 7, Weights: topicOnly}
	m, err := Fit(ctx, pts, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	labels := assignAll(m, pts)
	score := nmi(labels, gold)
	t.Logf("%d texts, k=%d: NMI %.3f", len(pts), m.K(), score)
	// Measured 0.915 at seed 7 (0.72–0.96, mean 0.88, over seeds 1–10)
	// with this plain TF-IDF; an embedding should do better.
	const floor = 0.75
	if score < floor {
		t.Errorf("NMI %.3f below floor %.2f", score, floor)
	}

	again, err := Fit(ctx, pts, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(labels, assignAll(again, pts)) {
		t.Error("same seed gave different clusters")
	}
	for j := range m.Centroids {
		if !slices.Equal(m.Centroids[j], again.Centroids[j]) {
			t.Fatalf("same seed gave different centroid %d", j)
		}
	}

	// Assign puts every fitted point back in the segment Fit counted it in.
	assigned := map[string]int{}
	for _, id := range labels {
		assigned[id]++
	}
	total := 0
	for _, s := range m.Segments() {
		total += s.Size
		if assigned[s.ID] != s.Size {
			t.Errorf("segment %s has size %d, Assign gives it %d points", s.ID, s.Size, assigned[s.ID])
		}
		if s.Customers != s.Size {
			t.Errorf("segment %s: %d customers for %d one-event customers", s.ID, s.Customers, s.Size)
		}
		if len(s.Exemplars) != exemplarCount || len(s.TopTerms) == 0 {
			t.Errorf("segment %s: %d exemplars, %d top terms", s.ID, len(s.Exemplars), len(s.TopTerms))
		}
	}
	if total != len(pts) {
		t.Errorf("segment sizes add up to %d, want %d", total, len(pts))
	}
}

// TestFitAutoK checks that silhouette picks a k near the number of intents.
func TestFitAutoK(t *testing.T) {
	pts, gold := textPoints(banking77(t, "test", fiveIntents...))
	m, err := Fit(context.Background(), pts, Config{Seed: 7, Weights: topicOnly}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("chosen k=%d, NMI %.3f, scores %v", m.K(), nmi(assignAll(m, pts), gold), m.KScores)
	// Measured k=9 at seed 7, 5..9 over seeds 1–10: silhouette on sparse
	// TF-IDF favours splitting an intent over merging two.
	if k := m.K(); k < 4 || k > 10 {
		t.Errorf("chose k=%d for %d intents, want 4..10", k, len(fiveIntents))
	}
	if len(m.KScores) != DefaultKMax-DefaultKMin+1 {
		t.Errorf("%d k scores, want one per k in %d..%d", len(m.KScores), DefaultKMin, DefaultKMax)
	}
}

func TestFitEdgeCases(t *testing.T) {
	pts, _ := textPoints(banking77(t, "test", "card_arrival")[:6])
	ctx := context.Background()
	tests := []struct {
		name    string
		pts     []Point
		cfg     Config
		wantK   int
		wantErr bool
	}{
		{"no points", nil, Config{}, 0, true},
		{"bad config", pts, Config{KMin: 5, KMax: 3}, 0, true},
		{"too few points for automatic k", pts[:3], Config{}, 1, false},
		{"fixed k above point count", pts[:3], Config{K: 10}, 3, false},
		{"duplicate points", []Point{pts[0], pts[0], pts[0], pts[1]}, Config{K: 3}, 2, false},
		{"mixed dimensions", []Point{pts[0], {Doc: pts[1].Doc, Vec: pts[1].Vec[:3]}}, Config{K: 2}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Fit(ctx, tt.pts, tt.cfg, nil)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err == nil && m.K() != tt.wantK {
				t.Errorf("k = %d, want %d", m.K(), tt.wantK)
			}
		})
	}
}

func TestFitCancelled(t *testing.T) {
	pts, _ := textPoints(banking77(t, "test", fiveIntents...))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Fit(ctx, pts, Config{}, nil); err == nil {
		t.Fatal("Fit on a cancelled context succeeded")
	}
}

// TestKMeansMatchesFit checks that KMeans, the bare clustering bench cluster
// times against scikit-learn, is the one Fit runs: on the matrix Fit
// clustered (its fused vectors), with the model's k, it gives the same
// partition.
func TestKMeansMatchesFit(t *testing.T) {
	pts, _ := textPoints(banking77(t, "test", fiveIntents...))
	cfg := Config{K: 5, Seed: 7}
	m, err := Fit(context.Background(), pts, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	x := make([][]float64, len(pts))
	fitted := make([]string, len(pts))
	for i, p := range pts {
		if x[i], err = m.Fused(p); err != nil {
			t.Fatal(err)
		}
		fitted[i] = m.Assign(p).ID
	}
	labels, err := KMeans(context.Background(), x, m.K(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if ari := ARI(fitted, labels); ari < 0.999 {
		t.Fatalf("KMeans on Fit's matrix agrees with Fit at ARI %.3f, want the same partition", ari)
	}
	if _, err := KMeans(context.Background(), x, len(x)+1, cfg); err == nil {
		t.Error("k above the row count was accepted")
	}
}
