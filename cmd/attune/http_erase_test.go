package main

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
)

// TestAPIErase erases a customer whose text is a segment exemplar and checks
// that nothing of theirs is left in the store, the model or the index, and
// that nothing else was touched.
func TestAPIErase(t *testing.T) {
	const n = 300
	f := newAPIFixture(t, n, "http.token=tok")
	ctx := context.Background()
	m, err := f.a.store.LoadModel()
	if err != nil {
		t.Fatal(err)
	}
	// The customer quoted first among the exemplars.
	var victim string
	var quote string
	for _, c := range m.Clusters {
		for _, ex := range c.Exemplars {
			for _, d := range f.docs {
				if victim == "" && d.Analysis.Clean == ex {
					victim, quote = d.Event.CustomerID, ex
				}
			}
		}
	}
	if victim == "" {
		t.Fatal("no exemplar belongs to a stored event")
	}
	var ids []string
	for _, d := range f.docs {
		if d.Event.CustomerID == victim {
			ids = append(ids, d.Event.ID)
		}
	}
	var before customerView
	f.getJSON(t, "/api/customers/"+victim, &before)
	if len(before.Events) != len(ids) || before.Events[0].Why == nil {
		t.Fatalf("customer view before: %d events (want %d), why %v", len(before.Events), len(ids), before.Events[0].Why)
	}

	code, _, b := f.do(t, "DELETE", "/api/customers/"+victim, "tok", "")
	if code != 200 {
		t.Fatalf("erase: %d %s", code, b)
	}
	var er erasure
	if err := json.Unmarshal(b, &er); err != nil {
		t.Fatal(err)
	}
	if !er.Found || er.Events != len(ids) || er.IndexDocs != len(ids) || !er.ExemplarsRemoved {
		t.Errorf("erasure reply %+v, want %d events and index docs, exemplars removed", er, len(ids))
	}

	// Store: events, vectors, features gone; everyone else's kept.
	if docs, err := f.a.store.CustomerDocs(victim); err != nil || len(docs) != 0 {
		t.Errorf("store still holds %d events of the customer (%v)", len(docs), err)
	}
	if _, ok, err := f.a.store.Customer(victim); ok || err != nil {
		t.Errorf("store still holds the customer's features (%v)", err)
	}
	for _, id := range ids {
		if v, err := f.a.store.Vector(id); v != nil || err != nil {
			t.Errorf("store still holds the vector of %s (%v)", id, err)
		}
	}
	if l, err := f.a.store.Len(); err != nil || l != n-len(ids) {
		t.Errorf("store holds %d events, want %d (%v)", l, n-len(ids), err)
	}
	// Model exemplars, in the store and in the index.
	m, err = f.a.store.LoadModel()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range m.Clusters {
		if slices.Contains(c.Exemplars, quote) {
			t.Errorf("stored model still quotes the customer in %s", c.ID)
		}
	}
	segs, err := f.a.ix.Segments(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range segs {
		if slices.Contains(s.Exemplars, quote) {
			t.Errorf("index segment %s still quotes the customer", s.ID)
		}
	}
	var list segmentsResponse
	f.getJSON(t, "/api/segments", &list)
	for _, s := range list.Segments {
		if slices.Contains(s.Exemplars, quote) {
			t.Errorf("API segment %s still quotes the customer", s.ID)
		}
	}
	// Index documents.
	has, err := f.a.ix.Has(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if has[id] {
			t.Errorf("index still holds event %s", id)
		}
	}
	if cnt, err := f.a.ix.CountEvents(ctx); err != nil || cnt != uint64(n-len(ids)) {
		t.Errorf("index holds %d events, want %d (%v)", cnt, n-len(ids), err)
	}
	var res searchResponse
	f.getJSON(t, "/api/search?customer="+victim, &res)
	if res.Total != 0 {
		t.Errorf("search by customer still finds %d events", res.Total)
	}
	code, _, b = f.do(t, "GET", "/api/customers/"+victim, "", "")
	wantError(t, "customer view after erasure", code, b, 404, "not_found")

	// Erasure is idempotent.
	code, _, b = f.do(t, "DELETE", "/api/customers/"+victim, "tok", "")
	var again erasure
	if err := json.Unmarshal(b, &again); err != nil || code != 200 || again.Found || again.Events != 0 {
		t.Errorf("second erasure: %d %s", code, b)
	}
}
