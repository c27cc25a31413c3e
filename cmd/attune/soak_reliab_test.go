package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/attune-cx/attune/embed"
	"github.com/attune-cx/attune/index"
	"github.com/attune-cx/attune/ingest"
)

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// attuneBinary builds the attune binary once per test run: the reliability
// tests run `attune worker` as a child process so that they can kill -9 it.
func attuneBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		// One fixed path, rebuilt each run: no binary is left behind per run.
		dir := filepath.Join(os.TempDir(), "attune-reliability-test")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "attune")
		out, err := exec.Command("go", "build", "-o", builtBin, ".").CombinedOutput()
		if err != nil {
			buildErr = err
			t.Logf("%s", out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build attune: %v", buildErr)
	}
	return builtBin
}

// soakFixture takes n records of the real soak corpus (with their ids) and
// starts a soak environment called name; the caller closes it and stops its
// Ollama.
func soakFixture(ctx context.Context, t *testing.T, o soakOpts, name string, n int) ([]ingest.Record, []string, *soakEnv) {
	t.Helper()
	corpus, err := soakCorpus(o.Base.Model.DatasetsDir)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := soakRecords(corpus, n)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.ID
	}
	e, err := newSoakEnv(ctx, o, name, nil, embed.ServerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return recs, ids, e
}

func soakTestOpts(t *testing.T) soakOpts {
	cfg := testConfig(t)
	requireOllama(t, cfg)
	var progress *testWriter
	if testing.Verbose() {
		progress = &testWriter{t}
	}
	o := soakOpts{
		Bin: attuneBinary(t), Dir: t.TempDir(), Base: cfg, Log: testLogger(t),
		AckWait: 5 * time.Second, Seed: uint64(time.Now().UnixNano()), Timeout: 10 * time.Minute,
	}
	if progress != nil {
		o.Progress = progress
	}
	return o
}

