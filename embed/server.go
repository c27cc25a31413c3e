package embed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ollama/ollama/api"
)

// ErrNoServer means no Ollama answers at the configured address and none
// could be started there.
var ErrNoServer = errors.New("no ollama server")

// ErrOldServer means the Ollama found is older than MinVersion.
var ErrOldServer = errors.New("ollama too old")

// MinVersion is the oldest Ollama release with /api/embed, which takes a
// batch of inputs and returns normalised vectors. Source builds report
// 0.0.0 and are accepted.
const MinVersion = "0.3.0"

// versionOK reports whether an Ollama reporting v is at least MinVersion.
// A version that does not parse is accepted: a failed embed says more than
// a guess.
func versionOK(v string) bool {
	parse := func(s string) (out [3]int, ok bool) {
		s = strings.TrimPrefix(s, "v")
		s, _, _ = strings.Cut(s, "-")
		parts := strings.Split(s, ".")
		if len(parts) < 2 || len(parts) > 3 {
			return out, false
		}
		for i, p := range parts {
			n, err := strconv.Atoi(p)
			if err != nil {
				return out, false
			}
			out[i] = n
		}
		return out, true
	}
	got, ok := parse(v)
	if !ok || got == [3]int{} {
		return true
	}
	want, _ := parse(MinVersion)
	for i := range got {
		if got[i] != want[i] {
			return got[i] > want[i]
		}
	}
	return true
}

const (
	// defaultVersion is the Ollama release built when no binary exists.
	// Later tags do not build from the module zip: their llama.cpp sources
	// are generated outside the Go module.
	defaultVersion = "v0.6.5"
	// keepAlive keeps the embedding model loaded in a managed server between
	// batches; reloading costs a few hundred milliseconds per cold request.
	keepAlive = "24h"
	// probeTimeout bounds one liveness request to /api/version.
	probeTimeout = 2 * time.Second
	// startTimeout bounds how long a managed server may take to answer.
	startTimeout = 60 * time.Second
	// stopGrace is how long Stop waits after SIGTERM before killing.
	stopGrace = 10 * time.Second
	// maxLogBytes is the size beyond which a server log is rotated at start.
	maxLogBytes = 64 << 20
	// logTailBytes is how much of the server log goes into a start error.
	logTailBytes = 2048
)

// ServerConfig says where to find Ollama and how to start one if none runs.
type ServerConfig struct {
	// Host is the address of the server, "host:port" or an http(s) URL.
	// Default "127.0.0.1:11434".
	Host string
	// Manage starts a server when none answers at Host. A managed server
	// binds to loopback only, so Host must then be a loopback address.
	Manage bool
	// Binary is the ollama executable to start. Default: `ollama` on PATH,
	// else CacheDir/bin/ollama, else one built there with `go install`.
	Binary string
	// CacheDir holds the built binary (bin/), server logs (logs/) and, by
	// default, the models. Default $HOME/.cache/attune.
	CacheDir string
	// ModelsDir is OLLAMA_MODELS for a managed server. Default
	// CacheDir/ollama-models. Unused for a server found running.
	ModelsDir string
	// Version is the github.com/ollama/ollama module version to build when
	// no binary exists. Default "v0.6.5".
	Version string
	// Logger receives progress (server start, build output). Default: discard.
	Logger *slog.Logger
}

// withDefaults returns the configuration with every empty field filled in.
func (cfg ServerConfig) withDefaults() (ServerConfig, error) {
	if cfg.Host == "" {
		cfg.Host = DefaultHost
	}
	if cfg.CacheDir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return cfg, fmt.Errorf("find cache directory: %w", err)
		}
		cfg.CacheDir = filepath.Join(home, ".cache", "attune")
	}
	if cfg.ModelsDir == "" {
		cfg.ModelsDir = filepath.Join(cfg.CacheDir, "ollama-models")
	}
	if cfg.Version == "" {
		cfg.Version = defaultVersion
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg, nil
}

