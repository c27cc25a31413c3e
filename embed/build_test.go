package embed

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeGo stands in for `go install` so that the build logic (lock, temp
// directory, rename, version stamp, streamed output) can be tested in
// milliseconds; TestBuildOllamaForReal runs the real build on request.
const fakeGo = `#!/bin/sh
[ "$1" = install ] && [ "$2" = -v ] || { echo "unexpected args: $*" >&2; exit 2; }
case "$3" in github.com/ollama/ollama@*) ;; *) echo "unexpected package $3" >&2; exit 2;; esac
[ "$CGO_ENABLED" = 1 ] || { echo "cgo disabled" >&2; exit 2; }
[ "$CGO_CFLAGS" = "-O3 -march=native" ] && [ "$CGO_CXXFLAGS" = "$CGO_CFLAGS" ] || { echo "not built for this CPU: CGO_CFLAGS=$CGO_CFLAGS" >&2; exit 2; }
echo "go: downloading github.com/ollama/ollama ${3#*@}" >&2
echo "github.com/ollama/ollama/llama"
if [ -n "$FAKE_GO_FAIL" ]; then echo "llama.cpp: fatal error: ggml.h: No such file or directory" >&2; exit 1; fi
sleep 0.3
echo "${3#*@}" >> "$FAKE_GO_COUNT"
printf '#!/bin/sh\nexit 0\n' > "$GOBIN/ollama"
chmod +x "$GOBIN/ollama"
`

// withFakeGo puts the fake go, a dummy C compiler and the few tools the
// fake needs alone on PATH (so no real ollama is found), and returns the
// file each completed build appends a line to.
func withFakeGo(t *testing.T) (countFile string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the fake go toolchain is a shell script")
	}
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write("go", fakeGo)
	write("gcc", "#!/bin/sh\nexit 0\n")
	for _, tool := range []string{"sleep", "chmod"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Skipf("no %s for the fake go: %v", tool, err)
		}
		if err := os.Symlink(p, filepath.Join(dir, tool)); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", dir)
	t.Setenv("CC", "")
	t.Setenv("CGO_CFLAGS", "")
	countFile = filepath.Join(t.TempDir(), "builds")
	t.Setenv("FAKE_GO_COUNT", countFile)
	return countFile
}

func builds(t *testing.T, countFile string) []string {
	t.Helper()
	b, err := os.ReadFile(countFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(b))
}

