package embed

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// ollamaModule is the Go module whose main package is the ollama binary.
const ollamaModule = "github.com/ollama/ollama"

// buildTailLines is how many lines of a failed build go into the error.
const buildTailLines = 30

// nativeCFlags compile ggml for the build machine's CPU. Without them cgo
// compiles it for baseline x86-64 (no AVX): measured on this project's
// 2-core machine, the runner then spends ~7 ms of CPU per tweet in scalar
// dot products, against ~1.2 ms with AVX2/AVX-512, i.e. 110 against 560
// texts/s for the own model. The cached binary is per machine anyway.
const nativeCFlags = "-O3 -march=native"

// buildFlags returns the C/C++ flags a build uses: the caller's
// CGO_CFLAGS if set, else nativeCFlags.
func buildFlags() string {
	if f := os.Getenv("CGO_CFLAGS"); f != "" {
		return f
	}
	return nativeCFlags
}

// buildStamp is what the stamp file of a build of version records: the
// version and the compiler flags, so that a build with other flags (such as
// one from before flags were set) is rebuilt once.
func buildStamp(version string) string { return version + " cflags=" + buildFlags() }

// binaryName is the executable's file name on this OS.
func binaryName() string {
	if runtime.GOOS == "windows" {
		return "ollama.exe"
	}
	return "ollama"
}

// cachedBinary is where a built ollama lives, and stampPath records the
// module version it was built from.
func cachedBinary(cacheDir string) string { return filepath.Join(cacheDir, "bin", binaryName()) }
func stampPath(cacheDir string) string    { return cachedBinary(cacheDir) + ".version" }

// locateBinary finds an existing ollama without building one: cfg.Binary,
// then `ollama` on PATH, then the cached build if it matches cfg.Version.
// cfg must have its defaults applied.
func locateBinary(cfg ServerConfig) (string, error) {
	if cfg.Binary != "" {
		if err := checkExecutable(cfg.Binary); err != nil {
			return "", fmt.Errorf("ollama binary: %w", err)
		}
		return cfg.Binary, nil
	}
	if p, err := exec.LookPath("ollama"); err == nil {
		return p, nil
	}
	cached := cachedBinary(cfg.CacheDir)
	if err := checkExecutable(cached); err != nil {
		return "", err
	}
	// A binary without a stamp was put there by hand or by an older attune:
	// trust it. One stamped with another version is rebuilt.
	if b, err := os.ReadFile(stampPath(cfg.CacheDir)); err == nil {
		if got, want := strings.TrimSpace(string(b)), buildStamp(cfg.Version); got != want {
			return "", fmt.Errorf("%s was built as %q, not %q", cached, got, want)
		}
	}
	return cached, nil
}

func checkExecutable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() || (runtime.GOOS != "windows" && fi.Mode().Perm()&0o111 == 0) {
		return fmt.Errorf("%s is not an executable file", path)
	}
	return nil
}

// resolveBinary returns an ollama to run, building one when none exists.
// An explicit cfg.Binary that is unusable is an error, never a reason to
// build.
func resolveBinary(ctx context.Context, cfg ServerConfig) (string, error) {
	bin, err := locateBinary(cfg)
	if err == nil || cfg.Binary != "" {
		return bin, err
	}
	cfg.Logger.Info("no ollama binary found; building one", "reason", err.Error())
	return buildOllama(ctx, cfg)
}

// buildOllama installs ollama@cfg.Version into CacheDir/bin with `go
// install`. A lock file keeps two processes from building at once; the one
// that waited uses the other's binary. The build goes to a temporary
// directory and is renamed into place, so an interrupted build never leaves
// a partial binary where locateBinary would find it.
func buildOllama(ctx context.Context, cfg ServerConfig) (string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("%w: no ollama binary (set embed binary, install ollama on PATH, or put one at %s) and no Go toolchain to build one: %v",
			ErrNoServer, cachedBinary(cfg.CacheDir), err)
	}
	// Ollama's inference engine is C++ reached through cgo: without a C
	// compiler `go install` would fail only after minutes of work.
	if cc := os.Getenv("CC"); cc != "" {
		if _, err := exec.LookPath(strings.Fields(cc)[0]); err != nil {
			return "", fmt.Errorf("build ollama: C compiler CC=%q: %w", cc, err)
		}
	} else if _, err := exec.LookPath("gcc"); err != nil {
		if _, err := exec.LookPath("cc"); err != nil {
			return "", fmt.Errorf("build ollama: it needs cgo and no C compiler (gcc or cc) is on PATH: %w", err)
		}
	}

	binDir := filepath.Join(cfg.CacheDir, "bin")
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return "", fmt.Errorf("build ollama: %w", err)
	}
	unlock, err := lockFile(ctx, filepath.Join(binDir, ".ollama-build.lock"), cfg.Logger)
	if err != nil {
		return "", fmt.Errorf("build ollama: %w", err)
	}
	defer unlock()
	if bin, err := locateBinary(cfg); err == nil {
		return bin, nil // built by the process we waited for
	}

	tmp, err := os.MkdirTemp(binDir, ".build-")
	if err != nil {
		return "", fmt.Errorf("build ollama: %w", err)
	}
	defer os.RemoveAll(tmp)

	pkg := ollamaModule + "@" + cfg.Version
	cmd := exec.CommandContext(ctx, goTool, "install", "-v", pkg)
	cmd.Dir = tmp // outside any module, so no go.mod or go.work applies
	flags := buildFlags()
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "CGO_ENABLED=1", "GOWORK=off",
		"CGO_CFLAGS="+flags, "CGO_CXXFLAGS="+flags)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", fmt.Errorf("build ollama: %w", err)
	}
	cmd.Stderr = cmd.Stdout // one pipe, so lines keep their order

	cfg.Logger.Info("building ollama with go install; this takes several minutes, once per machine",
		"package", pkg, "dest", binDir)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("build ollama: start go install: %w", err)
	}
	// Drain the pipe before Wait, which closes it.
	last := logLines(out, cfg)
	err = cmd.Wait()
	if err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("build ollama %s: %w", cfg.Version, ctx.Err())
		}
		return "", fmt.Errorf("build ollama: go install %s: %w; last output:\n%s", pkg, err, strings.Join(last, "\n"))
	}

	dest := cachedBinary(cfg.CacheDir)
	if err := os.Rename(filepath.Join(tmp, binaryName()), dest); err != nil {
		return "", fmt.Errorf("build ollama: install binary: %w", err)
	}
	if err := os.WriteFile(stampPath(cfg.CacheDir), []byte(buildStamp(cfg.Version)+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("build ollama: %w", err)
	}
	cfg.Logger.Info("built ollama", "binary", dest, "version", cfg.Version, "took", time.Since(start).Round(time.Second))
	return dest, nil
}

// logLines copies r to the logger line by line until EOF and returns the
// last lines, for the error message of a failed build.
func logLines(r io.Reader, cfg ServerConfig) []string {
	var last []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		cfg.Logger.Info("go install ollama", "line", line)
		if last = append(last, line); len(last) > buildTailLines {
			last = last[1:]
		}
	}
	if err := sc.Err(); err != nil && !errors.Is(err, fs.ErrClosed) {
		cfg.Logger.Warn("read go install output", "err", err)
	}
	return last
}
