package embed

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

// These tests run a real Ollama. They use an existing binary (see
// locateBinary; the default cache is ~/.cache/attune/bin/ollama) and never
// build one. Without a binary they skip, unless CI=true, where they fail.

// ollamaBinary returns the ollama binary the tests run.
func ollamaBinary(t testing.TB) string {
	t.Helper()
	cfg, err := ServerConfig{}.withDefaults()
	if err == nil {
		var bin string
		if bin, err = locateBinary(cfg); err == nil {
			return bin
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("no ollama binary, and CI=true requires the Ollama tests to run: %v", err)
	}
	t.Skipf("no ollama binary (run attune once, or put ollama on PATH): %v", err)
	return ""
}

// freeLoopbackAddr returns a loopback address whose port was free a moment
// ago.
func freeLoopbackAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// testServerConfig is a managed server on a free port, with its own cache
// and models directory, so tests never touch a real installation.
func testServerConfig(t testing.TB) ServerConfig {
	t.Helper()
	return ServerConfig{
		Host:     freeLoopbackAddr(t),
		Manage:   true,
		Binary:   ollamaBinary(t),
		CacheDir: t.TempDir(),
		Logger:   slog.New(slog.NewTextHandler(testWriter{t}, nil)),
	}
}

// startOllama starts a managed server stopped at the end of the test.
func startOllama(t testing.TB, cfg ServerConfig) *Server {
	t.Helper()
	s, err := EnsureServer(t.Context(), cfg)
	if err != nil {
		t.Fatalf("EnsureServer: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return s
}

// testWriter sends log output to t.Log, so it shows only for failures
// and with -v.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func portOpen(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func TestManagedServerLifecycle(t *testing.T) {
	cfg := testServerConfig(t)
	s := startOllama(t, cfg)
	if !s.Managed() {
		t.Fatal("Managed() = false for a server EnsureServer started")
	}
	if want := "http://" + cfg.Host; s.Host() != want {
		t.Errorf("Host() = %s, want %s", s.Host(), want)
	}
	if v, err := s.Version(t.Context()); err != nil || v == "" {
		t.Errorf("Version = %q, %v", v, err)
	}
	if fi, err := os.Stat(s.LogPath()); err != nil || fi.Size() == 0 {
		t.Errorf("server log %s: %v (empty or missing)", s.LogPath(), err)
	}

	// A second EnsureServer finds the running server and leaves it alone.
	again, err := EnsureServer(t.Context(), cfg)
	if err != nil {
		t.Fatalf("EnsureServer with a server running: %v", err)
	}
	if again.Managed() || again.Host() != s.Host() {
		t.Errorf("second EnsureServer: Managed %v Host %s; want the running server, unmanaged", again.Managed(), again.Host())
	}
	if err := again.Stop(); err != nil || !portOpen(cfg.Host) {
		t.Errorf("Stop on an unmanaged server: %v, port open %v; want a no-op", err, portOpen(cfg.Host))
	}

	if err := s.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	select {
	case <-s.Done():
	default:
		t.Error("Done not closed after Stop")
	}
	if portOpen(cfg.Host) {
		t.Errorf("port %s still open after Stop", cfg.Host)
	}
	if err := s.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestEnsureServerWithoutManaging(t *testing.T) {
	cfg := testServerConfig(t)
	cfg.Manage = false
	if s, err := EnsureServer(t.Context(), cfg); !errors.Is(err, ErrNoServer) {
		t.Fatalf("EnsureServer(Manage=false) on a free port = %v, %v; want ErrNoServer", s, err)
	}
	if portOpen(cfg.Host) {
		t.Error("a server was started although Manage is false")
	}
}

func TestEnsureServerStaysOnLoopback(t *testing.T) {
	for _, host := range []string{
		"0.0.0.0:" + portOf(t, freeLoopbackAddr(t)), // every interface
		"https://" + freeLoopbackAddr(t),            // ollama serve has no TLS
		"http://" + freeLoopbackAddr(t) + "/ollama", // a path means a proxy
	} {
		cfg := testServerConfig(t)
		cfg.Host = host
		s, err := EnsureServer(t.Context(), cfg)
		if !errors.Is(err, ErrNoServer) {
			if s != nil {
				s.Stop()
			}
			t.Errorf("EnsureServer(%s) = %v; want a refusal wrapping ErrNoServer", host, err)
		}
	}
}

func portOf(t testing.TB, addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return port
}

func TestServeFailureReportsLog(t *testing.T) {
	// Something that is not Ollama holds the port: serve cannot bind, and
	// the error must say why.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	cfg := testServerConfig(t)
	cfg.Host = l.Addr().String()
	s, err := EnsureServer(t.Context(), cfg)
	if err == nil {
		s.Stop()
		t.Fatal("EnsureServer succeeded on a port held by another program")
	}
	if !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("error %q does not carry the server's reason", err)
	}
}

func TestEnsureServerRejectsOldOllama(t *testing.T) {
	old := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/version" {
			w.Write([]byte(`{"version":"0.1.32"}`))
			return
		}
		http.NotFound(w, r)
	}))
	defer old.Close()
	_, err := EnsureServer(t.Context(), ServerConfig{Host: old.URL, Manage: true, CacheDir: t.TempDir()})
	if !errors.Is(err, ErrOldServer) || !strings.Contains(err.Error(), "upgrade") {
		t.Fatalf("EnsureServer = %v; want ErrOldServer naming the fix", err)
	}
}