// Server is an Ollama the process found running or started itself.
type Server struct {
	base    *url.URL
	managed bool
	logger  *slog.Logger

	// Set for a managed server only.
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed once the process has exited
	waitErr error         // the process's exit status, readable after done

	stopOnce sync.Once
	stopErr  error
}

// EnsureServer returns an Ollama answering at cfg.Host. If one answers, it is
// used as is (Managed reports false). Otherwise, if cfg.Manage is set and
// the host is a loopback address, EnsureServer starts `ollama serve` there,
// building the binary first if none can be found (several minutes, once per
// machine), and waits until it answers or ctx ends. The caller must Stop a
// managed server on shutdown; on Linux it is also killed if the process dies.
//
// Calling EnsureServer again after a managed server died starts a new one.
func EnsureServer(ctx context.Context, cfg ServerConfig) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	base, err := parseHost(cfg.Host)
	if err != nil {
		return nil, err
	}
	if v, err := probe(ctx, base); err == nil {
		if !versionOK(v) {
			return nil, fmt.Errorf("%w: the server at %s is ollama %s, attune needs %s or later: upgrade it, or point ollama.host elsewhere",
				ErrOldServer, base, v, MinVersion)
		}
		cfg.Logger.Info("using running ollama", "host", base.String(), "version", v)
		return &Server{base: base, logger: cfg.Logger}, nil
	} else if ctx.Err() != nil {
		return nil, fmt.Errorf("probe ollama at %s: %w", base, ctx.Err())
	} else if !cfg.Manage {
		return nil, fmt.Errorf("%w answers at %s (%v) and starting one is disabled", ErrNoServer, base, err)
	}
	if !isLoopback(base) || base.Scheme != "http" || base.Path != "" {
		return nil, fmt.Errorf("%w answers at %s, and a managed one is only started on a loopback http address", ErrNoServer, base)
	}
	bin, err := resolveBinary(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return startServer(ctx, cfg, base, bin)
}

// probe asks the server for its version, which every Ollama answers cheaply.
func probe(ctx context.Context, base *url.URL) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	return api.NewClient(base, http.DefaultClient).Version(ctx)
}

// startServer runs `bin serve` on base's loopback port and waits for it.
func startServer(ctx context.Context, cfg ServerConfig, base *url.URL, bin string) (*Server, error) {
	for _, dir := range []string{cfg.ModelsDir, filepath.Join(cfg.CacheDir, "logs")} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("start ollama: %w", err)
		}
	}
	// The log is per port so that servers of several instances (or tests)
	// on one machine do not interleave.
	logPath := filepath.Join(cfg.CacheDir, "logs", "ollama-"+base.Port()+".log")
	if fi, err := os.Stat(logPath); err == nil && fi.Size() > maxLogBytes {
		// Keep one previous log: the server logs every request.
		os.Rename(logPath, logPath+".1")
	}
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("start ollama: open log: %w", err)
	}
	fmt.Fprintf(logFile, "\n=== attune: %s serve at %s, %s ===\n", bin, base.Host, time.Now().Format(time.RFC3339))

	listen := "127.0.0.1:" + base.Port()
	cmd := exec.Command(bin, "serve")
	cmd.Env = serveEnv(os.Environ(), map[string]string{
		"OLLAMA_HOST":       listen,
		"OLLAMA_MODELS":     cfg.ModelsDir,
		"OLLAMA_KEEP_ALIVE": keepAlive,
	})
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = serveProcAttr()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s serve: %w", bin, err)
	}
	s := &Server{
		base:    base,
		managed: true,
		logger:  cfg.Logger,
		cmd:     cmd,
		logPath: logPath,
		done:    make(chan struct{}),
	}
	go func() {
		s.waitErr = cmd.Wait()
		logFile.Close()
		close(s.done)
	}()
	cfg.Logger.Info("starting managed ollama", "binary", bin, "host", base.String(),
		"pid", cmd.Process.Pid, "models", cfg.ModelsDir, "log", logPath)

	start := time.Now()
	deadline := time.NewTimer(startTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			s.Stop()
			return nil, fmt.Errorf("start ollama at %s: %w", base, ctx.Err())
		case <-deadline.C:
			s.Stop()
			return nil, fmt.Errorf("start ollama at %s: no answer within %s; log %s:\n%s", base, startTimeout, logPath, tail(logPath))
		case <-s.done:
			// Another process may have started a server on this port
			// between our probe and our start; if so, use that one.
			if v, err := probe(ctx, base); err == nil {
				cfg.Logger.Info("using ollama started concurrently by another process", "host", base.String(), "version", v)
				return &Server{base: base, logger: cfg.Logger}, nil
			}
			return nil, fmt.Errorf("start ollama at %s: server exited (%v); log %s:\n%s", base, s.waitErr, logPath, tail(logPath))
		case <-tick.C:
			if v, err := probe(ctx, base); err == nil {
				cfg.Logger.Info("managed ollama is up", "host", base.String(), "version", v, "took", time.Since(start).Round(time.Millisecond))
				return s, nil
			}
		}
	}
}

