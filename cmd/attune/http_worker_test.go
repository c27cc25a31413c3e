package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/attune-cx/attune"
	"github.com/attune-cx/attune/embed"
	"github.com/attune-cx/attune/ingest"
)

// TestWorkerAPI runs the real worker (embedded NATS, managed Ollama, the
// project's model, the vector cache) on real tweets and checks what only the
// worker's API has: readiness of every component, the worker's counters,
// embedding latency and queue lag as metrics, and an erasure that also
// removes cached vectors and the raw events and dead letters in JetStream.
func TestWorkerAPI(t *testing.T) {
	cfg := testConfig(t)
	requireOllama(t, cfg)
	for _, kv := range []string{"http.listen=127.0.0.1:0", "http.token=tok"} {
		if err := setKeyString(cfg, kv); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := newApp(cfg, testLogger(t))
	defer a.Close()
	defer cancel() // before Close: the worker stops when ctx ends
	rw, err := a.startWorker(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + rw.httpAddr
	const n = 240
	recs := tweetRecords(t, n)
	// The victim's dead letter: blank text, with their customer id.
	victim := ""
	counts := map[string]int{}
	for _, r := range recs {
		var ev struct {
			CustomerID string `json:"customer_id"`
		}
		if err := json.Unmarshal(r.Payload, &ev); err != nil {
			t.Fatal(err)
		}
		counts[ev.CustomerID]++
		if victim == "" || counts[ev.CustomerID] > counts[victim] {
			victim = ev.CustomerID
		}
	}
	bad := ingest.Record{ID: "bad-victim", Source: "review", Payload: fmt.Appendf(nil, `{"id":"bad-victim","customer_id":%q,"text":"   "}`, victim)}
	publishAll(t, a, append(recs, bad))
	cons, err := a.js.Consumer(ctx, cfg.NATS.Stream, cfg.NATS.Consumer)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the stream to drain", 5*time.Minute, func() bool {
		p, err := ingest.Pending(ctx, cons)
		return err == nil && p == 0 && rw.w.Stats().Indexed.Load() >= n
	})
	if _, err := rw.p.Recluster(ctx); err != nil {
		t.Fatal(err)
	}

	get := func(path string) (int, []byte) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, b
	}

	// Health: every component the worker uses is up.
	code, b := get("/healthz")
	var h healthReport
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"nats", "ollama", "index", "worker"} {
		if h.Components[c].Status != "ok" {
			t.Errorf("health of %s: %+v", c, h.Components[c])
		}
	}
	if code != 200 || h.Status != "ok" {
		t.Errorf("health: %d %s", code, b)
	}

	// Metrics: the worker's counters as they are.
	code, b = get("/metrics")
	if code != 200 {
		t.Fatalf("metrics: %d", code)
	}
	m := parseMetrics(t, string(b))
	st := rw.w.Stats()
	for name, want := range map[string]float64{
		"attune_events_indexed_total":       float64(st.Indexed.Load()),
		"attune_events_received_total":      float64(st.Received.Load()),
		"attune_events_dead_lettered_total": 1,
		"attune_queue_lag_events":           0,
		"attune_index_events":               n,
	} {
		if got, ok := m[name]; !ok || got != want {
			t.Errorf("metric %s = %v (present %v), want %v", name, got, ok, want)
		}
	}
	if m["attune_events_indexed_total"] != n {
		t.Errorf("indexed_total %v, want %d", m["attune_events_indexed_total"], n)
	}
	if m["attune_embed_duration_seconds_count"] < 1 || m["attune_embed_duration_seconds_sum"] <= 0 {
		t.Errorf("embed latency histogram: count %v sum %v", m["attune_embed_duration_seconds_count"], m["attune_embed_duration_seconds_sum"])
	}

	// Erasure through the worker: vectors in the cache and raw events in
	// the streams go too.
	docs, err := a.store.CustomerDocs(victim)
	if err != nil || len(docs) != counts[victim] {
		t.Fatalf("victim %s has %d stored events, want %d (%v)", victim, len(docs), counts[victim], err)
	}
	var ids, texts []string
	for _, d := range docs {
		ids = append(ids, d.Event.ID)
		texts = append(texts, d.Analysis.Clean)
	}
	space, err := a.emb.Space(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cached, err := a.emb.Cache().Has(space.Model, space.Digest, texts, a.emb.Chunker())
	if err != nil || cached != len(texts) {
		t.Fatalf("%d of the victim's %d texts cached before erasure (%v)", cached, len(texts), err)
	}
	req, _ := http.NewRequest("DELETE", base+"/api/customers/"+victim, nil)
	req.Header.Set("Authorization", "Bearer tok")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	var er erasure
	if err := json.Unmarshal(b, &er); err != nil || resp.StatusCode != 200 {
		t.Fatalf("erase: %d %s", resp.StatusCode, b)
	}
	if er.Events != len(ids) || er.IndexDocs != len(ids) || er.CacheEntries < 1 || er.StreamMessages != len(ids)+1 || len(er.Notes) != 0 {
		t.Errorf("erasure %+v; want %d events and index docs, cached vectors, %d stream messages (events + dead letter)", er, len(ids), len(ids)+1)
	}
	if cached, err := a.emb.Cache().Has(space.Model, space.Digest, texts, a.emb.Chunker()); err != nil || cached != 0 {
		t.Errorf("%d of the victim's texts still cached (%v)", cached, err)
	}
	left, err := purgeStreams(a.js, cfg.NATS.Stream, cfg.NATS.DLQStream)(ctx, victim, ids)
	if err != nil || left != 0 {
		t.Errorf("%d of the victim's messages left in the streams (%v)", left, err)
	}
	has, err := a.ix.Has(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if has[id] {
			t.Errorf("event %s still indexed", id)
		}
	}
	if d, _ := a.store.CustomerDocs(victim); len(d) != 0 {
		t.Errorf("%d events still stored", len(d))
	}
	// The worker keeps consuming after an erasure: the stream's other
	// events are untouched and nothing is redelivered.
	if p, err := ingest.Pending(ctx, cons); err != nil || p != 0 {
		t.Errorf("pending after erasure: %d (%v)", p, err)
	}

	// Rename through the worker updates the model the pipeline assigns with
	// and, like the control verb, tells attune.segments.updated.
	segs := rw.p.Segments()
	updates, err := a.nc.SubscribeSync(ingest.SegmentsUpdated)
	if err != nil {
		t.Fatal(err)
	}
	defer updates.Unsubscribe()
	if err := a.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	req, _ = http.NewRequest("PUT", base+"/api/segments/"+segs[0].ID+"/name", strings.NewReader(`{"name":"renamed-in-worker"}`))
	req.Header.Set("Authorization", "Bearer tok")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || rw.p.Segments()[0].Name != "renamed-in-worker" {
		t.Errorf("rename in worker: %d, pipeline model has %q", resp.StatusCode, rw.p.Segments()[0].Name)
	}
	for {
		msg, err := updates.NextMsg(10 * time.Second)
		if err != nil {
			t.Errorf("no %s with the new name after the HTTP rename: %v", ingest.SegmentsUpdated, err)
			break
		}
		var pub []attune.Segment
		if err := json.Unmarshal(msg.Data, &pub); err != nil {
			t.Fatalf("%s: %v: %s", ingest.SegmentsUpdated, err, msg.Data)
		}
		if slices.ContainsFunc(pub, func(s attune.Segment) bool { return s.ID == segs[0].ID && s.Name == "renamed-in-worker" }) {
			break
		}
	}

	// With the worker stopped, `attune serve` erases from the vector cache
	// too, keyed by the model the worker recorded, and says that it could
	// not reach the streams.
	other := ""
	for c := range counts {
		if c != victim && (other == "" || c < other) {
			other = c
		}
	}
	odocs, err := a.store.CustomerDocs(other)
	if err != nil || len(odocs) == 0 {
		t.Fatalf("customer %s: %d events (%v)", other, len(odocs), err)
	}
	var otexts []string
	for _, d := range odocs {
		otexts = append(otexts, d.Analysis.Clean)
	}
	chunk := a.emb.Chunker()
	cancel()
	a.Close()
	sa := newApp(cfg, testLogger(t))
	srv, err := sa.standaloneAPI()
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	req, _ = http.NewRequest("DELETE", hs.URL+"/api/customers/"+url.PathEscape(other), nil)
	req.Header.Set("Authorization", "Bearer tok")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	hs.Close()
	sa.Close()
	var er2 erasure
	if err := json.Unmarshal(b, &er2); err != nil || resp.StatusCode != 200 {
		t.Fatalf("standalone erase: %d %s", resp.StatusCode, b)
	}
	if er2.Events != len(odocs) || er2.CacheEntries < 1 || er2.StreamMessages != 0 || len(er2.Notes) != 1 || !strings.Contains(er2.Notes[0], "JetStream") {
		t.Errorf("standalone erasure %+v", er2)
	}
	c, err := embed.OpenCache(filepath.Join(cfg.DataDir, "embed-cache.db"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if n, err := c.Has(space.Model, space.Digest, otexts, chunk); err != nil || n != 0 {
		t.Errorf("%d of %s's texts still cached after a standalone erasure (%v)", n, other, err)
	}
}

// parseMetrics reads unlabelled samples of the Prometheus text format.
func parseMetrics(t *testing.T, text string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' || strings.Contains(line, "{") {
			continue
		}
		name, val, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		x, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		out[name] = x
	}
	return out
}
