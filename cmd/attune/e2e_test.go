package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/attune-cx/attune"
	"github.com/attune-cx/attune/index"
	"github.com/attune-cx/attune/ingest"
)

const datasets = "../../../shared/datasets"

// requireOllama skips locally when no Ollama can be had without building one,
// and never skips under CI=true: there the test fails if Ollama is missing.
func requireOllama(t *testing.T, cfg *Config) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		return
	}
	if cfg.Ollama.Binary != "" {
		return
	}
	if _, err := os.Stat(filepath.Join(cfg.cacheDir(), "bin", "ollama")); err == nil {
		return
	}
	if p := os.Getenv("PATH"); strings.Contains(p, "ollama") {
		return
	}
	t.Skip("no ollama binary cached; run `go run ./cmd/attune setup` (CI=true makes this a failure)")
}

func freeTestPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func testConfig(t *testing.T) *Config {
	t.Helper()
	cfg, err := LoadConfig("", nil, []string{
		"data_dir=" + t.TempDir(),
		fmt.Sprintf("nats.listen=127.0.0.1:%d", freeTestPort(t)),
		fmt.Sprintf("ollama.host=127.0.0.1:%d", freeTestPort(t)),
		"model.datasets_dir=" + datasets,
		"cluster.min_events=50",
		"cluster.recluster_every=0",
		"cluster.k_max=10",
		"nats.fetch_batch=32",
		"nats.retry_base=100ms",
		"http.listen=127.0.0.1:0", // tests run side by side; never the default port
	})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.DiscardHandler)
}