// serveEnv returns environ with set's variables replacing any inherited
// values; other OLLAMA_* settings (OLLAMA_DEBUG, ...) pass through.
func serveEnv(environ []string, set map[string]string) []string {
	env := make([]string, 0, len(environ)+len(set))
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := set[k]; !ok {
			env = append(env, kv)
		}
	}
	for k, v := range set {
		env = append(env, k+"="+v)
	}
	return env
}

// tail returns the end of the file at path, for error messages.
func tail(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > logTailBytes {
		f.Seek(fi.Size()-logTailBytes, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	if i := bytes.IndexByte(b, '\n'); i >= 0 && len(b) == logTailBytes {
		b = b[i+1:] // drop the partial first line
	}
	return strings.TrimRight(string(b), "\n")
}

// Host returns the server's base URL, e.g. "http://127.0.0.1:11434".
func (s *Server) Host() string { return s.base.String() }

// Managed reports whether this process started the server (and so stops it).
func (s *Server) Managed() bool { return s.managed }

// LogPath returns the file a managed server writes its output to, or "" for
// a server found running.
func (s *Server) LogPath() string { return s.logPath }

// Done returns a channel closed when a managed server's process exits, for
// whatever reason; a supervisor can call EnsureServer again to replace it.
// For a server found running it returns nil, which never becomes ready.
func (s *Server) Done() <-chan struct{} {
	if !s.managed {
		return nil
	}
	return s.done
}

// Stop stops a managed server: SIGTERM, so that it unloads its model
// runners, then SIGKILL to its whole process group if it has not exited
// after a grace period. It is a no-op for a server found running, safe to
// call more than once, and returns nil if the server had already exited.
func (s *Server) Stop() error {
	if !s.managed {
		return nil
	}
	s.stopOnce.Do(func() { s.stopErr = s.stop() })
	return s.stopErr
}

func (s *Server) stop() error {
	select {
	case <-s.done:
		return nil
	default:
	}
	pid := s.cmd.Process.Pid
	if err := terminate(s.cmd.Process); err != nil {
		// The process may have exited between the check and the signal.
		select {
		case <-s.done:
			return nil
		default:
		}
		s.logger.Warn("signal managed ollama", "pid", pid, "err", err)
	}
	select {
	case <-s.done:
		s.logger.Info("managed ollama stopped", "pid", pid)
		return nil
	case <-time.After(stopGrace):
	}
	s.logger.Warn("managed ollama ignored SIGTERM; killing it", "pid", pid, "grace", stopGrace)
	if err := kill(s.cmd.Process); err != nil {
		return fmt.Errorf("kill managed ollama (pid %d): %w", pid, err)
	}
	<-s.done
	return nil
}

// Version returns the version the server reports. Builds made with
// `go install` report "0.0.0": the release number is set by Ollama's own
// release build only.
func (s *Server) Version(ctx context.Context) (string, error) {
	v, err := api.NewClient(s.base, http.DefaultClient).Version(ctx)
	if err != nil {
		return "", fmt.Errorf("get ollama version from %s: %w", s.base, err)
	}
	return v, nil
}
