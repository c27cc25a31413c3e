package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/attune-cx/attune"
	"github.com/attune-cx/attune/cluster"
	"github.com/attune-cx/attune/index"
	"github.com/attune-cx/attune/ingest"
)

// TestSharedSegmentsAcrossThreeWorkers runs three `attune worker` processes
// with cluster.shared on one NATS server (real Ollama, real Bleve shards) and
// publishes real events. Then:
//   - every event is indexed exactly once over the three shards, and every
//     worker's store holds every event (the points are shared);
//   - a re-cluster asked of any worker is done by the lease holder, and
//     every worker applies the same model revision;
//   - a search on one worker counts and facets every shard;
//   - the lease holder is killed: another worker takes the lease and
//     re-clusters; the killed worker, restarted, loads the newer model from
//     KV and re-labels its shard;
//   - finally every worker's model is the same, assigns every event to the
//     same segment over its own store, and every index document carries that
//     segment.
func TestSharedSegmentsAcrossThreeWorkers(t *testing.T) {
	o := soakTestOpts(t)
	const ttl = 3 * time.Second
	o.Args = []string{"--set", "cluster.shared=true", "--set", "cluster.shared_lease=" + ttl.String(), "--set", "http.token=tok"}
	ctx := context.Background()
	recs, ids, e := soakFixture(ctx, t, o, "shared", 1500)
	defer func() { _ = e.ollama.Stop() }()
	defer e.Close()

	var ws []*soakWorker
	var dirs []string
	defer func() {
		for _, w := range ws {
			w.kill()
			if t.Failed() {
				b, _ := os.ReadFile(w.log)
				t.Logf("%s:\n%s", w.log, tailLines(b, 25))
			}
		}
	}()
	for i := 0; i < 3; i++ {
		dir := filepath.Join(o.Dir, "shared", fmt.Sprintf("worker-%d", i))
		w, err := e.start(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		ws, dirs = append(ws, w), append(dirs, dir)
	}
	if _, err := e.publish(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if err := e.drained(ctx, o.Timeout, 0, ws...); err != nil {
		t.Fatal(err)
	}
	// The same events again under new message ids, as a crash after
	// indexing and before the ack would redeliver them: a worker other
	// than the first may index each; one shard must keep it.
	again := make([]ingest.Record, 60)
	for i := range again {
		again[i] = recs[i*len(recs)/len(again)]
		again[i].ID += "#again"
	}
	if _, err := e.publish(ctx, again); err != nil {
		t.Fatal(err)
	}
	if err := e.drained(ctx, o.Timeout, 0, ws...); err != nil {
		t.Fatal(err)
	}
	points, err := e.js.Stream(ctx, ingest.PointsStream)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every event's point in ATTUNE_POINTS", time.Minute, func() bool {
		info, err := points.Info(ctx)
		return err == nil && info.State.Msgs == uint64(len(recs))
	})
	workersKV, err := e.js.KeyValue(ctx, ingest.WorkersBucket)
	if err != nil {
		t.Fatal(err)
	}
	modelKV, err := e.js.KeyValue(ctx, ingest.ModelBucket)
	if err != nil {
		t.Fatal(err)
	}
	leaseKV, err := e.js.KeyValue(ctx, ingest.LeaseBucket)
	if err != nil {
		t.Fatal(err)
	}
	// allAt waits until n live workers report model revision rev applied
	// and every point replayed.
	allAt := func(what string, n int, rev uint64) []workerBeat {
		var beats []workerBeat
		waitFor(t, what, 3*time.Minute, func() bool {
			info, err := points.Info(ctx)
			if err != nil {
				return false
			}
			beats, err = liveWorkers(ctx, workersKV)
			if err != nil || len(beats) != n {
				return false
			}
			for _, b := range beats {
				if b.ModelRev != rev || b.PointsSeq < info.State.LastSeq {
					return false
				}
			}
			return true
		})
		return beats
	}
	modelRev := func() uint64 {
		en, err := modelKV.Get(ctx, ingest.ModelKey)
		if err != nil {
			t.Fatalf("shared model: %v", err)
		}
		return en.Revision()
	}

	// 1. A re-cluster asked of whichever worker answers.
	var segs []attune.Segment
	if err := e.control(ctx, "recluster", &segs); err != nil {
		t.Fatal(err)
	}
	if len(segs) < 2 {
		t.Fatalf("re-cluster made %d segments", len(segs))
	}
	rev1 := modelRev()
	if en, err := modelKV.Get(ctx, ingest.ModelKey); err == nil {
		t.Logf("first re-cluster: %d segments, model revision %d, %d bytes in KV", len(segs), rev1, len(en.Value()))
	}
	beats := allAt("every worker to apply the first shared model", 3, rev1)
	leaders := 0
	for _, b := range beats {
		if b.Leader {
			leaders++
		}
	}
	if leaders != 1 {
		t.Errorf("%d workers report holding the lease, want 1: %+v", leaders, beats)
	}

	// 2. A search on one worker covers every shard.
	var all index.Result
	if err := ingest.Control(ctx, e.nc, "search", index.Query{Limit: 50, Facets: []string{index.FacetSegment, index.FacetSentiment}}, &all); err != nil {
		t.Fatal(err)
	}
	if all.Total != uint64(len(recs)) {
		t.Errorf("fanned-out search counts %d events, want %d", all.Total, len(recs))
	}
	facetSum := 0
	for _, b := range all.Facets[index.FacetSentiment].Buckets {
		facetSum += b.Count
	}
	if facetSum+all.Facets[index.FacetSentiment].Missing != len(recs) {
		t.Errorf("sentiment facet counts %d events, want %d", facetSum, len(recs))
	}
	segSum := all.Facets[index.FacetSegment].Other + all.Facets[index.FacetSegment].Missing
	for _, b := range all.Facets[index.FacetSegment].Buckets {
		segSum += b.Count
	}
	if segSum != len(recs) {
		t.Errorf("segment facet counts %d events, want %d", segSum, len(recs))
	}
	t.Logf("fanned-out search: %d events, %d segment buckets", all.Total, len(all.Facets[index.FacetSegment].Buckets))

	// 3. Kill the lease holder; another takes over and re-clusters.
	holder, err := ingest.Holder(ctx, leaseKV, ingest.LeaseKey)
	if err != nil || holder == "" {
		t.Fatalf("lease holder %q, %v", holder, err)
	}
	victim := -1
	for _, b := range beats {
		if b.ID == holder {
			for i, w := range ws {
				if w.cmd.Process.Pid == b.PID {
					victim = i
				}
			}
		}
	}
	if victim < 0 {
		t.Fatalf("no worker process holds the lease (holder %s, beats %+v)", holder, beats)
	}
	ws[victim].kill()
	waitFor(t, "another worker to take the lease", 10*ttl, func() bool {
		h, err := ingest.Holder(ctx, leaseKV, ingest.LeaseKey)
		return err == nil && h != "" && h != holder
	})
	var segs2 []attune.Segment
	waitFor(t, "a re-cluster by the new lease holder", 2*time.Minute, func() bool {
		err := e.control(ctx, "recluster", &segs2)
		if err != nil {
			t.Logf("re-cluster after failover: %v", err)
		}
		return err == nil
	})
	rev2 := modelRev()
	t.Logf("lease moved from %s after kill -9; re-cluster gave %d segments, model revision %d", holder, len(segs2), rev2)
	if rev2 <= rev1 {
		t.Fatalf("model revision %d after failover, was %d", rev2, rev1)
	}
	allAt("the two survivors to apply the new model", 2, rev2)
	// The killed worker starts again: it loads the model from KV.
	w, err := e.start(ctx, dirs[victim])
	if err != nil {
		t.Fatal(err)
	}
	ws[victim] = w
	beats = allAt("the restarted worker to load the newest model", 3, rev2)

	// 4. Erasure on one worker reaches every store, shard and the points,
	// also those of a worker stopped meanwhile, when it starts again.
	victimCustomer, victimIDs := busiestCustomer(t, recs)
	away := -1
	for i, w := range ws {
		if w.cmd.Process.Pid != beats[0].PID {
			away = i
		}
	}
	if err := ws[away].term(time.Minute); err != nil {
		t.Fatalf("stop worker %d: %v", away, err)
	}
	allAt("the stopped worker's heartbeat to go", 2, rev2)
	req, err := http.NewRequest(http.MethodDelete, "http://"+beats[0].HTTP+"/api/customers/"+url.PathEscape(victimCustomer), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer tok")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var er erasure
	err = json.NewDecoder(resp.Body).Decode(&er)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("erase %s: %d %+v %v", victimCustomer, resp.StatusCode, er, err)
	}
	t.Logf("erased customer %s (%d events): %+v", victimCustomer, len(victimIDs), er)
	if er.Events != len(victimIDs) || er.IndexDocs > len(victimIDs) {
		t.Errorf("erasure removed %d stored events and %d index documents, want %d and at most %d", er.Events, er.IndexDocs, len(victimIDs), len(victimIDs))
	}
	for _, id := range victimIDs {
		if _, err := points.GetLastMsgForSubject(ctx, ingest.PointSubject(id)); err == nil {
			t.Errorf("the point of erased event %s is still in %s", id, ingest.PointsStream)
		}
	}
	erased := map[string]bool{}
	for _, id := range victimIDs {
		erased[id] = true
	}
	ids = slices.DeleteFunc(ids, func(id string) bool { return erased[id] })
	if ws[away], err = e.start(ctx, dirs[away]); err != nil {
		t.Fatal(err)
	}
	allAt("the worker stopped during the erasure to rejoin", 3, rev2)

	// A ranked search on one worker, compared below with each shard's own
	// once the workers stopped (nothing changes the shards in between).
	textQ := index.Query{Text: "bag lost", Limit: 20, Facets: []string{index.FacetLabel}}
	var text index.Result
	if err := ingest.Control(ctx, e.nc, "search", textQ, &text); err != nil {
		t.Fatal(err)
	}
	for _, w := range ws {
		if err := w.term(time.Minute); err != nil {
			t.Errorf("graceful stop: %v", err)
		}
	}

	// 5. Exactly once over the shards; every store holds every event.
	found, lost, dups, _, stored, err := verifyShards(ctx, dirs, ids)
	if err != nil {
		t.Fatal(err)
	}
	if found != len(ids) || lost != 0 || dups != 0 {
		t.Errorf("%d found, %d lost, %d duplicates; want %d, 0, 0", found, lost, dups, len(ids))
	}
	if stored != 3*len(ids) {
		t.Errorf("stores hold %d events, want %d (every event in each of 3 stores)", stored, 3*len(ids))
	}

	// 6. Same model everywhere, same segment for every event in every
	// store, and the index documents agree.
	var want map[string]string
	var wantModel *cluster.Model
	shardSeg := map[string]string{}
	perShardText := make([]*index.Result, 0, 3)
	for i, dir := range dirs {
		// With the worker's attribute options, or the store recomputes
		// customers without them (verifyShards opened it without).
		st, err := cluster.OpenStore(filepath.Join(dir, "segments.db"),
			cluster.WithMonetary(o.Base.Cluster.MonetaryAttr), cluster.WithEngagement(o.Base.Cluster.EngagementAttrs...))
		if err != nil {
			t.Fatal(err)
		}
		m, err := st.LoadModel()
		if err != nil || m == nil {
			st.Close()
			t.Fatalf("worker %d model: %v, %v", i, m, err)
		}
		pts, err := st.Points(ctx)
		st.Close()
		if err != nil {
			t.Fatal(err)
		}
		got := make(map[string]string, len(pts))
		for _, p := range pts {
			if erased[p.Doc.Event.ID] {
				t.Errorf("worker %d still stores erased event %s", i, p.Doc.Event.ID)
			}
			got[p.Doc.Event.ID] = m.Assign(p).ID
		}
		if want == nil {
			want, wantModel = got, m
		} else {
			if !m.FittedAt.Equal(wantModel.FittedAt) || !sameSegments(m.Segments(), wantModel.Segments()) {
				t.Errorf("worker %d has model fitted %s, worker 0 %s", i, m.FittedAt, wantModel.FittedAt)
			}
			diff := 0
			for id, seg := range want {
				if got[id] != seg {
					diff++
				}
			}
			if diff > 0 || len(got) != len(want) {
				t.Errorf("worker %d assigns %d of %d events to another segment than worker 0", i, diff, len(want))
			}
		}
		ix, err := index.Open(filepath.Join(dir, "index"))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range m.Segments() {
			for off := 0; ; off += index.MaxLimit {
				res, err := ix.Search(ctx, index.Query{Segment: s.ID, Limit: index.MaxLimit, Offset: off})
				if err != nil {
					ix.Close()
					t.Fatal(err)
				}
				for _, h := range res.Hits {
					shardSeg[h.ID] = h.SegmentID
				}
				if len(res.Hits) < index.MaxLimit {
					break
				}
			}
		}
		r, err := ix.Search(ctx, textQ)
		ix.Close()
		if err != nil {
			t.Fatal(err)
		}
		perShardText = append(perShardText, r)
	}
	bad := 0
	for _, id := range ids {
		if shardSeg[id] != want[id] {
			bad++
			if bad <= 3 {
				t.Errorf("event %s is indexed in segment %q, the shared model says %q", id, shardSeg[id], want[id])
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d index documents disagree with the shared model", bad, len(ids))
	}
	// The fanned-out text search is the merge of the shards' own.
	var total uint64
	var hits []index.Hit
	for _, r := range perShardText {
		total += r.Total
		hits = append(hits, r.Hits...)
	}
	sortHits(textQ, hits)
	if text.Total != total || text.Total == 0 {
		t.Errorf("fanned-out text search counts %d, the shards %d", text.Total, total)
	}
	var gotIDs, wantIDs []string
	for _, h := range text.Hits {
		gotIDs = append(gotIDs, h.ID)
	}
	for _, h := range hits[:min(len(hits), textQ.Limit)] {
		wantIDs = append(wantIDs, h.ID)
	}
	if !slices.Equal(gotIDs, wantIDs) {
		t.Errorf("fanned-out hits %v, merged shard hits %v", gotIDs, wantIDs)
	}
}

// busiestCustomer returns the customer with the most events in recs, and
// their event ids.
func busiestCustomer(t *testing.T, recs []ingest.Record) (string, []string) {
	t.Helper()
	by := map[string][]string{}
	best := ""
	for _, r := range recs {
		var ev struct {
			ID         string `json:"id"`
			CustomerID string `json:"customer_id"`
		}
		if err := json.Unmarshal(r.Payload, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.CustomerID == "" {
			continue
		}
		by[ev.CustomerID] = append(by[ev.CustomerID], ev.ID)
		if best == "" || len(by[ev.CustomerID]) > len(by[best]) {
			best = ev.CustomerID
		}
	}
	if len(by[best]) < 2 {
		t.Fatalf("no customer with several events (best %q)", best)
	}
	return best, by[best]
}

func TestMergeResultsPagesAndAddsFacets(t *testing.T) {
	ts := func(h int) time.Time { return time.Date(2015, 2, 22, h, 0, 0, 0, time.UTC) }
	a := index.Result{Total: 3, Hits: []index.Hit{{ID: "a1", TS: ts(5)}, {ID: "a2", TS: ts(3)}, {ID: "a3"}},
		Facets: map[string]index.Facet{
			"label": {Buckets: []index.Bucket{{Value: "negative", Count: 2}, {Value: "positive", Count: 1}}},
			"time":  {Interval: index.IntervalHour, Buckets: []index.Bucket{{Value: "x", Start: ts(3), Count: 1}, {Value: "y", Start: ts(5), Count: 1}}},
		}}
	b := index.Result{Total: 2, Hits: []index.Hit{{ID: "b1", TS: ts(4)}, {ID: "b2", TS: ts(1)}},
		Facets: map[string]index.Facet{
			"label": {Buckets: []index.Bucket{{Value: "positive", Count: 2}}},
			"time":  {Interval: index.IntervalDay, Buckets: []index.Bucket{{Value: "z", Start: ts(0), Count: 2}}},
		}}
	q := index.Query{Limit: 2, Offset: 1, Facets: []string{"label", "time"}, FacetSize: 1}
	got := mergeResults(q, []index.Result{a, b})
	if got.Total != 5 {
		t.Errorf("total %d", got.Total)
	}
	var ids []string
	for _, h := range got.Hits {
		ids = append(ids, h.ID)
	}
	// Newest first, events without a time last: a1 b1 a2 b2 a3; page 2 of size 2 from offset 1.
	if !slices.Equal(ids, []string{"b1", "a2"}) {
		t.Errorf("hits %v, want [b1 a2]", ids)
	}
	lab := got.Facets["label"]
	if len(lab.Buckets) != 1 || lab.Buckets[0].Value != "positive" || lab.Buckets[0].Count != 3 || lab.Other != 2 {
		t.Errorf("label facet %+v, want positive=3 other=2", lab)
	}
	tm := got.Facets["time"]
	if tm.Interval != index.IntervalDay || len(tm.Buckets) != 1 || tm.Buckets[0].Count != 4 {
		t.Errorf("time facet %+v, want one day with 4", tm)
	}
	b2, _ := json.Marshal(got)
	if len(b2) == 0 {
		t.Fatal("result does not encode")
	}
}

// TestSharedStartForgetsStateAheadOfTheServer: a worker whose record of the
// shared state is ahead of the NATS server (a server started afresh) replays
// from the start and takes the server's model instead of waiting for points
// and revisions that will never come; it keeps its worker id, takes the free
// lease and reports a heartbeat. No Ollama: nothing is embedded.
func TestSharedStartForgetsStateAheadOfTheServer(t *testing.T) {
	a, p := feedApp(t, "cluster.shared=true", "cluster.shared_lease=1s")
	ctx := context.Background()
	if err := os.WriteFile(a.sharedPath(), []byte(`{"worker":"w-old","points_seq":500,"model_rev":7}`), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := a.startShared(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if s.id != "w-old" || s.pointsSeq.Load() != 0 || s.modelRev.Load() != 0 {
		t.Errorf("worker %q, points seq %d, model revision %d; want w-old, 0, 0", s.id, s.pointsSeq.Load(), s.modelRev.Load())
	}
	st, err := loadSharedFile(a.sharedPath())
	if err != nil || st.PointsSeq != 0 || st.ModelRev != 0 {
		t.Errorf("state file %+v, %v", st, err)
	}
	waitFor(t, "the lease and a heartbeat", 10*time.Second, func() bool {
		ws, err := liveWorkers(ctx, s.sh.Workers)
		return err == nil && len(ws) == 1 && ws[0].ID == "w-old" && ws[0].Leader && s.leading()
	})
}

// TestSharedCatchUpPastPurgedPoints: when the newest points were purged (an
// erasure), a starting worker still counts itself caught up instead of
// waiting for a sequence that is never delivered.
func TestSharedCatchUpPastPurgedPoints(t *testing.T) {
	a, p := feedApp(t, "cluster.shared=true", "cluster.shared_lease=1s")
	ctx := context.Background()
	sh, err := ingest.EnsureShared(ctx, a.js, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// Points of this worker (skipped on replay: nothing is stored), the
	// last one then purged as an erasure does.
	if err := os.WriteFile(a.sharedPath(), []byte(`{"worker":"w-me"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"e1", "e2", "e3"} {
		msg := nats.NewMsg(ingest.PointSubject(id))
		msg.Header.Set(ingest.HeaderOrigin, "w-me")
		msg.Data = []byte(`{}`)
		if _, err := a.js.PublishMsg(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	if err := sh.Points.Purge(ctx, jetstream.WithPurgeSubject(ingest.PointSubject("e3"))); err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	s, err := a.startShared(sctx, p)
	if err != nil {
		t.Fatalf("start with the last point purged: %v", err)
	}
	if got := s.pointsSeq.Load(); got != 3 {
		t.Errorf("replayed up to %d, want 3", got)
	}
}
