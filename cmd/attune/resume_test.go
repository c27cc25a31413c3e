package main

import (
	"context"
	"testing"
	"time"

	"github.com/attune-cx/attune/cluster"
	"github.com/attune-cx/attune/index"
	"github.com/attune-cx/attune/ingest"
)

// TestRestartResumesSegmentWork: what a worker owed its segments survives a
// restart (real Ollama, NATS, Bleve; the worker in process, stopped between
// runs as a crash would leave it).
//   - The count of events since the last fit persists: events stored before
//     the restart count toward cluster.recluster_every after it.
//   - A re-cluster that stored its model but stopped before re-labelling
//     the index (a kill after SaveModel) is finished at the next start:
//     every index document then carries the stored model's segment.
func TestRestartResumesSegmentWork(t *testing.T) {
	cfg := testConfig(t)
	requireOllama(t, cfg)
	recs := tweetRecords(t, 360)
	run := func(every string, fn func(ctx context.Context, a *app, rw *runningWorker)) {
		t.Helper()
		if err := setKeyString(cfg, "cluster.recluster_every="+every); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		a := newApp(cfg, testLogger(t))
		rw, err := a.startWorker(ctx, true)
		if err != nil {
			cancel()
			a.Close()
			t.Fatal(err)
		}
		fn(ctx, a, rw)
		cancel()
		a.Close()
	}
	drain := func(ctx context.Context, a *app, rw *runningWorker, n int64) {
		t.Helper()
		cons, err := a.js.Consumer(ctx, cfg.NATS.Stream, cfg.NATS.Consumer)
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the stream to drain", 5*time.Minute, func() bool {
			p, err := ingest.Pending(ctx, cons)
			return err == nil && p == 0 && rw.w.Stats().Indexed.Load() >= n
		})
	}
	storedModel := func() *cluster.Model {
		t.Helper()
		st, err := cluster.OpenStore(cfg.storePath(), cluster.WithMonetary(cfg.Cluster.MonetaryAttr), cluster.WithEngagement(cfg.Cluster.EngagementAttrs...))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		m, err := st.LoadModel()
		if err != nil || m == nil {
			t.Fatalf("stored model %v, %v", m, err)
		}
		return m
	}

	// Run 1: 200 events, a re-cluster, 160 more; no automatic re-cluster.
	var fitted time.Time
	run("0", func(ctx context.Context, a *app, rw *runningWorker) {
		publishAll(t, a, recs[:200])
		drain(ctx, a, rw, 200)
		if _, err := rw.p.Recluster(ctx); err != nil {
			t.Fatal(err)
		}
		publishAll(t, a, recs[200:])
		drain(ctx, a, rw, 160)
	})
	fitted = storedModel().FittedAt

	// Run 2: re-cluster every 150 events. The 160 from before the restart
	// are due: the worker re-clusters without a new event.
	run("150", func(ctx context.Context, a *app, rw *runningWorker) {
		waitFor(t, "the automatic re-cluster the stored events are owed", 90*time.Second, func() bool {
			rw.p.mu.Lock()
			defer rw.p.mu.Unlock()
			return rw.p.model != nil && !rw.p.model.FittedAt.Equal(fitted) && rw.p.since == 0
		})
	})
	if m := storedModel(); m.FittedAt.Equal(fitted) {
		t.Fatal("the restarted worker did not re-cluster for the events stored before the restart")
	}

	// A kill after SaveModel: a new model (more segments) is stored, the
	// index still holds the old one's ids.
	st, err := cluster.OpenStore(cfg.storePath(), cluster.WithMonetary(cfg.Cluster.MonetaryAttr), cluster.WithEngagement(cfg.Cluster.EngagementAttrs...))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	prev, err := st.LoadModel()
	if err != nil {
		t.Fatal(err)
	}
	pts, err := st.Points(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ccfg := newApp(cfg, testLogger(t)).clusterConfig()
	ccfg.K = prev.K() + 3
	next, err := cluster.Fit(ctx, pts, ccfg, prev)
	if err == nil {
		err = st.SaveModel(next)
	}
	want := map[string]string{}
	for _, p := range pts {
		want[p.Doc.Event.ID] = next.Assign(p).ID
	}
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}

	// Run 3: the start finishes the re-labelling.
	run("0", func(context.Context, *app, *runningWorker) {})
	ix, err := index.Open(cfg.indexDir())
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	got := map[string]string{}
	for _, s := range next.Segments() {
		res, err := ix.Search(ctx, index.Query{Segment: s.ID, Limit: index.MaxLimit})
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range res.Hits {
			got[h.ID] = h.SegmentID
		}
	}
	bad := 0
	for id, seg := range want {
		if got[id] != seg {
			bad++
		}
	}
	if bad > 0 || len(want) != len(recs) {
		t.Errorf("%d of %d index documents do not carry the stored model's segment after the restart", bad, len(want))
	}
}
