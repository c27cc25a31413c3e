package cluster

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/attune-cx/attune"
	"github.com/jonreiter/govader"
	"github.com/kljensen/snowball/english"
)

// datasetDir is shared/datasets beside the repository (as CI lays it out),
// or $ATTUNE_DATASETS.
func datasetDir() string {
	if d := os.Getenv("ATTUNE_DATASETS"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "shared", "datasets")
}

var manifest = sync.OnceValues(func() (map[string]string, error) {
	raw, err := os.ReadFile(filepath.Join(datasetDir(), "MANIFEST.json"))
	if err != nil {
		return nil, err
	}
	var m struct {
		Files []struct{ Path, Sha256 string }
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	sums := map[string]string{}
	for _, f := range m.Files {
		sums[f.Path] = f.Sha256
	}
	return sums, nil
})

// readDataset returns a dataset file's bytes after checking its sha256
// against the manifest.
func readDataset(tb testing.TB, rel string) []byte {
	tb.Helper()
	sums, err := manifest()
	if err != nil {
		tb.Fatalf("read dataset manifest: %v", err)
	}
	raw, err := os.ReadFile(filepath.Join(datasetDir(), rel))
	if err != nil {
		tb.Fatalf("read dataset: %v", err)
	}
	sum := sha256.Sum256(raw)
	if got := hex.EncodeToString(sum[:]); got != sums[rel] {
		tb.Fatalf("%s: sha256 %s, manifest says %q", rel, got, sums[rel])
	}
	return raw
}

func readCSV(tb testing.TB, rel string) (header map[string]int, rows [][]string) {
	tb.Helper()
	r := csv.NewReader(strings.NewReader(string(readDataset(tb, rel))))
	all, err := r.ReadAll()
	if err != nil {
		tb.Fatalf("parse %s: %v", rel, err)
	}
	header = map[string]int{}
	for i, h := range all[0] {
		header[h] = i
	}
	return header, all[1:]
}

type labeledText struct{ text, label string }

// banking77 returns the rows of a banking77 split whose intent is in intents
// (all rows when intents is empty).
func banking77(tb testing.TB, split string, intents ...string) []labeledText {
	h, rows := readCSV(tb, "banking77/"+split+".csv")
	var out []labeledText
	for _, r := range rows {
		if len(intents) == 0 || slices.Contains(intents, r[h["category"]]) {
			out = append(out, labeledText{r[h["text"]], r[h["category"]]})
		}
	}
	return out
}

// tweet is one row of the airline tweets, deduplicated on tweet_id.
type tweet struct {
	id, sentiment, reason, user, text string
	retweets                          float64
	created                           time.Time
}

func tweets(tb testing.TB) []tweet {
	h, rows := readCSV(tb, "twitter_us_airline_sentiment/Tweets.csv")
	seen := map[string]bool{}
	var out []tweet
	for _, r := range rows {
		t := tweet{
			id: r[h["tweet_id"]], sentiment: r[h["airline_sentiment"]], reason: r[h["negativereason"]],
			user: r[h["name"]], text: r[h["text"]],
		}
		if seen[t.id] {
			continue
		}
		seen[t.id] = true
		var err error
		if t.retweets, err = strconv.ParseFloat(r[h["retweet_count"]], 64); err != nil {
			tb.Fatalf("tweet %s: retweet_count: %v", t.id, err)
		}
		if t.created, err = time.Parse("2006-01-02 15:04:05 -0700", r[h["tweet_created"]]); err != nil {
			tb.Fatalf("tweet %s: tweet_created: %v", t.id, err)
		}
		out = append(out, t)
	}
	return out
}

// tokens lowercases text into word tokens, dropping @handles and links: a
// deliberately plain tokenizer so the tests do not depend on package nlp.
func tokens(text string) []string {
	var out []string
	for _, f := range strings.Fields(text) {
		if strings.HasPrefix(f, "@") || strings.HasPrefix(f, "http") {
			continue
		}
		for _, w := range strings.FieldsFunc(strings.ToLower(f), func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\''
		}) {
			if w = strings.Trim(w, "'"); w != "" {
				out = append(out, w)
			}
		}
	}
	return out
}

// stems are the snowball stems of the non-stop-word tokens, as
// attune.Analysis.Stems are.
func stems(toks []string) []string {
	var out []string
	for _, t := range toks {
		if english.IsStopWord(t) || len(t) < 2 {
			continue
		}
		out = append(out, english.Stem(t, false))
	}
	return out
}

var vader = sync.OnceValue(govader.NewSentimentIntensityAnalyzer)