// tweetRecords returns n airline tweets, unique by id, as publishable records.
func tweetRecords(t *testing.T, n int) []ingest.Record {
	t.Helper()
	f, err := os.Open(filepath.Join(datasets, "twitter_us_airline_sentiment", "Tweets.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := ingest.Mapping{ID: "tweet_id", Customer: "name", TS: "tweet_created", Source: "ticket", Attrs: []string{"airline", "retweet_count"}}
	seen := map[string]bool{}
	var out []ingest.Record
	for r, err := range ingest.Records(f, "csv", m) {
		if err != nil {
			t.Fatal(err)
		}
		if !seen[r.ID] {
			seen[r.ID] = true
			out = append(out, r)
		}
		if len(out) == n {
			break
		}
	}
	return out
}

// malformed returns n bad events of every dead-letter reason, each with its
// expected reason.
func malformed(n int) ([]ingest.Record, map[string]string) {
	var recs []ingest.Record
	want := map[string]string{}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("bad-%02d", i)
		var p string
		var reason string
		switch i % 5 {
		case 0:
			p, reason = `{"id":"`+id+`","text":"the flight was`, attune.ReasonMalformed
		case 1:
			p, reason = `{"id":"`+id+`","customer_id":"x"}`, attune.ReasonMissingField
		case 2:
			p, reason = `{"id":"`+id+`","text":"  "}`, attune.ReasonEmpty
		case 3:
			p, reason = `{"id":"`+id+`","text":"`+strings.Repeat("delayed again ", 6000)+`"}`, attune.ReasonOversized
		case 4:
			p, reason = "{\"id\":\""+id+"\",\"text\":\"caf\xe9 cold\"}", attune.ReasonInvalidUTF8
		}
		recs = append(recs, ingest.Record{ID: id, Source: "review", Payload: []byte(p)})
		want[id] = reason
	}
	return recs, want
}

func publishAll(t *testing.T, a *app, recs []ingest.Record) ingest.PublishResult {
	t.Helper()
	res, err := ingest.Publish(context.Background(), a.js, func(yield func(ingest.Record, error) bool) {
		for _, r := range recs {
			if !yield(r, nil) {
				return
			}
		}
	}, 64, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestEndToEnd publishes real tweets and malformed events through the
// embedded NATS server, restarts the worker in the middle, and checks that
// every good event is indexed exactly once, every bad one is dead-lettered
// with its reason, and named segments exist.
func TestEndToEnd(t *testing.T) {
	cfg := testConfig(t)
	requireOllama(t, cfg)
	log := testLogger(t)
	good := tweetRecords(t, 400)
	bad, wantReason := malformed(20)

	// First worker: the first 250 good and 10 bad events; stop it after
	// some are indexed and while others are still pending.
	ctx1, cancel1 := context.WithCancel(context.Background())
	a1 := newApp(cfg, log)
	rw1, err := a1.startWorker(ctx1, true)
	if err != nil {
		cancel1()
		a1.Close()
		t.Fatal(err)
	}
	first := append(append([]ingest.Record(nil), good[:250]...), bad[:10]...)
	if res := publishAll(t, a1, first); res.Published != len(first) {
		t.Fatalf("first publish: %+v", res)
	}
	waitFor(t, "the first worker to index 60 events", 2*time.Minute, func() bool { return rw1.w.Stats().Indexed.Load() >= 60 })
	cancel1()
	a1.Close()
	indexedBefore := rw1.w.Stats().Indexed.Load()

	// Second worker on the same data dir: the rest, plus republished events
	// that JetStream must drop by id.
	ctx2, cancel2 := context.WithCancel(context.Background())
	a2 := newApp(cfg, log)
	defer a2.Close()
	defer cancel2()
	rw2, err := a2.startWorker(ctx2, true)
	if err != nil {
		t.Fatal(err)
	}
	second := append(append([]ingest.Record(nil), good[250:]...), bad[10:]...)
	if res := publishAll(t, a2, second); res.Published != len(second) {
		t.Fatalf("second publish: %+v", res)
	}
	if res := publishAll(t, a2, good[:30]); res.Duplicates != 30 {
		t.Fatalf("republish: %+v, want 30 duplicates", res)
	}
	cons, err := a2.js.Consumer(ctx2, cfg.NATS.Stream, cfg.NATS.Consumer)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the stream to drain", 5*time.Minute, func() bool {
		n, err := ingest.Pending(ctx2, cons)
		return err == nil && n == 0
	})
	t.Logf("first worker indexed %d before the restart, second %d after", indexedBefore, rw2.w.Stats().Indexed.Load())
	if indexedBefore >= int64(len(first)-10) || rw2.w.Stats().Indexed.Load() == 0 {
		t.Errorf("the restart did not fall mid-stream: first worker indexed %d of %d", indexedBefore, len(first)-10)
	}

	// Every good event exactly once: all ids present and nothing more.
	n, err := a2.ix.CountEvents(ctx2)
	if err != nil {
		t.Fatal(err)
	}
	if n != uint64(len(good)) {
		t.Errorf("index holds %d events, want %d", n, len(good))
	}
	ids := make([]string, len(good))
	for i, r := range good {
		ids[i] = r.ID
	}
	has, err := a2.ix.Has(ctx2, ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if !has[id] {
			t.Errorf("event %s not indexed", id)
		}
	}

	// Every bad event dead-lettered once with its reason.
	dlq, err := a2.js.Stream(ctx2, cfg.NATS.DLQStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := dlq.Info(ctx2)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != uint64(len(bad)) {
		t.Errorf("%d dead letters, want %d", info.State.Msgs, len(bad))
	}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := dlq.GetMsg(ctx2, seq)
		if err != nil {
			t.Fatal(err)
		}
		reason := m.Header.Get(ingest.HeaderReason)
		var id string
		for k, r := range wantReason {
			if strings.Contains(string(m.Data), `"id":"`+k+`"`) {
				id = k
				if r != reason {
					t.Errorf("dead letter %s has reason %q, want %q", k, reason, r)
				}
			}
		}
		if id == "" || m.Subject != ingest.DLQPrefix+reason {
			t.Errorf("dead letter %d on %s (reason %q) is not one of the bad events", seq, m.Subject, reason)
		}
	}

	// Segments: re-cluster through the control subject, as `attune recluster` does.
	var segs []attune.Segment
	if err := ingest.Control(ctx2, a2.nc, "recluster", nil, &segs); err != nil {
		t.Fatal(err)
	}
	if len(segs) < 2 {
		t.Fatalf("%d segments, want at least 2", len(segs))
	}
	names, total := map[string]bool{}, 0
	for _, s := range segs {
		if s.Name == "" || names[s.Name] {
			t.Errorf("segment %s has an empty or repeated name %q", s.ID, s.Name)
		}
		names[s.Name] = true
		total += s.Size
	}
	if total != len(good) {
		t.Errorf("segment sizes add up to %d, want %d", total, len(good))
	}
	t.Logf("segments: %v", names)

	// Every indexed event carries its segment after the re-cluster, and the
	// segment table is searchable through the worker.
	var res index.Result
	if err := ingest.Control(ctx2, a2.nc, "search", index.Query{Segment: segs[0].Name, Limit: 1000}, &res); err != nil {
		t.Fatal(err)
	}
	if int(res.Total) != segs[0].Size {
		t.Errorf("search by segment %q found %d events, want its size %d", segs[0].Name, res.Total, segs[0].Size)
	}
	var fromIndex []attune.Segment
	if err := ingest.Control(ctx2, a2.nc, "segments", nil, &fromIndex); err != nil {
		t.Fatal(err)
	}
	if len(fromIndex) != len(segs) {
		t.Errorf("segments request returned %d, want %d", len(fromIndex), len(segs))
	}
}
