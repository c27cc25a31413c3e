package main

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/attune-cx/attune"
	"github.com/attune-cx/attune/embed"
	"github.com/attune-cx/attune/embed/wordvec"
	"github.com/attune-cx/attune/ingest"
)

// TestLiveModelSwitch runs a worker on a real Ollama with one small model,
// switches it to another of a different dimension through the "model"
// control verb while more events are being published, and checks that
// every event is indexed once and every stored vector is the new model's
// vector of its text: nothing is lost and no old-space vector remains.
func TestLiveModelSwitch(t *testing.T) {
	cfg := testConfig(t)
	requireOllama(t, cfg)
	log := testLogger(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// The worker finds this server at its configured address.
	srv, err := embed.EnsureServer(ctx, embed.ServerConfig{
		Host: cfg.Ollama.Host, Manage: true, Binary: cfg.Ollama.Binary,
		CacheDir: cfg.cacheDir(), ModelsDir: t.TempDir(), Version: cfg.Ollama.Version, Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	texts, err := wordvec.Corpus(datasets)
	if err != nil {
		t.Fatal(err)
	}
	models := map[string]*wordvec.Model{}
	for name, dim := range map[string]int{"attune-switch-a": 24, "attune-switch-b": 40} {
		m, err := wordvec.Train(ctx, texts[:20000], wordvec.Options{Dim: dim, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), name+".gguf")
		if err := writeFileAtomic(path, m.WriteGGUF); err != nil {
			t.Fatal(err)
		}
		c, err := embed.NewClient(srv.Host(), name)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.CreateFromGGUF(ctx, name, path); err != nil {
			t.Fatal(err)
		}
		models[name] = m
	}
	cfg.Embed.Model = "attune-switch-a"

	a := newApp(cfg, log)
	defer a.Close()
	defer cancel() // before Close, which waits for the worker's loops
	rw, err := a.startWorker(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	recs := tweetRecords(t, 500)
	publishAll(t, a, recs[:300])
	waitFor(t, "300 events indexed", 3*time.Minute, func() bool { return rw.w.Stats().Indexed.Load() >= 300 })
	if _, err := rw.p.Recluster(ctx); err != nil {
		t.Fatal(err)
	}

	// Switch while the last 200 events arrive.
	published := make(chan struct{})
	go func() {
		defer close(published)
		publishAll(t, a, recs[300:])
	}()
	var rep modelSwitchReply
	if err := ingest.Control(ctx, a.nc, "model", modelSwitchRequest{Model: "attune-switch-b"}, &rep); err != nil {
		t.Fatalf("model switch: %v", err)
	}
	<-published
	t.Logf("switch: %+v", rep)
	b := models["attune-switch-b"]
	if rep.Was.Model != "attune-switch-a" || rep.Now.Model != "attune-switch-b" || rep.Now.Dim != b.ServedDim() || rep.Reembedded < 300 || rep.Segments == 0 {
		t.Errorf("reply %+v: want a→b, dim %d, ≥300 re-embedded, segments", rep, b.ServedDim())
	}
	waitFor(t, "500 events indexed", 3*time.Minute, func() bool { return rw.w.Stats().Indexed.Load() >= 500 })
	cons, err := a.js.Consumer(ctx, cfg.NATS.Stream, cfg.NATS.Consumer)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the stream to drain", 3*time.Minute, func() bool {
		n, err := ingest.Pending(ctx, cons)
		return err == nil && n == 0
	})

	if n, err := a.ix.CountEvents(ctx); err != nil || n != 500 {
		t.Errorf("index holds %d events (%v), want 500", n, err)
	}
	stored, worst := 0, 0.0
	err = a.store.Each(func(doc attune.Doc, vec attune.Vector) error {
		stored++
		want := b.Embed(doc.Analysis.Clean)
		if len(vec) != len(want) {
			t.Errorf("event %s: stored vector of dimension %d, want the new model's %d", doc.Event.ID, len(vec), len(want))
			return nil
		}
		for j := range vec {
			worst = max(worst, math.Abs(float64(vec[j]-want[j])))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if stored != 500 || worst > 1e-5 {
		t.Errorf("%d stored events; largest difference from the new model's vectors %.2g", stored, worst)
	}
	var space embed.Space
	if b, err := os.ReadFile(filepath.Join(cfg.DataDir, embedSpaceFile)); err != nil || json.Unmarshal(b, &space) != nil || space != rep.Now {
		t.Errorf("recorded space %+v (%v), want %+v", space, err, rep.Now)
	}
	if segs := rw.p.Segments(); len(segs) == 0 {
		t.Error("no segments after the switch")
	}
	// A switch to a model the server lacks fails and changes nothing.
	if err := ingest.Control(ctx, a.nc, "model", modelSwitchRequest{Model: "attune-no-such-model"}, &rep); err == nil {
		t.Error("switch to a missing model succeeded")
	}
}
