package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/attune-cx/attune"
	"github.com/attune-cx/attune/cluster"
	"github.com/attune-cx/attune/embed"
	"github.com/attune-cx/attune/index"
	"github.com/attune-cx/attune/ingest"
)

// soakOpts configures a soak run: real `attune worker` child processes on
// a NATS server and an Ollama that the soak owns, so it can kill, stop and
// restart each of them.
type soakOpts struct {
	Bin     string  // the attune binary the workers run
	Dir     string  // everything the run writes
	Base    *Config // cache_dir, datasets_dir
	Events  int     // good events in the crash/outage run
	Poison  int     // hostile events mixed in (each must be dead-lettered)
	Big     bool    // add one 10 MB event to the poison
	Kills   int     // kill -9 of the worker at random points
	Outage  time.Duration
	Restart bool // restart the NATS server once mid-run
	AckWait time.Duration
	// Throughput: events per run with 1, 2 and 3 workers; 0 skips.
	TputEvents int
	TputMax    int
	// Backlog: events waiting while one worker runs for BacklogRun; 0 skips.
	Backlog         int
	BacklogRun      time.Duration
	BacklogBaseline int // events waiting in the baseline backlog run
	Seed            uint64
	Timeout         time.Duration // bound on each wait for the stream to drain
	Log             *slog.Logger
	Progress        io.Writer
	// Args are more `attune worker` arguments (e.g. --set cluster.shared=true).
	Args []string
	// TputShared repeats each throughput run with cluster.shared on, right
	// after the run without, on the same events.
	TputShared bool
}

// soakResult is `attune bench soak --json`.
type soakResult struct {
	Published     int                `json:"published"`
	Indexed       int                `json:"indexed"`
	DeadLettered  int                `json:"dead_lettered"`
	Lost          int                `json:"lost"`
	Duplicates    int                `json:"duplicates"`
	Kills         int                `json:"kills"`
	OutageSeconds float64            `json:"outage_seconds"`
	PeakRSSMB     float64            `json:"peak_rss_mb"`
	EventsPerSec  map[string]float64 `json:"events_per_sec"`
	Ratio         map[string]float64 `json:"events_per_sec_ratio_to_1,omitempty"`

	StoreEvents       int            `json:"store_events"`
	PoisonPublished   int            `json:"poison_published"`
	GoodDeadLettered  int            `json:"good_dead_lettered"`
	DeadLetterReasons map[string]int `json:"dead_letter_reasons"`
	SegmentsRecovered bool           `json:"segments_recovered"`
	Segments          int            `json:"segments"`
	NATSRestarts      int            `json:"nats_restarts"`
	OllamaOutageSeen  bool           `json:"ollama_outage_reported"`
	OutageHealth      *Health        `json:"outage_health,omitempty"`
	GracefulExit      bool           `json:"graceful_exit"`
	AckPendingAtStop  int            `json:"ack_pending_after_sigterm"`
	CrashRunSeconds   float64        `json:"crash_run_seconds"`
	ShardDuplicates   int            `json:"shard_duplicates"`
	// Peak RSS of the crash run's workers and of the throughput workers.
	CrashPeakRSSMB float64 `json:"crash_run_peak_rss_mb"`
	TputPeakRSSMB  float64 `json:"throughput_peak_rss_mb,omitempty"`
	// TputPeakRSSByWorkers is the peak RSS of the largest worker per run;
	// "1" is the baseline of backlog_peak_rss_mb (one worker, a backlog of
	// tput_events instead of --backlog).
	TputPeakRSSByWorkers map[string]float64 `json:"throughput_peak_rss_mb_by_workers,omitempty"`
	BacklogEvents        int                `json:"backlog_events,omitempty"`
	BacklogPeakRSSMB     float64            `json:"backlog_peak_rss_mb,omitempty"`
	BacklogIndexed       int                `json:"backlog_indexed,omitempty"`
	// The same run with a backlog of backlog_baseline_events: the baseline.
	BacklogBaselineEvents    int      `json:"backlog_baseline_events,omitempty"`
	BacklogBaselinePeakRSSMB float64  `json:"backlog_baseline_peak_rss_mb,omitempty"`
	BacklogBaselineIndexed   int      `json:"backlog_baseline_indexed,omitempty"`
	BacklogRSSRatio          float64  `json:"backlog_peak_rss_ratio_to_baseline,omitempty"`
	Notes                    []string `json:"notes,omitempty"`
	// With --shared: events/s with cluster.shared, and its ratio to the run
	// without it with as many workers (same events, run right after).
	EventsPerSecShared map[string]float64 `json:"events_per_sec_shared,omitempty"`
	SharedRatio        map[string]float64 `json:"events_per_sec_shared_ratio_to_unshared,omitempty"`
}

