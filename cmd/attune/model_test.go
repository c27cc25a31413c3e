package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runAttune runs the binary's root command with args and returns what it
// wrote to stdout and stderr.
func runAttune(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	root := newRoot()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err := root.ExecuteContext(t.Context())
	return out.String(), errOut.String(), err
}

// TestModelBuildUserCorpus trains on a user's own corpus only, from JSON
// Lines and from CSV holding the same real texts (Banking77 train), and
// requires the same file bytes every time: the build is reproducible and
// the formats read the same texts. It writes files only; no Ollama.
func TestModelBuildUserCorpus(t *testing.T) {
	f, err := os.Open(filepath.Join(datasets, "banking77", "train.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var jl bytes.Buffer
	var cs bytes.Buffer
	cw := csv.NewWriter(&cs)
	_ = cw.Write([]string{"id", "body"})
	for i, r := range rows[1:3001] {
		b, _ := json.Marshal(map[string]any{"id": i, "body": r[0]})
		jl.Write(append(b, '\n'))
		_ = cw.Write([]string{"x", r[0]})
	}
	cw.Flush()
	jsonl, csvFile := filepath.Join(dir, "mine.jsonl"), filepath.Join(dir, "mine.csv")
	if err := os.WriteFile(jsonl, jl.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(csvFile, cs.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	build := func(corpus, out string) []byte {
		t.Helper()
		stdout, stderr, err := runAttune(t, "model", "build", "--set", "model.dim=24", "--set", "model.seed=5",
			"--corpus", corpus, "--field", "body", "--replace", "--no-register", "--out", out)
		if err != nil {
			t.Fatalf("model build %s: %v\n%s", corpus, err, stderr)
		}
		// Progress is streamed stage by stage, then a summary.
		for _, want := range []string{"model: tokenize done", "model: svd done", "model: pieces done", "subword pieces", "peak RSS"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("progress lacks %q:\n%s", want, stderr)
			}
		}
		if !strings.Contains(stdout, "not registered") {
			t.Errorf("stdout = %q", stdout)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a := build(jsonl, filepath.Join(dir, "a.gguf"))
	b := build(jsonl, filepath.Join(dir, "b.gguf"))
	c := build(csvFile, filepath.Join(dir, "c.gguf"))
	if !bytes.Equal(a, b) {
		t.Error("two builds from the same corpus and seed differ")
	}
	if !bytes.Equal(a, c) {
		t.Error("the same texts as CSV built another file than as JSON Lines")
	}
	if len(a) < 100<<10 || string(a[:4]) != "GGUF" {
		t.Errorf("output is %d bytes starting %q, want a GGUF", len(a), a[:4])
	}

	if _, _, err := runAttune(t, "model", "build", "--replace", "--no-register"); err == nil || !strings.Contains(err.Error(), "--corpus") {
		t.Errorf("--replace without --corpus: err = %v, want one naming --corpus", err)
	}
	bad := filepath.Join(dir, "bad.jsonl")
	_ = os.WriteFile(bad, []byte("{\"body\":\"fine\"}\nnot json\n"), 0o644)
	if _, _, err := runAttune(t, "model", "build", "--corpus", bad, "--field", "body", "--replace", "--no-register", "--out", filepath.Join(dir, "x.gguf")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("malformed corpus: err = %v, want one naming line 2", err)
	}
}
