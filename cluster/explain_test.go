package cluster

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/attune-cx/attune"
)

// TestProfilesAndExplain fits five banking77 intents with one event
// attribute (the text's word count) fused in, then checks that profiles and
// explanations agree with the members they describe.
func TestProfilesAndExplain(t *testing.T) {
	pts, _ := textPoints(banking77(t, "test", fiveIntents...))
	words := make([]float64, len(pts))
	for i := range pts {
		words[i] = float64(len(strings.Fields(pts[i].Doc.Event.Text)))
		pts[i].Doc.Event.Attrs = map[string]any{"words": words[i]}
		// An aspect derived from the text itself, so aspect profiles have
		// real input.
		if strings.Contains(strings.ToLower(pts[i].Doc.Event.Text), "card") {
			pts[i].Doc.Analysis.Aspects = []attune.AspectSentiment{{Aspect: "card"}}
		}
	}
	m, err := Fit(context.Background(), pts, Config{K: 5, Seed: 1, Attributes: []string{"words"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	labels := assignAll(m, pts)
	profiles := m.Profiles(pts)
	if len(profiles) != m.K() {
		t.Fatalf("%d profiles for %d segments", len(profiles), m.K())
	}
	var share float64
	for _, p := range profiles {
		share += p.Share
		var sum, n, card float64
		for i, l := range labels {
			if l == p.ID {
				sum += words[i]
				n++
				if len(pts[i].Doc.Analysis.Aspects) > 0 {
					card++
				}
			}
		}
		if int(n) != p.Size {
			t.Errorf("%s: size %d, %v members assigned", p.ID, p.Size, n)
		}
		i := slices.IndexFunc(p.Behavior, func(f FeatureProfile) bool { return f.Name == AttrPrefix+"words" })
		if i < 0 {
			t.Fatalf("%s: no words feature in %+v", p.ID, p.Behavior)
		}
		if got, want := p.Behavior[i].Mean, sum/n; math.Abs(got-want) > 1e-6 {
			t.Errorf("%s: profile says %.4f words on average, members have %.4f", p.ID, got, want)
		}
		if card > 0 {
			if len(p.Aspects) == 0 || math.Abs(p.Aspects[0].Share-card/n) > 1e-9 {
				t.Errorf("%s: card aspect share %+v, members %.3f", p.ID, p.Aspects, card/n)
			}
		}
	}
	if math.Abs(share-1) > 1e-9 {
		t.Errorf("shares add up to %v", share)
	}

	explainedTerms := 0
	for i, p := range pts {
		why, err := m.Explain(p)
		if err != nil {
			t.Fatal(err)
		}
		if why.SegmentID != labels[i] || why.RunnerUpID == "" || why.RunnerUpID == why.SegmentID {
			t.Fatalf("event %d: explained as %s (runner-up %s), assigned %s", i, why.SegmentID, why.RunnerUpID, labels[i])
		}
		var pull float64
		for _, pl := range why.Pull {
			pull += pl.Pull
		}
		if want := why.RunnerUpDistance*why.RunnerUpDistance - why.Distance*why.Distance; math.Abs(pull-want) > 1e-9 {
			t.Fatalf("event %d: pulls add to %v, want %v", i, pull, want)
		}
		seg := m.Clusters[slices.IndexFunc(m.Clusters, func(s attune.Segment) bool { return s.ID == why.SegmentID })]
		for _, term := range why.Terms {
			if !slices.Contains(seg.TopTerms, term) {
				t.Fatalf("event %d: term %q is not a top term of %s", i, term, seg.ID)
			}
		}
		if len(why.Terms) > 0 {
			explainedTerms++
		}
	}
	if explainedTerms < len(pts)/2 {
		t.Errorf("only %d of %d events share a top term with their segment", explainedTerms, len(pts))
	}
}
