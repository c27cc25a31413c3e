package main

import (
	"context"
	"path/filepath"
	"testing"
)

// TestIndexBenchSmall runs bench index on a few thousand real docs: the
// query mix must come back identical from Search and the plain Bleve
// requests (runIndexBench fails otherwise), the result must say which
// segment state it timed, and a second run with --reuse must search the
// index the first left in the directory without writing anything.
func TestIndexBenchSmall(t *testing.T) {
	cfg, err := LoadConfig("", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	an, _, err := newNLP(cfg.NLP)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dir := t.TempDir()
	logf := func(string, ...any) {}
	res, err := runIndexBench(ctx, logf, an, datasets, dir, 3000, 256, 1, indexBenchOpts{merge: "settled"})
	if err != nil {
		t.Fatal(err)
	}
	if res.MergeState != "settled" || res.ScorchSegmentsStart < 1 || res.ReusedIndex {
		t.Errorf("merge state %q, %d scorch segments, reused %v", res.MergeState, res.ScorchSegmentsStart, res.ReusedIndex)
	}
	if res.Queries != 81 || res.BleveDocsPerSec <= 0 || res.AttuneVsBleve <= 0 || len(res.SlowestSearches) == 0 {
		t.Errorf("%d queries, raw Bleve %.0f docs/s, ratio %.2f, %d slowest", res.Queries, res.BleveDocsPerSec, res.AttuneVsBleve, len(res.SlowestSearches))
	}

	prof := filepath.Join(t.TempDir(), "cpu.prof")
	again, err := runIndexBench(ctx, logf, an, datasets, dir, 3000, 256, 1, indexBenchOpts{reuse: true, merge: "as_loaded", cpuProfile: prof})
	if err != nil {
		t.Fatal(err)
	}
	if !again.ReusedIndex || again.AttuneDocsPerSec != 0 || again.IndexBytes <= 0 {
		t.Errorf("reuse: reused %v, %.0f docs/s written, %d bytes (first run %d)", again.ReusedIndex, again.AttuneDocsPerSec, again.IndexBytes, res.IndexBytes)
	}
}
