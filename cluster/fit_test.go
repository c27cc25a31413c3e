package cluster

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"testing"

	"github.com/attune-cx/attune"
)

// TestFitKeepsIDs re-clusters with the previous model and checks segment ids
// and names carry over.
func TestFitKeepsIDs(t *testing.T) {
	pts, _ := textPoints(banking77(t, "test", fiveIntents...))
	ctx := context.Background()
	cfg := Config{K: 5, Seed: 1}
	first, err := Fit(ctx, pts, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	before := assignSegments(first, pts)

	t.Run("unchanged data", func(t *testing.T) {
		again, err := Fit(ctx, pts, cfg, first)
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range pts {
			if got := again.Assign(p); got.ID != before[i].ID || got.Name != before[i].Name {
				t.Fatalf("event %s: %v, was %v", p.Doc.Event.ID, got, before[i])
			}
		}
		if again.NextID != first.NextID {
			t.Errorf("NextID %d, was %d: ids were minted for unchanged data", again.NextID, first.NextID)
		}
	})

	t.Run("shuffled data, other seed", func(t *testing.T) {
		shuffled := append([]Point(nil), pts...)
		rand.New(rand.NewPCG(9, 9)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		cfg := cfg
		cfg.Seed = 2
		next, err := Fit(ctx, shuffled, cfg, first)
		if err != nil {
			t.Fatal(err)
		}
		// Reseeding moves some clusters; the ids must follow the ones that
		// stay. A new segment that is essentially a previous one (each holds
		// ≥ 80% of the other) must keep its id, and a segment that kept an id
		// must draw most of its events from that previous segment.
		prevSize := map[string]int{}
		for _, s := range before {
			prevSize[s.ID]++
		}
		overlap := map[[2]string]int{}
		newSize := map[string]int{}
		for i, p := range pts {
			id := next.Assign(p).ID
			overlap[[2]string{id, before[i].ID}]++
			newSize[id]++
		}
		kept, stable := 0, 0
		for _, s := range next.Segments() {
			dominant, most := "", 0
			for old := range prevSize {
				if n := overlap[[2]string{s.ID, old}]; n > most {
					dominant, most = old, n
				}
			}
			isStable := most >= newSize[s.ID]*8/10 && most >= prevSize[dominant]*8/10
			_, inherited := prevSize[s.ID]
			t.Logf("%s %-26s size %3d: %3d from %s (stable %v)", s.ID, s.Name, s.Size, most, dominant, isStable)
			if isStable {
				stable++
				if s.ID != dominant {
					t.Errorf("segment %s is essentially previous %s but did not keep its id", s.ID, dominant)
				}
			}
			if inherited {
				kept++
				if s.ID != dominant {
					t.Errorf("segment %s kept an id but most of its events were in %s", s.ID, dominant)
				}
			}
		}
		if stable == 0 {
			t.Error("no segment survived reseeding: the check tested nothing")
		}
		t.Logf("%d of %d segments kept their id, %d were stable", kept, next.K(), stable)
		seen := map[string]bool{}
		for _, s := range next.Segments() {
			if seen[s.ID] {
				t.Errorf("id %s used twice", s.ID)
			}
			seen[s.ID] = true
		}
	})

	t.Run("other embedding dimension", func(t *testing.T) {
		short := make([]Point, len(pts))
		for i, p := range pts {
			p.Vec = p.Vec[:len(p.Vec)/2]
			short[i] = p
		}
		other, err := Fit(ctx, short, cfg, first)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range other.Segments() {
			for _, old := range first.Segments() {
				if s.ID == old.ID {
					t.Errorf("segment of a new embedding space reuses id %s", s.ID)
				}
			}
		}
		if got := first.Assign(short[0]); got.ID != "" {
			t.Errorf("model of dimension %d assigned a %d-dimensional point to %v", first.Dim, len(short[0].Vec), got)
		}
		if _, _, err := first.Nearest(short[0]); err == nil {
			t.Error("Nearest accepted a vector of another dimension")
		}
	})
}

func assignSegments(m *Model, pts []Point) []attune.Segment {
	out := make([]attune.Segment, len(pts))
	for i, p := range pts {
		out[i] = m.Assign(p)
	}
	return out
}

func segmentNames(m *Model) []string {
	var out []string
	for _, s := range m.Segments() {
		out = append(out, fmt.Sprintf("%s:%s(%d)", s.ID, s.Name, s.Size))
	}
	return out
}

// TestFitFusedFeatures fits the airline tweets with their customers'
// behavior and checks the scaler: recency is measured from the data's own
// latest time, not the wall clock, and segments are described.
func TestFitFusedFeatures(t *testing.T) {
	all := tweets(t)[:3000]
	evs := make([]attune.Event, len(all))
	for i, tw := range all {
		evs[i] = attune.Event{ID: tw.id, CustomerID: tw.user, Text: tw.text, TS: tw.created, Attrs: map[string]any{"rt": tw.retweets}}
	}
	vecs := vectorsFor(evs)
	custs := map[string]*attune.Customer{}
	for _, e := range evs {
		c := custs[e.CustomerID]
		if c == nil {
			c = &attune.Customer{ID: e.CustomerID, First: e.TS}
			custs[e.CustomerID] = c
		}
		c.Frequency++
		if e.TS.After(c.Last) {
			c.Last = e.TS
		}
	}
	pts := make([]Point, len(evs))
	var latest attune.Event
	for i, e := range evs {
		pts[i] = Point{Doc: analysedDoc(e), Vec: vecs[i], Customer: *custs[e.CustomerID]}
		if e.TS.After(latest.TS) {
			latest = e
		}
	}
	m, err := Fit(context.Background(), pts, Config{Seed: 1, KMax: 8}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Scaler.AsOf.Equal(latest.TS) {
		t.Errorf("AsOf %v, want the latest tweet time %v", m.Scaler.AsOf, latest.TS)
	}
	var names []string
	for _, f := range m.Scaler.Behavior {
		names = append(names, f.Name)
	}
	// Tweets have times and several per user, but no rating, order value or
	// (no attribute configured) engagement.
	if want := []string{FeatureRecency, FeatureFrequency}; fmt.Sprint(names) != fmt.Sprint(want) {
		t.Errorf("behavioral features %v, want %v", names, want)
	}
	if got := m.Assign(pts[0]); got.ID == "" || got.Name == "" {
		t.Errorf("Assign = %+v", got)
	}
	// A point whose customer is unknown takes the population mean: it must
	// still be assignable.
	anon := pts[0]
	anon.Customer = attune.Customer{}
	if got := m.Assign(anon); got.ID == "" {
		t.Error("point without customer features was not assigned")
	}
	t.Logf("k=%d: %v", m.K(), segmentNames(m))

	// Parallel work is split in fixed chunks, so one core gives the very
	// same model as two.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	one, err := Fit(context.Background(), pts, Config{Seed: 1, KMax: 8}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(one.Centroids, m.Centroids) || !reflect.DeepEqual(one.KScores, m.KScores) {
		t.Error("GOMAXPROCS=1 gave another model")
	}
}

// TestLineageAndRename re-clusters five banking77 intents after merging two
// of them into one segment's worth of data (k 5 → 4), and checks that the
// lineage says so and that a user's name survives a re-cluster.
func TestLineageAndRename(t *testing.T) {
	pts, _ := textPoints(banking77(t, "test", fiveIntents...))
	ctx := context.Background()
	first, err := Fit(ctx, pts, Config{K: 5, Seed: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range first.Lineage {
		if l.Kind != LineageNew || len(l.From) != 0 {
			t.Errorf("first fit: lineage %+v, want new", l)
		}
	}
	big := first.Clusters[0]
	if err := first.Rename(big.ID, "card-questions"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct{ id, name string }{
		{big.ID, ""}, {big.ID, "a\x00b"}, {"seg-none", "x"}, {first.Clusters[1].ID, "card-questions"},
	} {
		if err := first.Rename(bad.id, bad.name); err == nil {
			t.Errorf("Rename(%q, %q) accepted", bad.id, bad.name)
		}
	}

	t.Run("same data keeps the user name", func(t *testing.T) {
		again, err := Fit(ctx, pts, Config{K: 5, Seed: 1}, first)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(again.Clusters, func(s attune.Segment) bool { return s.ID == big.ID })
		if i < 0 || again.Clusters[i].Name != "card-questions" || !again.UserNamed[big.ID] {
			t.Fatalf("renamed segment %s lost its name: %v", big.ID, segmentNames(again))
		}
		for _, l := range again.Lineage {
			if l.Kind != LineageKept || len(l.From) != 1 || l.From[0].ID != l.ID {
				t.Errorf("unchanged data: lineage %+v, want kept from itself", l)
			}
		}
	})

	t.Run("fewer segments merge", func(t *testing.T) {
		fewer, err := Fit(ctx, pts, Config{K: 4, Seed: 1}, first)
		if err != nil {
			t.Fatal(err)
		}
		merged := 0
		for _, l := range fewer.Lineage {
			t.Logf("%+v", l)
			if l.Kind == LineageMerge {
				merged++
				if len(l.From) < 2 {
					t.Errorf("merge %s lists %d sources", l.ID, len(l.From))
				}
			}
		}
		if merged == 0 {
			t.Error("k 5 → 4 on the same data reported no merge")
		}
	})
}