// syncBuffer is a bytes.Buffer safe for concurrent loggers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func testBuildConfig(t *testing.T, logs *syncBuffer) ServerConfig {
	t.Helper()
	cfg, err := ServerConfig{
		CacheDir: t.TempDir(),
		Logger:   slog.New(slog.NewTextHandler(logs, nil)),
	}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestBuildOllamaOncePerMachine(t *testing.T) {
	countFile := withFakeGo(t)
	var logs syncBuffer
	cfg := testBuildConfig(t, &logs)

	// Two processes' worth of callers at once: the lock lets one build
	// and the other use its binary.
	var wg sync.WaitGroup
	bins := make([]string, 2)
	errs := make([]error, 2)
	for i := range bins {
		wg.Go(func() { bins[i], errs[i] = resolveBinary(t.Context(), cfg) })
	}
	wg.Wait()
	want := cachedBinary(cfg.CacheDir)
	for i := range bins {
		if errs[i] != nil {
			t.Fatalf("resolveBinary %d: %v", i, errs[i])
		}
		if bins[i] != want {
			t.Errorf("resolveBinary %d = %s, want %s", i, bins[i], want)
		}
	}
	if got := builds(t, countFile); len(got) != 1 || got[0] != defaultVersion {
		t.Errorf("builds = %q, want exactly one of %s", got, defaultVersion)
	}
	wantStamp := defaultVersion + " cflags=-O3 -march=native"
	if b, err := os.ReadFile(stampPath(cfg.CacheDir)); err != nil || strings.TrimSpace(string(b)) != wantStamp {
		t.Errorf("version stamp = %q, %v; want %s", b, err, wantStamp)
	}
	if !strings.Contains(logs.String(), "go: downloading github.com/ollama/ollama") {
		t.Errorf("build output did not reach the logger:\n%s", logs.String())
	}
	assertNoBuildLeftovers(t, cfg)

	// Later calls use the cached build.
	if _, err := resolveBinary(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	if got := builds(t, countFile); len(got) != 1 {
		t.Errorf("a cached binary was rebuilt: builds = %q", got)
	}

	// A build from before the CPU flags is rebuilt once.
	if err := os.WriteFile(stampPath(cfg.CacheDir), []byte(defaultVersion+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := resolveBinary(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	if got := builds(t, countFile); len(got) != 2 {
		t.Errorf("a build without CPU flags was not rebuilt: builds = %q", got)
	}

	// Another version is rebuilt.
	cfg.Version = "v0.6.6"
	if _, err := resolveBinary(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	if got := builds(t, countFile); len(got) != 3 || got[2] != "v0.6.6" {
		t.Errorf("builds = %q after asking for v0.6.6", got)
	}
}

// assertNoBuildLeftovers checks that only the binary, its stamp and the
// lock are left in the bin directory: no temporary build directory.
func assertNoBuildLeftovers(t *testing.T, cfg ServerConfig) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(cfg.CacheDir, "bin"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		switch e.Name() {
		case binaryName(), binaryName() + ".version", ".ollama-build.lock":
		default:
			t.Errorf("left behind in bin/: %s", e.Name())
		}
	}
}

func TestBuildOllamaFailure(t *testing.T) {
	countFile := withFakeGo(t)
	t.Setenv("FAKE_GO_FAIL", "1")
	var logs syncBuffer
	cfg := testBuildConfig(t, &logs)
	_, err := resolveBinary(t.Context(), cfg)
	if err == nil {
		t.Fatal("resolveBinary succeeded with a failing build")
	}
	if !strings.Contains(err.Error(), "ggml.h: No such file") {
		t.Errorf("error %q lacks the build's last output", err)
	}
	if _, err := os.Stat(cachedBinary(cfg.CacheDir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("failed build left a binary: %v", err)
	}
	if got := builds(t, countFile); len(got) != 0 {
		t.Errorf("builds = %q", got)
	}
	assertNoBuildLeftovers(t, cfg)
}

func TestExplicitBinaryIsNeverBuilt(t *testing.T) {
	countFile := withFakeGo(t)
	var logs syncBuffer
	cfg := testBuildConfig(t, &logs)
	cfg.Binary = filepath.Join(t.TempDir(), "ollama")
	if _, err := resolveBinary(t.Context(), cfg); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("resolveBinary with a missing explicit binary: %v, want os.ErrNotExist", err)
	}
	if err := os.WriteFile(cfg.Binary, []byte("not executable"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := resolveBinary(t.Context(), cfg); err == nil {
		t.Error("resolveBinary accepted a file that is not executable")
	}
	if got := builds(t, countFile); len(got) != 0 {
		t.Errorf("builds = %q, want none", got)
	}
}

func TestNoToolchain(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	var logs syncBuffer
	cfg := testBuildConfig(t, &logs)
	_, err := resolveBinary(t.Context(), cfg)
	if !errors.Is(err, ErrNoServer) || !strings.Contains(err.Error(), "no Go toolchain") {
		t.Fatalf("resolveBinary without ollama or go: %v", err)
	}
}

func TestLockFileWaitsForHolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	logger := slog.New(slog.DiscardHandler)
	unlock, err := lockFile(t.Context(), path, logger)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if _, err := lockFile(ctx, path, logger); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second lockFile while held: %v, want DeadlineExceeded", err)
	}
	time.AfterFunc(100*time.Millisecond, unlock)
	unlock2, err := lockFile(t.Context(), path, logger)
	if err != nil {
		t.Fatalf("lockFile after release: %v", err)
	}
	unlock2()
}

// TestBuildOllamaForReal runs the real `go install` into a temporary cache
// (3-5 minutes of CPU) and starts the result. Opt in with
// ATTUNE_TEST_BUILD_OLLAMA=1.
func TestBuildOllamaForReal(t *testing.T) {
	if os.Getenv("ATTUNE_TEST_BUILD_OLLAMA") != "1" {
		t.Skip("set ATTUNE_TEST_BUILD_OLLAMA=1 to build ollama (several minutes)")
	}
	if p, err := exec.LookPath("ollama"); err == nil {
		t.Skipf("ollama on PATH (%s) would be used instead of a build", p)
	}
	cfg := ServerConfig{
		Host:     freeLoopbackAddr(t),
		Manage:   true,
		CacheDir: t.TempDir(),
		Logger:   slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})),
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Minute)
	defer cancel()
	start := time.Now()
	s, err := EnsureServer(ctx, cfg)
	if err != nil {
		t.Fatalf("EnsureServer with a build: %v", err)
	}
	t.Cleanup(func() { s.Stop() })
	t.Logf("built and started ollama in %s", time.Since(start).Round(time.Second))
	if !s.Managed() {
		t.Fatal("server not managed")
	}
	if _, err := os.Stat(cachedBinary(cfg.CacheDir)); err != nil {
		t.Fatalf("no cached binary after the build: %v", err)
	}
	if _, err := s.Version(ctx); err != nil {
		t.Fatal(err)
	}
}