// soakEnv is the NATS server and Ollama the workers share.
type soakEnv struct {
	o      soakOpts
	listen string
	store  string
	srv    *ingest.Server
	nc     *nats.Conn
	js     jetstream.JetStream
	ollama *embed.Server
	ohost  string
	ocfg   embed.ServerConfig
	mu     sync.Mutex
	peak   float64
	n      int // workers started, for names
}

func (o *soakOpts) say(format string, args ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, "soak: "+format+"\n", args...)
	}
}

func freeListen() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// newSoakEnv starts a NATS server (own store dir) and, unless one is given,
// a managed Ollama on a free loopback port.
func newSoakEnv(ctx context.Context, o soakOpts, name string, ollama *embed.Server, ocfg embed.ServerConfig) (*soakEnv, error) {
	e := &soakEnv{o: o, store: filepath.Join(o.Dir, name, "nats"), ollama: ollama, ocfg: ocfg}
	var err error
	if e.listen, err = freeListen(); err != nil {
		return nil, err
	}
	if err := e.startNATS(); err != nil {
		return nil, err
	}
	e.nc, err = nats.Connect(e.srv.ClientURL(), nats.MaxReconnects(-1), nats.ReconnectWait(200*time.Millisecond))
	if err != nil {
		e.srv.Shutdown()
		return nil, err
	}
	if e.js, err = jetstream.New(e.nc); err != nil {
		e.Close()
		return nil, err
	}
	if _, err := ingest.EnsureStreams(ctx, e.js, ingest.StreamConfig{AckWait: o.AckWait}); err != nil {
		e.Close()
		return nil, err
	}
	if e.ollama == nil {
		host, err := freeListen()
		if err != nil {
			e.Close()
			return nil, err
		}
		e.ocfg = embed.ServerConfig{Host: host, Manage: true, CacheDir: o.Base.cacheDir(), Version: o.Base.Ollama.Version, Logger: o.Log}
		if e.ollama, err = embed.EnsureServer(ctx, e.ocfg); err != nil {
			e.Close()
			return nil, fmt.Errorf("start ollama: %w", err)
		}
	}
	e.ohost = e.ocfg.Host
	return e, nil
}

func (e *soakEnv) startNATS() error {
	if err := os.MkdirAll(e.store, 0o755); err != nil {
		return err
	}
	srv, err := ingest.StartServer(ingest.ServerConfig{Listen: e.listen, StoreDir: e.store})
	if err != nil {
		return err
	}
	e.srv = srv
	return nil
}

// Close stops the client and the NATS server (not the Ollama).
func (e *soakEnv) Close() {
	if e.nc != nil {
		e.nc.Close()
	}
	if e.srv != nil {
		e.srv.Shutdown()
	}
}

// soakWorker is one `attune worker` child process.
type soakWorker struct {
	cmd  *exec.Cmd
	dir  string
	log  string
	done chan error
}