// analysedDoc builds the Doc the pipeline would: tokens, stems and a VADER
// compound score.
func analysedDoc(ev attune.Event) attune.Doc {
	toks := tokens(ev.Text)
	score := vader().PolarityScores(ev.Text).Compound
	label := attune.Neutral
	switch {
	case score >= 0.05:
		label = attune.Positive
	case score <= -0.05:
		label = attune.Negative
	}
	return attune.Doc{Event: ev, Analysis: attune.Analysis{
		Clean: strings.Join(toks, " "), Tokens: toks, Stems: stems(toks),
		Sentiment: attune.Sentiment{Score: score, Label: label},
	}}
}

// sparse is a sparse vector: values at indices.
type sparse struct {
	idx []int
	val []float64
}

// tfidfSparse returns L2-normalised TF-IDF vectors of texts (sublinear tf,
// smoothed idf) over their own vocabulary, and the vocabulary size: a real,
// if simple, stand-in for an embedding.
func tfidfSparse(texts []string) ([]sparse, int) {
	vocab := map[string]int{}
	counts := make([]map[int]float64, len(texts))
	var df []float64
	for i, t := range texts {
		counts[i] = map[int]float64{}
		for _, w := range tokens(t) {
			j, ok := vocab[w]
			if !ok {
				j = len(vocab)
				vocab[w] = j
				df = append(df, 0)
			}
			if counts[i][j] == 0 {
				df[j]++
			}
			counts[i][j]++
		}
	}
	n := float64(len(texts))
	out := make([]sparse, len(texts))
	for i, c := range counts {
		var v sparse
		var norm float64
		for j := range c {
			v.idx = append(v.idx, j)
		}
		slices.Sort(v.idx)
		for _, j := range v.idx {
			w := (1 + math.Log(c[j])) * (1 + math.Log((1+n)/(1+df[j])))
			v.val = append(v.val, w)
			norm += w * w
		}
		for k := range v.val {
			v.val[k] /= math.Sqrt(norm)
		}
		out[i] = v
	}
	return out, len(vocab)
}

// tfidf returns the TF-IDF vectors of texts as dense vectors, for small sets.
func tfidf(texts []string) []attune.Vector {
	sp, dim := tfidfSparse(texts)
	out := make([]attune.Vector, len(sp))
	for i, v := range sp {
		out[i] = make(attune.Vector, dim)
		for k, j := range v.idx {
			out[i][j] = float32(v.val[k])
		}
	}
	return out
}

// project maps sparse vectors over a vocabulary of vocab terms to dim
// dimensions with a seeded Gaussian random projection and re-normalises them
// (Johnson–Lindenstrauss keeps their distances roughly), giving
// embedding-sized vectors.
func project(vecs []sparse, vocab, dim int, seed uint64) []attune.Vector {
	rng := rand.New(rand.NewPCG(seed, 0))
	proj := make([]float64, vocab*dim)
	for i := range proj {
		proj[i] = rng.NormFloat64()
	}
	out := make([]attune.Vector, len(vecs))
	o := make([]float64, dim)
	for i, v := range vecs {
		clear(o)
		for k, j := range v.idx {
			x, row := v.val[k], proj[j*dim:(j+1)*dim]
			for t := range o {
				o[t] += x * row[t]
			}
		}
		var norm float64
		for _, x := range o {
			norm += x * x
		}
		ov := make(attune.Vector, dim)
		if norm > 0 {
			for t, x := range o {
				ov[t] = float32(x / math.Sqrt(norm))
			}
		}
		out[i] = ov
	}
	return out
}

// nmi is the normalised mutual information of two labelings, with the
// arithmetic-mean normalisation (scikit-learn's default): I(A;B)/((H(A)+H(B))/2).
func nmi[A, B comparable](a []A, b []B) float64 {
	n := float64(len(a))
	ca, cb := map[A]float64{}, map[B]float64{}
	type pair struct {
		a A
		b B
	}
	joint := map[pair]float64{}
	for i := range a {
		ca[a[i]]++
		cb[b[i]]++
		joint[pair{a[i], b[i]}]++
	}
	var mi float64
	for p, c := range joint {
		mi += c / n * math.Log(c*n/(ca[p.a]*cb[p.b]))
	}
	h := func(counts []float64) float64 {
		var s float64
		for _, c := range counts {
			s -= c / n * math.Log(c/n)
		}
		return s
	}
	ha, hb := h(values(ca)), h(values(cb))
	if ha+hb == 0 {
		return 1
	}
	return mi / ((ha + hb) / 2)
}

func values[K comparable](m map[K]float64) []float64 {
	out := make([]float64, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
