package index

import (
	"context"
	"slices"
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

// BenchmarkSearchAllFacets measures the dashboard's opening view, every
// facet over every event, with the facets counted from the postings (what
// Search does) against Bleve's facet builders (the baseline), on the same
// index in the same run: real tweets, banking queries and Portuguese
// reviews, replicated with distinct ids to 50k events.
//
//	go test -run '^$' -bench SearchAllFacets -benchtime 20x ./index/
func BenchmarkSearchAllFacets(b *testing.B) {
	base := append(slices.Clone(allTweets(b)), bankingDocs(b, 3000)...)
	base = append(base, olistDocs(b, 10000)...)
	ix, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer ix.Close()
	const n = 50_000
	docs := make([]attune.Doc, 0, 1000)
	for i := range n {
		d := base[i%len(base)]
		d.Event.ID += "~" + strconv.Itoa(i/len(base))
		if docs = append(docs, d); len(docs) == cap(docs) || i == n-1 {
			if err := ix.IndexDocs(context.Background(), docs); err != nil {
				b.Fatal(err)
			}
			docs = docs[:0]
		}
	}
	q := Query{Facets: Facets, Limit: 20}
	for _, bc := range []struct {
		name     string
		postings bool
	}{{"bleve", false}, {"postings", true}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := ix.search(context.Background(), q, bc.postings); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
