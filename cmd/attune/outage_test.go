package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/attune-cx/attune/ingest"
)

// killOllama kills (SIGKILL, whole process group) the ollama server that
// serves on host, as a crash would, and reports whether it found one.
func killOllama(t *testing.T, host string) bool {
	t.Helper()
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		cmdline, err := os.ReadFile(filepath.Join(p, "cmdline"))
		if err != nil || !bytes.Contains(cmdline, []byte("ollama")) || !bytes.Contains(cmdline, []byte("serve")) {
			continue
		}
		env, err := os.ReadFile(filepath.Join(p, "environ"))
		if err != nil || !bytes.Contains(env, []byte("OLLAMA_HOST="+host+"\x00")) {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(p))
		pgid, err := syscall.Getpgid(pid)
		if err != nil {
			t.Fatal(err)
		}
		if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		return true
	}
	return false
}

// TestWorkerSurvivesOllamaCrash kills the managed Ollama while events flow:
// the worker must restart it, lose nothing and dead-letter nothing.
func TestWorkerSurvivesOllamaCrash(t *testing.T) {
	cfg := testConfig(t)
	requireOllama(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	a := newApp(cfg, testLogger(t))
	defer a.Close()
	defer cancel()
	rw, err := a.startWorker(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if !a.ollama.Managed() {
		t.Fatalf("test needs a managed Ollama; %s answered already", cfg.Ollama.Host)
	}
	good := tweetRecords(t, 600)
	publishAll(t, a, good)
	waitFor(t, "some events indexed", 2*time.Minute, func() bool { return rw.w.Stats().Indexed.Load() >= 64 })
	if !killOllama(t, cfg.Ollama.Host) {
		t.Fatalf("no ollama process serving %s found", cfg.Ollama.Host)
	}
	killedAt := rw.w.Stats().Indexed.Load()

	cons, err := a.js.Consumer(ctx, cfg.NATS.Stream, cfg.NATS.Consumer)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the stream to drain after the crash", 5*time.Minute, func() bool {
		n, err := ingest.Pending(ctx, cons)
		return err == nil && n == 0
	})
	n, err := a.ix.CountEvents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st := rw.w.Stats()
	t.Logf("killed after %d indexed; retried %d; indexed %d", killedAt, st.Retried.Load(), n)
	if n != uint64(len(good)) {
		t.Errorf("index holds %d events, want %d", n, len(good))
	}
	if st.DeadLettered.Load() != 0 {
		t.Errorf("%d events dead-lettered because Ollama was away", st.DeadLettered.Load())
	}
	if killedAt >= int64(len(good)) {
		t.Errorf("the crash came after all events were indexed")
	}
}
