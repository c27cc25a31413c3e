package nlp

import (
	"testing"

	"github.com/jonreiter/govader"
)

// speedTexts are the texts the speed benchmarks score: the airline tweets
// and VADER's tweet and movie snippets, short and long customer text alike.
func speedTexts(b *testing.B) []string {
	var out []string
	for _, r := range airlineTweets(b) {
		out = append(out, r.Text)
	}
	for _, f := range []string{"tweets_GroundTruth.txt", "movieReviewSnippets_GroundTruth.txt"} {
		for _, r := range vaderGroundTruth(b, f) {
			out = append(out, r.Text)
		}
	}
	return out
}

// BenchmarkSentiment measures the whole sentiment scoring path
// (Analyzer.Sentiment) and reports texts/s; compare BenchmarkGovader, run on
// the same texts. Run: go test ./nlp -run '^$' -bench 'Sentiment|Govader' -benchmem
func BenchmarkSentiment(b *testing.B) {
	a := newAnalyzer(b)
	texts := speedTexts(b)
	warmUp(a, texts)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		a.Sentiment(texts[n%len(texts)])
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "texts/s")
}

// warmUp scores every text once, so that the stem caches hold the words of
// the texts, as they come to hold a worker's vocabulary. The cold cost is
// BenchmarkSentimentCold's.
func warmUp(a *Analyzer, texts []string) {
	for _, t := range texts {
		a.Sentiment(t)
	}
}

// BenchmarkSentimentCold is BenchmarkSentiment with every word new to the
// stem caches: the cost of a worker's first texts.
func BenchmarkSentimentCold(b *testing.B) {
	a := newAnalyzer(b)
	texts := speedTexts(b)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if n%len(texts) == 0 {
			b.StopTimer()
			for _, s := range stemmers {
				s.mu.Lock()
				clear(s.m)
				s.mu.Unlock()
			}
			b.StartTimer()
		}
		a.Sentiment(texts[n%len(texts)])
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "texts/s")
}

// BenchmarkGovader measures plain govader on the texts of BenchmarkSentiment.
func BenchmarkGovader(b *testing.B) {
	v := govader.NewSentimentIntensityAnalyzer()
	texts := speedTexts(b)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		v.PolarityScores(texts[n%len(texts)])
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "texts/s")
}

// BenchmarkLexScorer measures lexScorer, govader's algorithm without its
// overheads, on the texts of BenchmarkGovader.
func BenchmarkLexScorer(b *testing.B) {
	s := newLexScorer(govader.NewSentimentIntensityAnalyzer())
	texts := speedTexts(b)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		s.polarity(texts[n%len(texts)])
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "texts/s")
}

// BenchmarkAnalyzeAspects measures Analyze with the shipped aspect set, as
// the worker runs it, over the texts of BenchmarkSentiment and reports
// texts/s; compare BenchmarkGovader. Run:
// go test ./nlp -run '^$' -bench 'AnalyzeAspects|Govader' -benchmem
func BenchmarkAnalyzeAspects(b *testing.B) {
	a, err := New(WithAspects(shippedAspects(b)))
	if err != nil {
		b.Fatal(err)
	}
	texts := speedTexts(b)
	for _, t := range texts {
		a.Analyze(t)
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		a.Analyze(texts[n%len(texts)])
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "texts/s")
}
