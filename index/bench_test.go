package index

import (
	"context"
	"strconv"
	"testing"

	"github.com/attune-cx/attune"
)

// BenchmarkIndexDocs measures durable write throughput: each op is one
// IndexDocs call of batch new tweets, returning after the batch is on disk.
// The index grows across iterations, so background merges are included.
//
//	go test -run '^$' -bench IndexDocs -benchtime 20x ./index/
func BenchmarkIndexDocs(b *testing.B) {
	tweets := make([]attune.Doc, 0, 14500)
	for _, d := range latest(allTweets(b)) {
		tweets = append(tweets, d)
	}
	for _, batch := range []int{1, 100, 1000} {
		b.Run("batch="+strconv.Itoa(batch), func(b *testing.B) {
			ix, err := Open(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer ix.Close()
			ctx := context.Background()
			docs := make([]attune.Doc, batch)
			next := 0
			b.ReportAllocs()
			for b.Loop() {
				for i := range docs {
					// Fresh ids: redelivery (updates) is not what this measures.
					d := tweets[next%len(tweets)]
					d.Event.ID = d.Event.ID + "-" + strconv.Itoa(next/len(tweets))
					docs[i] = d
					next++
				}
				if err := ix.IndexDocs(ctx, docs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(next)/b.Elapsed().Seconds(), "docs/s")
		})
	}
}