// start runs `attune worker` on dataDir against this environment and
// waits until it consumes.
func (e *soakEnv) start(ctx context.Context, dataDir string) (*soakWorker, error) {
	e.n++
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, err
	}
	logPath := filepath.Join(dataDir, fmt.Sprintf("worker-%d.log", e.n))
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	args := []string{"worker",
		"--set", "data_dir=" + dataDir,
		"--set", "nats.url=nats://" + e.listen,
		"--set", "ollama.host=" + e.ohost,
		"--set", "ollama.manage=false",
		"--set", "nats.ack_wait=" + e.o.AckWait.String(),
		"--set", "nats.retry_base=200ms",
		"--set", "nats.retry_max=2s",
		"--set", "nats.drain=20s",
		"--set", "cluster.recluster_every=0",
		"--set", "cluster.min_events=50",
		"--set", "cluster.k_max=12",
		"--set", "log_level=info",
		// Several workers run side by side: no fixed HTTP port.
		"--set", "http.listen=127.0.0.1:0",
	}
	args = append(args, e.o.Args...)
	cmd := exec.Command(e.o.Bin, args...)
	cmd.Stdout, cmd.Stderr = lf, lf
	// Only the settings above: none of the soak's own ATTUNE_* overrides.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ATTUNE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	// Its own process group: a kill -9 hits the worker and nothing else.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, err
	}
	w := &soakWorker{cmd: cmd, dir: dataDir, log: logPath, done: make(chan error, 1)}
	go func() {
		w.done <- cmd.Wait()
		lf.Close()
	}()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		b, _ := os.ReadFile(logPath)
		if bytes.Contains(b, []byte("worker running")) {
			return w, nil
		}
		select {
		case err := <-w.done:
			w.done <- err
			b, _ = os.ReadFile(logPath)
			return nil, fmt.Errorf("worker exited at start (%v): %s", err, tailLines(b, 15))
		case <-ctx.Done():
			w.kill()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			w.kill()
			return nil, fmt.Errorf("worker not running after 3m: %s", tailLines(b, 15))
		}
	}
}

func tailLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// rss records the worker's peak RSS so far (VmHWM) and returns it in MiB.
func (e *soakEnv) rss(w *soakWorker) float64 {
	mb := procPeakRSSMiB(w.cmd.Process.Pid)
	e.mu.Lock()
	e.peak = max(e.peak, mb)
	e.mu.Unlock()
	return mb
}

func procPeakRSSMiB(pid int) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}

// kill is kill -9 of the worker's process group; it waits for the exit.
func (w *soakWorker) kill() {
	_ = syscall.Kill(-w.cmd.Process.Pid, syscall.SIGKILL)
	err := <-w.done
	w.done <- err
}

// term sends SIGTERM and waits for the exit; nil means exit status 0.
func (w *soakWorker) term(limit time.Duration) error {
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-w.done:
		w.done <- err
		return err
	case <-time.After(limit):
		w.kill()
		return fmt.Errorf("worker did not exit %s after SIGTERM", limit)
	}
}

func (e *soakEnv) control(ctx context.Context, verb string, out any) error {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	return ingest.Control(cctx, e.nc, verb, nil, out)
}

// indexedDocs asks the worker how many events its index holds.
func (e *soakEnv) indexedDocs(ctx context.Context) (int, error) {
	var s stats
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := ingest.Control(cctx, e.nc, "stats", nil, &s); err != nil {
		return 0, err
	}
	return int(s.IndexedDocs), nil
}

// publish sends records and returns what JetStream stored.
func (e *soakEnv) publish(ctx context.Context, recs []ingest.Record) (ingest.PublishResult, error) {
	pctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	return ingest.Publish(pctx, e.js, func(yield func(ingest.Record, error) bool) {
		for _, r := range recs {
			if !yield(r, nil) {
				return
			}
		}
	}, 256, nil)
}

