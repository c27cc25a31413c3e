package cluster

import (
	"context"
	"testing"

	"github.com/attune-cx/attune"
)

// tweetPoints returns the 14,485 distinct airline tweets as points with a
// 300-dimensional projected TF-IDF vector (embedding-sized), VADER sentiment
// and their users' recency and frequency.
func tweetPoints(tb testing.TB) []Point {
	all := tweets(tb)
	evs := make([]attune.Event, len(all))
	custs := map[string]*attune.Customer{}
	for i, tw := range all {
		evs[i] = attune.Event{ID: tw.id, CustomerID: tw.user, Text: tw.text, TS: tw.created}
		c := custs[tw.user]
		if c == nil {
			c = &attune.Customer{ID: tw.user, First: tw.created}
			custs[tw.user] = c
		}
		c.Frequency++
		if tw.created.After(c.Last) {
			c.Last = tw.created
		}
	}
	texts := make([]string, len(evs))
	for i, e := range evs {
		texts[i] = e.Text
	}
	sp, vocab := tfidfSparse(texts)
	vecs := project(sp, vocab, 300, 1)
	pts := make([]Point, len(evs))
	for i, e := range evs {
		pts[i] = Point{Doc: analysedDoc(e), Vec: vecs[i], Customer: *custs[e.CustomerID]}
	}
	return pts
}

// BenchmarkFit fits ~15k tweets in 300 dimensions, choosing k in 4..16 by
// silhouette on a 2,000-point sample, and with k fixed at 16. Run with
//
//	go test -run '^$' -bench Fit -benchtime 3x ./cluster/
func BenchmarkFit(b *testing.B) {
	pts := tweetPoints(b)
	for _, bc := range []struct {
		name string
		cfg  Config
	}{
		{"auto-k", Config{Seed: 1}},
		{"k=16", Config{K: 16, Seed: 1}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			var m *Model
			for b.Loop() {
				var err error
				if m, err = Fit(context.Background(), pts, bc.cfg, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(pts)*b.N)/b.Elapsed().Seconds(), "points/s")
			b.ReportMetric(float64(m.K()), "k")
		})
	}
}