type testWriter struct{ t *testing.T }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// TestSoakKillsOutagesPoison is the CI-sized soak: 2,500 real events with
// distinct ids and 15 hostile ones (a 10 MB payload among them) through a
// real `attune worker` process that is kill -9'd three times at random
// points, loses Ollama for 10s and its NATS server once, and is finally
// stopped with SIGTERM. Every good event must be in the index and the store
// exactly once, every hostile one in the DLQ with its reason, the segment
// model must survive a kill unchanged, and /healthz's data must have shown
// the outage.
func TestSoakKillsOutagesPoison(t *testing.T) {
	o := soakTestOpts(t)
	o.Events, o.Poison, o.Big, o.Kills = 2500, 14, true, 3
	o.Outage, o.Restart = 10*time.Second, true
	t.Logf("seed %d", o.Seed)
	res, err := runSoak(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", *res)
	if res.Lost != 0 || res.Duplicates != 0 || res.Indexed != o.Events || res.StoreEvents != o.Events {
		t.Errorf("indexed %d, stored %d, lost %d, duplicates %d; want %d, %d, 0, 0", res.Indexed, res.StoreEvents, res.Lost, res.Duplicates, o.Events, o.Events)
	}
	if res.DeadLettered != res.PoisonPublished || res.GoodDeadLettered != 0 {
		t.Errorf("%d dead letters (%d good events), want the %d poison events only", res.DeadLettered, res.GoodDeadLettered, res.PoisonPublished)
	}
	// 14 poison events cycle through 7 kinds; the 10 MB one is oversized.
	want := map[string]int{"malformed": 6, "invalid_utf8": 2, "empty": 2, "oversized": 3, "missing_field": 2}
	for r, n := range want {
		if res.DeadLetterReasons[r] != n {
			t.Errorf("dead letters by reason %v, want %v", res.DeadLetterReasons, want)
			break
		}
	}
	if res.Kills != 3 || res.NATSRestarts != 1 || res.OutageSeconds < 10 {
		t.Errorf("kills %d, NATS restarts %d, outage %.1fs: the soak did not do what it should", res.Kills, res.NATSRestarts, res.OutageSeconds)
	}
	if !res.SegmentsRecovered || res.Segments < 2 {
		t.Errorf("segments after kill -9: recovered %v, %d segments; notes %v", res.SegmentsRecovered, res.Segments, res.Notes)
	}
	if !res.OllamaOutageSeen {
		t.Error("health never reported Ollama unreachable and the worker waiting during the outage")
	} else if h := res.OutageHealth; h.OK || h.Worker.LastError == "" || h.Worker.WaitingSince.IsZero() {
		t.Errorf("health during the outage: %+v", h)
	}
	if !res.GracefulExit || res.AckPendingAtStop != 0 {
		t.Errorf("SIGTERM: exit 0 %v, %d events left unacknowledged", res.GracefulExit, res.AckPendingAtStop)
	}
}

// TestGracefulStopAcksExactlyWhatIsIndexed: SIGTERM while a backlog is
// being worked off. The worker exits 0, leaves no event unacknowledged, and
// what it acknowledged is exactly what its index holds (reopened cleanly).
// A second worker then finishes the rest with nothing lost or doubled.
func TestGracefulStopAcksExactlyWhatIsIndexed(t *testing.T) {
	o := soakTestOpts(t)
	ctx := context.Background()
	recs, ids, e := soakFixture(ctx, t, o, "graceful", 1500)
	defer func() { _ = e.ollama.Stop() }()
	defer e.Close()
	dir := filepath.Join(o.Dir, "graceful", "worker")
	w, err := e.start(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer w.kill()
	if _, err := e.publish(ctx, recs); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "200 events indexed", 5*time.Minute, func() bool {
		n, err := e.indexedDocs(ctx)
		return err == nil && n >= 200
	})
	if err := w.term(time.Minute); err != nil {
		b, _ := os.ReadFile(w.log)
		t.Fatalf("SIGTERM: %v\n%s", err, tailLines(b, 20))
	}
	b, _ := os.ReadFile(w.log)
	if strings.Contains(string(b), "level=ERROR") {
		t.Errorf("errors logged during the stop:\n%s", tailLines(b, 20))
	}
	cons, err := e.js.Consumer(ctx, "ATTUNE_EVENTS", "attune-worker")
	if err != nil {
		t.Fatal(err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	acked := len(recs) - int(info.NumPending) - info.NumAckPending
	ix, err := index.Open(filepath.Join(dir, "index"))
	if err != nil {
		t.Fatalf("index not reopened after SIGTERM: %v", err)
	}
	n, err := ix.CountEvents(ctx)
	_ = ix.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stopped with %d indexed, %d acknowledged, %d pending", n, acked, info.NumPending)
	if info.NumAckPending != 0 {
		t.Errorf("%d events delivered but neither acknowledged nor handed back", info.NumAckPending)
	}
	if int(n) != acked || acked >= len(recs) {
		t.Errorf("index holds %d, %d acknowledged of %d: want equal, and the stop mid-stream", n, acked, len(recs))
	}
	w2, err := e.start(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer w2.kill()
	if err := e.drained(ctx, 10*time.Minute, 0, w2); err != nil {
		t.Fatal(err)
	}
	if err := w2.term(time.Minute); err != nil {
		t.Fatal(err)
	}
	found, lost, dups, _, stored, err := verifyShards(ctx, []string{dir}, ids)
	if err != nil {
		t.Fatal(err)
	}
	if found != len(recs) || lost != 0 || dups != 0 || stored != len(recs) {
		t.Errorf("after restart: %d found, %d lost, %d duplicates, %d stored; want %d, 0, 0, %d", found, lost, dups, stored, len(recs), len(recs))
	}
}

// TestWorkerSurvivesFullDisk puts the worker's data dir (index, segment
// store, vector cache) on a 3 MiB tmpfs, publishes more than fits, and
// checks the worker stays up, reports the failure through health, dead-
// letters nothing, and once the file system is grown catches up with every
// event exactly once.
func TestWorkerSurvivesFullDisk(t *testing.T) {
	o := soakTestOpts(t)
	ctx := context.Background()
	dir := filepath.Join(o.Dir, "full", "worker")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", dir).CombinedOutput(); err != nil {
		// Mounting needs root (CAP_SYS_ADMIN); CI runs as root.
		if os.Getenv("CI") == "true" {
			t.Fatalf("mount tmpfs (CI=true requires the full-disk test to run; it needs root): %v: %s", err, out)
		}
		t.Skipf("cannot mount a tmpfs here, the full-disk path is not exercised (%v: %s)", err, out)
	}
	defer func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	}()
	recs, ids, e := soakFixture(ctx, t, o, "full", 3000)
	defer func() { _ = e.ollama.Stop() }()
	defer e.Close()
	w, err := e.start(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer w.kill()
	if _, err := e.publish(ctx, recs); err != nil {
		t.Fatal(err)
	}
	var full Health
	waitFor(t, "the worker to report the full disk", 5*time.Minute, func() bool {
		select {
		case err := <-w.done:
			w.done <- err
			b, _ := os.ReadFile(w.log)
			t.Fatalf("worker died on a full disk (%v): %s", err, tailLines(b, 20))
		default:
		}
		var h Health
		if err := e.control(ctx, "health", &h); err != nil {
			return false
		}
		full = h
		return h.Worker.Status == ingest.StatusWaiting && strings.Contains(h.Worker.LastError, "no space left")
	})
	t.Logf("health on a full disk: %+v", full)
	if full.OK || full.Worker.Indexed >= int64(len(recs)) {
		t.Errorf("health on a full disk: %+v", full)
	}
	if out, err := exec.Command("mount", "-o", "remount,size=512m", dir).CombinedOutput(); err != nil {
		t.Fatalf("grow tmpfs: %v: %s", err, out)
	}
	if err := e.drained(ctx, 10*time.Minute, 0, w); err != nil {
		t.Fatal(err)
	}
	if n := e.dlqCount(ctx); n != 0 {
		t.Errorf("%d events dead-lettered because the disk was full", n)
	}
	if err := w.term(time.Minute); err != nil {
		t.Fatal(err)
	}
	found, lost, dups, _, stored, err := verifyShards(ctx, []string{dir}, ids)
	if err != nil {
		t.Fatal(err)
	}
	if found != len(recs) || lost != 0 || dups != 0 || stored != len(recs) {
		t.Errorf("after the disk was grown: %d found, %d lost, %d duplicates, %d stored; want %d, 0, 0, %d", found, lost, dups, stored, len(recs), len(recs))
	}
}

// TestThreeWorkersShareOneConsumer: three worker processes on one durable
// consumer, one index shard each: every event indexed in exactly one shard.
func TestThreeWorkersShareOneConsumer(t *testing.T) {
	o := soakTestOpts(t)
	ctx := context.Background()
	corpus, err := soakCorpus(o.Base.Model.DatasetsDir)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := soakRecords(corpus, 1500)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.ID
	}
	host, err := freeListen()
	if err != nil {
		t.Fatal(err)
	}
	ocfg := embed.ServerConfig{Host: host, Manage: true, CacheDir: o.Base.cacheDir(), Version: o.Base.Ollama.Version, Logger: o.Log}
	ollama, err := embed.EnsureServer(ctx, ocfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ollama.Stop() }()
	res := &soakResult{}
	eps, dups, err := soakThroughput(ctx, o, 3, recs, ids, ollama, ocfg, res)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("3 workers: %.1f events/s, peak RSS %.1f MiB", eps, res.PeakRSSMB)
	if dups != 0 {
		t.Errorf("%d events indexed in more than one shard", dups)
	}
}
