package main

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/blevesearch/bleve/v2"

	"github.com/attune-cx/attune"
	"github.com/attune-cx/attune/cluster"
	"github.com/attune-cx/attune/index"
)

// TestReindexOldMapping fills a real segment store with analysed airline
// tweets and a fitted segment model, puts an index of an older mapping
// version where the index belongs, and checks that reindex replaces it with
// one that holds every stored event in its model segment and the segment set.
func TestReindexOldMapping(t *testing.T) {
	cfg := testConfig(t)
	log := testLogger(t)
	ctx := context.Background()

	a := newApp(cfg, log)
	if err := a.openStores(); err != nil {
		t.Fatal(err)
	}
	var docs []attune.Doc
	var vecs []attune.Vector
	for _, r := range tweetRecords(t, 400) {
		ev, err := attune.DecodeEvent(r.Payload, 0)
		if err != nil {
			t.Fatal(err)
		}
		d := attune.Doc{Event: ev, Analysis: a.nlp.Analyze(ev.Text)}
		docs = append(docs, d)
		vecs = append(vecs, hashVec(d.Analysis.Stems))
	}
	if _, err := a.store.Put(docs, vecs); err != nil {
		t.Fatal(err)
	}
	pts, err := a.store.Points(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m, err := cluster.Fit(ctx, pts, a.clusterConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.store.SaveModel(m); err != nil {
		t.Fatal(err)
	}
	wantSeg := map[string]string{}
	perSeg := map[string]uint64{}
	for _, p := range pts {
		s := m.Assign(p)
		wantSeg[p.Doc.Event.ID] = s.ID
		perSeg[s.ID]++
	}
	a.Close()

	// An index written by an older Attune: another mapping version.
	if err := os.RemoveAll(cfg.indexDir()); err != nil {
		t.Fatal(err)
	}
	old, err := bleve.New(cfg.indexDir(), bleve.NewIndexMapping())
	if err != nil {
		t.Fatal(err)
	}
	if err := old.SetInternal([]byte("attune.mapping_version"), []byte("2")); err != nil {
		t.Fatal(err)
	}
	if err := old.Index("stale", map[string]any{"text": "from the old index"}); err != nil {
		t.Fatal(err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := index.Open(cfg.indexDir()); !errors.Is(err, index.ErrMappingVersion) {
		t.Fatalf("Open of the old index: %v, want ErrMappingVersion", err)
	}

	res, err := rebuildIndex(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	if res.Events != len(docs) || res.Segments != len(m.Segments()) || res.Bytes <= 0 {
		t.Errorf("result %+v, want %d events and %d segments", res, len(docs), len(m.Segments()))
	}
	for _, leftover := range []string{cfg.indexDir() + ".rebuild", cfg.indexDir() + ".old"} {
		if _, err := os.Stat(leftover); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left behind: %v", leftover, err)
		}
	}

	ix, err := index.Open(cfg.indexDir())
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	st, err := ix.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Events != uint64(len(docs)) || st.Segments != uint64(len(m.Segments())) {
		t.Errorf("stats %+v, want %d events, %d segments", st, len(docs), len(m.Segments()))
	}
	if has, _ := ix.Has(ctx, []string{"stale"}); has["stale"] {
		t.Error("a document of the old index survived")
	}
	// Every event is in the segment the model assigns it.
	res2, err := ix.Search(ctx, index.Query{Facets: []string{index.FacetSegment}, FacetSize: index.MaxFacetSize})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]uint64{}
	for _, b := range res2.Facets[index.FacetSegment].Buckets {
		got[b.Value] = uint64(b.Count)
	}
	if len(got) != len(perSeg) {
		t.Errorf("segment facet %v, want %v", got, perSeg)
	}
	for id, n := range perSeg {
		if got[id] != n {
			t.Errorf("segment %s: %d events indexed, model assigns %d", id, got[id], n)
		}
	}
	for _, d := range docs[:20] {
		hits, err := ix.Search(ctx, index.Query{Customer: d.Event.CustomerID, Limit: index.MaxLimit})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, h := range hits.Hits {
			if h.ID == d.Event.ID {
				found = true
				if h.SegmentID != wantSeg[h.ID] || h.Text != d.Event.Text {
					t.Errorf("event %s: segment %s text %q, want %s %q", h.ID, h.SegmentID, h.Text, wantSeg[h.ID], d.Event.Text)
				}
			}
		}
		if !found {
			t.Errorf("event %s not found by its customer", d.Event.ID)
		}
	}
}

// TestReindexRefusesWhileStoreInUse: with a worker (here: an app) holding
// the segment store, reindex fails at once and leaves the index alone.
func TestReindexRefusesWhileStoreInUse(t *testing.T) {
	cfg := testConfig(t)
	a := newApp(cfg, testLogger(t))
	defer a.Close()
	if err := a.openStores(); err != nil {
		t.Fatal(err)
	}
	if _, err := rebuildIndex(context.Background(), cfg, testLogger(t)); err == nil {
		t.Fatal("reindex succeeded while the store was open")
	}
	if _, err := os.Stat(cfg.indexDir() + ".rebuild"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("rebuild dir created: %v", err)
	}
}
