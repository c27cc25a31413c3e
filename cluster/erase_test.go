package cluster

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/attune-cx/attune"
)

// TestEraseCustomer fits a model on real tweets, erases the customer quoted
// first among the exemplars, and checks that the store keeps nothing of
// theirs and everything of everyone else.
func TestEraseCustomer(t *testing.T) {
	evs := rawTweets(t)[:1500]
	// Drop duplicate rows: the store keeps one per id.
	seen := map[string]bool{}
	evs = slices.DeleteFunc(evs, func(e attune.Event) bool {
		dup := seen[e.ID]
		seen[e.ID] = true
		return dup
	})
	vecs := vectorsFor(evs)
	s := openStore(t, filepath.Join(t.TempDir(), "store.db"), WithEngagement("retweet_count"))
	docs := make([]attune.Doc, len(evs))
	for i, e := range evs {
		docs[i] = analysedDoc(e)
	}
	if _, err := s.Put(docs, vecs); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pts, err := s.Points(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Fit(ctx, pts, Config{K: 6, Seed: 1}.WithDefaults(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SaveModel(m); err != nil {
		t.Fatal(err)
	}
	victim, quote := "", m.Clusters[0].Exemplars[0]
	for _, d := range docs {
		if d.Analysis.Clean == quote {
			victim = d.Event.CustomerID
		}
	}
	if victim == "" {
		t.Fatalf("exemplar %q is no stored text", quote)
	}
	mine, err := s.CustomerDocs(victim)
	if err != nil || len(mine) == 0 {
		t.Fatalf("CustomerDocs(%s): %d, %v", victim, len(mine), err)
	}
	if _, err := s.Move([]Membership{{Customer: victim, Segment: m.Clusters[0].ID}}); err != nil {
		t.Fatal(err)
	}
	before, _ := s.Len()

	er, err := s.EraseCustomer(victim)
	if err != nil {
		t.Fatal(err)
	}
	if len(er.Docs) != len(mine) || er.Model == nil {
		t.Fatalf("erased %d docs (want %d), model changed %v", len(er.Docs), len(mine), er.Model != nil)
	}
	if after, _ := s.Len(); after != before-len(mine) {
		t.Errorf("store holds %d events, want %d", after, before-len(mine))
	}
	if d, _ := s.CustomerDocs(victim); len(d) != 0 {
		t.Errorf("%d events left", len(d))
	}
	if _, ok, _ := s.Customer(victim); ok {
		t.Error("customer features left")
	}
	if seg, _ := s.Segment(victim); seg != "" {
		t.Errorf("membership left: %s", seg)
	}
	for _, d := range mine {
		if v, _ := s.Vector(d.Event.ID); v != nil {
			t.Errorf("vector of %s left", d.Event.ID)
		}
	}
	stored, err := s.LoadModel()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range stored.Clusters {
		if slices.Contains(c.Exemplars, quote) {
			t.Errorf("segment %s still quotes the customer", c.ID)
		}
	}
	// Everyone else is untouched: Points still loads every other event with
	// its vector and customer.
	rest, err := s.Points(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rest) != len(pts)-len(mine) {
		t.Errorf("%d points left, want %d", len(rest), len(pts)-len(mine))
	}
	for _, p := range rest {
		if p.Doc.Event.CustomerID == victim || len(p.Vec) == 0 || p.Customer.Frequency == 0 {
			t.Fatalf("point %s: customer %s, %d dims, frequency %v", p.Doc.Event.ID, p.Doc.Event.CustomerID, len(p.Vec), p.Customer.Frequency)
		}
	}
	// Idempotent.
	again, err := s.EraseCustomer(victim)
	if err != nil || len(again.Docs) != 0 || again.Model != nil {
		t.Errorf("second erasure: %+v, %v", again, err)
	}
}
