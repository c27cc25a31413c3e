package main

import (
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/attune-cx/attune/cluster"
)

// BenchmarkSinceOverhead measures what keeping the events-since-fit count
// costs: one write (saveSinceNow: a small file written and renamed, no
// fsync) against the cheapest durable write every batch already makes, one
// bbolt transaction of one key in the segment store on the same disk
// (MarkSynced); and saveSince as a batch calls it (at most one write a
// second). Compare the ns/op of one run:
//
//	go test ./cmd/attune -run '^$' -bench SinceOverhead
func BenchmarkSinceOverhead(b *testing.B) {
	dir := b.TempDir()
	st, err := cluster.OpenStore(filepath.Join(dir, "segments.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	p := &pipeline{store: st, since: 1234, sincePath: filepath.Join(dir, "events-since-fit.json"),
		log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	b.Run("baseline-store-commit", func(b *testing.B) {
		t := time.Now()
		for i := 0; i < b.N; i++ {
			if err := st.MarkSynced(t.Add(time.Duration(i))); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("saveSinceNow", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			p.since = i
			p.saveSinceNow()
		}
	})
	b.Run("saveSince-per-batch", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			p.since = i
			p.saveSince()
		}
	})
}