// drained waits until the consumer has nothing pending and the DLQ holds
// wantDLQ letters, checking workers are alive.
func (e *soakEnv) drained(ctx context.Context, limit time.Duration, wantDLQ int, ws ...*soakWorker) error {
	deadline := time.Now().Add(limit)
	for {
		for _, w := range ws {
			select {
			case err := <-w.done:
				w.done <- err
				b, _ := os.ReadFile(w.log)
				return fmt.Errorf("worker died (%v): %s", err, tailLines(b, 20))
			default:
			}
			e.rss(w)
		}
		cons, err := e.js.Consumer(ctx, "ATTUNE_EVENTS", "attune-worker")
		if err == nil {
			n, perr := ingest.Pending(ctx, cons)
			if perr == nil && n == 0 && e.dlqCount(ctx) >= wantDLQ {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("stream not drained after %s", limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (e *soakEnv) dlqCount(ctx context.Context) int {
	s, err := e.js.Stream(ctx, "ATTUNE_DLQ")
	if err != nil {
		return -1
	}
	info, err := s.Info(ctx)
	if err != nil {
		return -1
	}
	return int(info.State.Msgs)
}

// dlqReasons reads every dead letter: reasons counted, and the ids of the
// good events among them (must be none).
func (e *soakEnv) dlqReasons(ctx context.Context, good map[string]bool) (map[string]int, int, error) {
	letters, err := ingest.ListDeadLetters(ctx, e.js, "ATTUNE_DLQ", "", 0)
	if err != nil {
		return nil, 0, err
	}
	reasons, goodDead := map[string]int{}, 0
	for _, dl := range letters {
		reasons[dl.Reason]++
		var ev struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(dl.Payload, &ev) == nil && good[ev.ID] {
			goodDead++
		}
	}
	return reasons, goodDead, nil
}

// verifyShards opens each worker's index and store after the workers
// stopped and counts every good event: found once, lost, or in more than
// one shard.
func verifyShards(ctx context.Context, dirs []string, ids []string) (found, lost, dups, docs, stored int, err error) {
	seen := make(map[string]int, len(ids))
	for _, dir := range dirs {
		ix, err := index.Open(filepath.Join(dir, "index"))
		if err != nil {
			return 0, 0, 0, 0, 0, fmt.Errorf("reopen index of %s: %w", dir, err)
		}
		n, err := ix.CountEvents(ctx)
		if err == nil {
			docs += int(n)
			var has map[string]bool
			for i := 0; i < len(ids) && err == nil; i += 5000 {
				has, err = ix.Has(ctx, ids[i:min(i+5000, len(ids))])
				for id, ok := range has {
					if ok {
						seen[id]++
					}
				}
			}
		}
		cerr := ix.Close()
		if err != nil || cerr != nil {
			return 0, 0, 0, 0, 0, errors.Join(err, cerr)
		}
		st, err := cluster.OpenStore(filepath.Join(dir, "segments.db"))
		if err != nil {
			return 0, 0, 0, 0, 0, fmt.Errorf("reopen store of %s: %w", dir, err)
		}
		m, err := st.Len()
		_ = st.Close()
		if err != nil {
			return 0, 0, 0, 0, 0, err
		}
		stored += m
	}
	for _, id := range ids {
		switch c := seen[id]; {
		case c == 0:
			lost++
		default:
			found++
			dups += c - 1
		}
	}
	// Documents beyond the good ids would be events indexed that should not
	// have been (or twice under another id).
	dups += max(0, docs-found-dups)
	return found, lost, dups, docs, stored, nil
}

func sameSegments(a, b []attune.Segment) bool {
	key := func(ss []attune.Segment) []string {
		var out []string
		for _, s := range ss {
			out = append(out, fmt.Sprintf("%s/%s/%d", s.ID, s.Name, s.Size))
		}
		slices.Sort(out)
		return out
	}
	return len(a) > 0 && slices.Equal(key(a), key(b))
}

// runSoak runs the crash/outage run, then the throughput runs, then the
// backlog run.
func runSoak(ctx context.Context, o soakOpts) (*soakResult, error) {
	if o.AckWait == 0 {
		o.AckWait = 10 * time.Second
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Minute
	}
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x5eed))
	res := &soakResult{EventsPerSec: map[string]float64{}}
	corpus, err := soakCorpus(o.Base.Model.DatasetsDir)
	if err != nil {
		return nil, err
	}
	o.say("%d distinct real texts in the corpus", len(corpus))
	good, err := soakRecords(corpus, o.Events)
	if err != nil {
		return nil, err
	}
	poison := soakPoison(o.Poison, o.Big)
	recs := make([]ingest.Record, 0, len(good)+len(poison))
	recs = append(recs, good...)
	for _, p := range poison {
		i := rng.IntN(len(recs) + 1)
		recs = slices.Insert(recs, i, p)
	}
	ids := make([]string, len(good))
	goodSet := make(map[string]bool, len(good))
	for i, r := range good {
		ids[i], goodSet[r.ID] = r.ID, true
	}

	e, err := newSoakEnv(ctx, o, "crash", nil, embed.ServerConfig{})
	if err != nil {
		return nil, err
	}
	defer func() {
		if e.ollama != nil {
			_ = e.ollama.Stop()
		}
	}()
	defer e.Close()

	dataDir := filepath.Join(o.Dir, "crash", "worker")
	w, err := e.start(ctx, dataDir)
	if err != nil {
		return nil, err
	}
	defer func() { w.kill() }()
	start := time.Now()
	pubDone := make(chan error, 1)
	go func() {
		r, err := e.publish(ctx, recs)
		res.Published = r.Published
		pubDone <- err
	}()

	// Kill points, then the Ollama outage, then the NATS restart, at
	// increasing fractions of the good events indexed. Kills and the outage
	// fall within the first pass over the corpus: replayed texts are served
	// from the vector cache and would not need Ollama at all.
	fresh := float64(min(o.Events, len(corpus)))
	var points []int
	for i := 0; i < o.Kills; i++ {
		points = append(points, int(fresh*(0.08+0.55*rng.Float64())))
	}
	slices.Sort(points)
	outageAt, restartAt := int(fresh*0.7), int(float64(o.Events)*0.8)
	var segsBefore []attune.Segment
	waitIndexed := func(n int) error {
		deadline := time.Now().Add(o.Timeout)
		for {
			select {
			case err := <-w.done:
				w.done <- err
				b, _ := os.ReadFile(w.log)
				return fmt.Errorf("worker died (%v): %s", err, tailLines(b, 20))
			default:
			}
			e.rss(w)
			if got, err := e.indexedDocs(ctx); err == nil && got >= n {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("fewer than %d events indexed after %s", n, o.Timeout)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	for i, p := range points {
		if err := waitIndexed(p); err != nil {
			return res, fmt.Errorf("before kill %d: %w", i+1, err)
		}
		// Let it run a random moment more, so the kill lands anywhere in a
		// batch: embedding, storing, indexing or acking.
		time.Sleep(time.Duration(rng.IntN(700)) * time.Millisecond)
		if i == 1 {
			// Segment state must survive a kill exactly: fit now (no
			// automatic re-cluster runs in the soak), kill, compare.
			if err := e.control(ctx, "recluster", &segsBefore); err != nil {
				return res, fmt.Errorf("recluster: %w", err)
			}
		}
		e.rss(w)
		w.kill()
		res.Kills++
		o.say("kill -9 #%d after ~%d events indexed", res.Kills, p)
		if w, err = e.start(ctx, dataDir); err != nil {
			return res, fmt.Errorf("restart after kill %d: %w", i+1, err)
		}
		if i == 1 {
			var after []attune.Segment
			if err := e.control(ctx, "segments", &after); err != nil {
				return res, fmt.Errorf("segments after kill: %w", err)
			}
			res.SegmentsRecovered = sameSegments(segsBefore, after)
			res.Segments = len(after)
			if !res.SegmentsRecovered {
				res.Notes = append(res.Notes, fmt.Sprintf("segments before kill %v, after %v", segsBefore, after))
			}
		}
	}
	if o.Kills < 2 {
		res.Notes = append(res.Notes, "segment recovery is checked at the second kill; fewer kills skip it")
	}
	if o.Outage > 0 {
		if err := waitIndexed(outageAt); err != nil {
			return res, fmt.Errorf("before the ollama outage: %w", err)
		}
		o.say("stopping ollama for %s", o.Outage)
		t0 := time.Now()
		if err := e.ollama.Stop(); err != nil {
			return res, fmt.Errorf("stop ollama: %w", err)
		}
		for time.Since(t0) < o.Outage {
			var h Health
			if err := e.control(ctx, "health", &h); err == nil && !h.OllamaReachable && h.Worker.Status == ingest.StatusWaiting {
				if !res.OllamaOutageSeen {
					hc := h
					res.OutageHealth = &hc
				}
				res.OllamaOutageSeen = true
			}
			time.Sleep(500 * time.Millisecond)
		}
		srv, err := embed.EnsureServer(ctx, e.ocfg)
		if err != nil {
			return res, fmt.Errorf("restart ollama: %w", err)
		}
		e.ollama = srv
		res.OutageSeconds += time.Since(t0).Seconds()
		o.say("ollama back after %.0fs", time.Since(t0).Seconds())
	}
	if err := <-pubDone; err != nil {
		return res, fmt.Errorf("publish: %w", err)
	}
	pubDone <- nil
	if o.Restart {
		if err := waitIndexed(restartAt); err != nil {
			return res, fmt.Errorf("before the NATS restart: %w", err)
		}
		t0 := time.Now()
		e.srv.Shutdown()
		time.Sleep(2 * time.Second)
		if err := e.startNATS(); err != nil {
			return res, fmt.Errorf("restart nats: %w", err)
		}
		res.NATSRestarts++
		res.OutageSeconds += time.Since(t0).Seconds()
		o.say("NATS server restarted")
	}
	if err := e.drained(ctx, o.Timeout, len(poison), w); err != nil {
		return res, err
	}
	res.CrashRunSeconds = time.Since(start).Seconds()
	e.rss(w)
	e.mu.Lock()
	res.CrashPeakRSSMB = e.peak
	e.mu.Unlock()
	// Graceful stop: exit 0, nothing left unacknowledged.
	res.GracefulExit = w.term(time.Minute) == nil
	if cons, err := e.js.Consumer(ctx, "ATTUNE_EVENTS", "attune-worker"); err == nil {
		if info, err := cons.Info(ctx); err == nil {
			res.AckPendingAtStop = info.NumAckPending
		}
	}
	found, lost, dups, _, stored, err := verifyShards(ctx, []string{dataDir}, ids)
	if err != nil {
		return res, err
	}
	res.Indexed, res.Lost, res.Duplicates, res.StoreEvents = found, lost, dups, stored
	res.PoisonPublished = len(poison)
	res.DeadLettered = e.dlqCount(ctx)
	if res.DeadLetterReasons, res.GoodDeadLettered, err = e.dlqReasons(ctx, goodSet); err != nil {
		return res, err
	}
	o.say("crash run: %d indexed, %d lost, %d duplicates, %d dead-lettered, %d kills, %.0fs", found, lost, dups, res.DeadLettered, res.Kills, res.CrashRunSeconds)

	e.mu.Lock()
	res.PeakRSSMB = max(res.PeakRSSMB, e.peak)
	e.mu.Unlock()
	ollama, ocfg := e.ollama, e.ocfg
	e.ollama = nil // the throughput runs keep using it
	defer func() { _ = ollama.Stop() }()
	if o.TputEvents > 0 {
		tput := good[:min(o.TputEvents, len(good))]
		tids := ids[:len(tput)]
		for k := 1; k <= max(1, o.TputMax); k++ {
			eps, dups, err := soakThroughput(ctx, o, k, tput, tids, ollama, ocfg, res)
			if err != nil {
				return res, fmt.Errorf("throughput with %d workers: %w", k, err)
			}
			res.EventsPerSec[strconv.Itoa(k)] = eps
			res.ShardDuplicates += dups
			o.say("%d worker(s): %.1f events/s", k, eps)
			if o.TputShared {
				so := o
				so.Dir = filepath.Join(o.Dir, "shared")
				so.Args = append(slices.Clone(o.Args), "--set", "cluster.shared=true")
				seps, sdups, err := soakThroughput(ctx, so, k, tput, tids, ollama, ocfg, res)
				if err != nil {
					return res, fmt.Errorf("throughput with %d shared workers: %w", k, err)
				}
				if res.EventsPerSecShared == nil {
					res.EventsPerSecShared, res.SharedRatio = map[string]float64{}, map[string]float64{}
				}
				res.EventsPerSecShared[strconv.Itoa(k)] = seps
				res.SharedRatio[strconv.Itoa(k)] = seps / eps
				res.ShardDuplicates += sdups
				o.say("%d shared worker(s): %.1f events/s (%.2fx unshared)", k, seps, seps/eps)
			}
		}
		res.Ratio = map[string]float64{}
		for k, v := range res.EventsPerSec {
			res.Ratio[k] = v / res.EventsPerSec["1"]
		}
	}
	if o.Backlog > 0 {
		if err := soakBacklog(ctx, o, corpus, ollama, ocfg, res); err != nil {
			return res, fmt.Errorf("backlog: %w", err)
		}
	}
	e.mu.Lock()
	res.PeakRSSMB = max(res.PeakRSSMB, e.peak)
	e.mu.Unlock()
	return res, nil
}

// soakThroughput publishes recs while k workers (one index shard each) wait
// on a fresh server, and measures events/s until the stream is drained.
func soakThroughput(ctx context.Context, o soakOpts, k int, recs []ingest.Record, ids []string, ollama *embed.Server, ocfg embed.ServerConfig, res *soakResult) (float64, int, error) {
	name := fmt.Sprintf("tput-%d", k)
	e, err := newSoakEnv(ctx, o, name, ollama, ocfg)
	if err != nil {
		return 0, 0, err
	}
	defer e.Close()
	var ws []*soakWorker
	var dirs []string
	defer func() {
		for _, w := range ws {
			w.kill()
		}
	}()
	for i := 0; i < k; i++ {
		dir := filepath.Join(o.Dir, name, fmt.Sprintf("worker-%d", i))
		w, err := e.start(ctx, dir)
		if err != nil {
			return 0, 0, err
		}
		ws, dirs = append(ws, w), append(dirs, dir)
	}
	t0 := time.Now()
	if _, err := e.publish(ctx, recs); err != nil {
		return 0, 0, err
	}
	if err := e.drained(ctx, o.Timeout, 0, ws...); err != nil {
		return 0, 0, err
	}
	took := time.Since(t0)
	for _, w := range ws {
		e.rss(w)
		if err := w.term(time.Minute); err != nil {
			return 0, 0, fmt.Errorf("graceful stop: %w", err)
		}
	}
	e.mu.Lock()
	res.PeakRSSMB = max(res.PeakRSSMB, e.peak)
	res.TputPeakRSSMB = max(res.TputPeakRSSMB, e.peak)
	if res.TputPeakRSSByWorkers == nil {
		res.TputPeakRSSByWorkers = map[string]float64{}
	}
	res.TputPeakRSSByWorkers[strconv.Itoa(k)] = e.peak
	e.mu.Unlock()
	_, lost, dups, _, _, err := verifyShards(ctx, dirs, ids)
	if err != nil {
		return 0, 0, err
	}
	if lost > 0 {
		return 0, 0, fmt.Errorf("%d events lost", lost)
	}
	return float64(len(recs)) / took.Seconds(), dups, nil
}

// soakBacklog measures back-pressure: one worker runs for o.BacklogRun
// against a backlog of o.BacklogBaseline events (enough to keep it busy the
// whole time), then against o.Backlog; its peak RSS must not follow the
// backlog: a worker holds fetch_batch events at a time, the rest wait in
// JetStream.
func soakBacklog(ctx context.Context, o soakOpts, corpus []attune.Event, ollama *embed.Server, ocfg embed.ServerConfig, res *soakResult) error {
	if o.BacklogBaseline > 0 {
		rss, n, err := soakBacklogRun(ctx, o, "backlog-baseline", o.BacklogBaseline, corpus, ollama, ocfg)
		if err != nil {
			return err
		}
		res.BacklogBaselineEvents, res.BacklogBaselinePeakRSSMB, res.BacklogBaselineIndexed = o.BacklogBaseline, rss, n
	}
	rss, n, err := soakBacklogRun(ctx, o, "backlog", o.Backlog, corpus, ollama, ocfg)
	if err != nil {
		return err
	}
	res.BacklogEvents, res.BacklogPeakRSSMB, res.BacklogIndexed = o.Backlog, rss, n
	if res.BacklogBaselinePeakRSSMB > 0 {
		res.BacklogRSSRatio = rss / res.BacklogBaselinePeakRSSMB
	}
	res.PeakRSSMB = max(res.PeakRSSMB, rss)
	return nil
}

func soakBacklogRun(ctx context.Context, o soakOpts, name string, backlog int, corpus []attune.Event, ollama *embed.Server, ocfg embed.ServerConfig) (float64, int, error) {
	e, err := newSoakEnv(ctx, o, name, ollama, ocfg)
	if err != nil {
		return 0, 0, err
	}
	defer e.Close()
	const chunk = 50000
	for i := 0; i < backlog; i += chunk {
		recs, err := soakRecords(corpus, min(i+chunk, backlog))
		if err != nil {
			return 0, 0, err
		}
		if _, err := e.publish(ctx, recs[i:]); err != nil {
			return 0, 0, err
		}
		o.say("%s: %d published", name, min(i+chunk, backlog))
	}
	w, err := e.start(ctx, filepath.Join(o.Dir, name, "worker"))
	if err != nil {
		return 0, 0, err
	}
	defer w.kill()
	end := time.Now().Add(o.BacklogRun)
	for time.Now().Before(end) {
		e.rss(w)
		time.Sleep(time.Second)
	}
	n, _ := e.indexedDocs(ctx)
	rss := e.rss(w)
	if err := w.term(time.Minute); err != nil {
		return 0, 0, fmt.Errorf("graceful stop: %w", err)
	}
	o.say("%s: %d waiting, %d indexed in %s, peak RSS %.1f MiB", name, backlog, n, o.BacklogRun, rss)
	return rss, n, nil
}
