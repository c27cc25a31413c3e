// Package evaluate measures how well text vectors group texts by a gold
// label, the way the project's embedding benchmarks and tests do: seeded
// k-means++ with Lloyd iterations over dense vectors (embeddings) or sparse
// ones (the TF-IDF baseline), through one implementation, so that the two
// representations are clustered identically and their scores compare. Score
// them with cluster.NMI and cluster.ARI.
package evaluate

import (
	"math"
	"math/rand/v2"
	"sort"
	"unicode"

	"gonum.org/v1/gonum/floats"
)

// Points is a set of vectors k-means can cluster.
type Points interface {
	// Len is the number of points, Dim their dimension.
	Len() int
	Dim() int
	// SqDist is the squared distance of point i to c, whose squared norm
	// is cNorm.
	SqDist(i int, c []float64, cNorm float64) float64
	// AddTo adds point i to c.
	AddTo(i int, c []float64)
}

// Dense is one vector per point, all of one length.
type Dense [][]float64

func (x Dense) Len() int { return len(x) }
func (x Dense) Dim() int {
	if len(x) == 0 {
		return 0
	}
	return len(x[0])
}
func (x Dense) SqDist(i int, c []float64, _ float64) float64 {
	d := floats.Distance(x[i], c, 2)
	return d * d
}
func (x Dense) AddTo(i int, c []float64) { floats.Add(c, x[i]) }

// SparseVec is a sparse vector: values at ascending indices.
type SparseVec struct {
	Idx []int
	Val []float64
}

// Sparse is sparse points in D dimensions.
type Sparse struct {
	Vecs []SparseVec
	D    int
}

func (x Sparse) Len() int { return len(x.Vecs) }
func (x Sparse) Dim() int { return x.D }
func (x Sparse) SqDist(i int, c []float64, cNorm float64) float64 {
	v := x.Vecs[i]
	var dot, vv float64
	for q, j := range v.Idx {
		dot += v.Val[q] * c[j]
		vv += v.Val[q] * v.Val[q]
	}
	return vv - 2*dot + cNorm
}
func (x Sparse) AddTo(i int, c []float64) {
	v := x.Vecs[i]
	for q, j := range v.Idx {
		c[j] += v.Val[q]
	}
}

// KMeans clusters x into k groups: k-means++ seeding, then Lloyd iterations
// (at most 100) until no point moves, keeping the lowest-inertia of nInit
// runs. The same seed gives the same labels.
func KMeans(x Points, k, nInit int, seed uint64) []int {
	n, dim := x.Len(), x.Dim()
	rng := rand.New(rand.NewPCG(seed, 1))
	point := func(i int, c []float64) []float64 {
		clear(c)
		x.AddTo(i, c)
		return c
	}
	var best []int
	bestInertia := math.Inf(1)
	for range max(1, nInit) {
		centers := seedPlusPlus(n, k, rng, func(j int) func(i int) float64 {
			c := point(j, make([]float64, dim))
			cn := sqNorm(c)
			return func(i int) float64 { return x.SqDist(i, c, cn) }
		})
		c := make([][]float64, k)
		for i, p := range centers {
			c[i] = point(p, make([]float64, dim))
		}
		assign := make([]int, n)
		norms := make([]float64, k)
		var inertia float64
		for iter := 0; iter < 100; iter++ {
			for j := range c {
				norms[j] = sqNorm(c[j])
			}
			changed := 0
			inertia = 0
			for i := range n {
				bi, bd := 0, math.Inf(1)
				for j := range c {
					if d := x.SqDist(i, c[j], norms[j]); d < bd {
						bi, bd = j, d
					}
				}
				if assign[i] != bi || iter == 0 {
					changed++
				}
				assign[i] = bi
				inertia += bd
			}
			if changed == 0 {
				break
			}
			counts := make([]int, k)
			for j := range c {
				clear(c[j])
			}
			for i := range n {
				counts[assign[i]]++
				x.AddTo(i, c[assign[i]])
			}
			for j := range c {
				if counts[j] == 0 {
					point(rng.IntN(n), c[j]) // re-seed an empty cluster
					continue
				}
				floats.Scale(1/float64(counts[j]), c[j])
			}
		}
		if inertia < bestInertia {
			bestInertia, best = inertia, append([]int(nil), assign...)
		}
	}
	return best
}

// seedPlusPlus picks k distinct seed points, each with probability
// proportional to its squared distance from the nearest seed so far. The
// distance to a new seed j is given by distTo(j)(i).
func seedPlusPlus(n, k int, rng *rand.Rand, distTo func(j int) func(i int) float64) []int {
	centers := []int{rng.IntN(n)}
	d := make([]float64, n)
	first := distTo(centers[0])
	for i := range d {
		d[i] = first(i)
	}
	for len(centers) < k {
		r := rng.Float64() * floats.Sum(d)
		next := n - 1
		for i, v := range d {
			if r -= v; r <= 0 {
				next = i
				break
			}
		}
		centers = append(centers, next)
		dn := distTo(next)
		for i := range d {
			d[i] = min(d[i], dn(i))
		}
	}
	return centers
}

func sqNorm(a []float64) float64 { return floats.Dot(a, a) }

// TFIDF returns the baseline the embeddings are compared with: sublinear
// TF-IDF vectors (smoothed idf, min_df 2, L2-normalised) of texts, over the
// words of tokenize that have two or more characters and a letter or digit,
// the way scikit-learn's default token pattern sees words. It is fitted on
// texts themselves.
func TFIDF(texts []string, tokenize func(string) []string) Sparse {
	docs := make([]map[string]int, len(texts))
	df := map[string]int{}
	for i, s := range texts {
		docs[i] = map[string]int{}
		for _, w := range tokenize(s) {
			if len([]rune(w)) < 2 || !hasLetterOrDigit(w) {
				continue
			}
			if docs[i][w] == 0 {
				df[w]++
			}
			docs[i][w]++
		}
	}
	var vocab []string
	for w, c := range df {
		if c >= 2 {
			vocab = append(vocab, w)
		}
	}
	sort.Strings(vocab)
	index := make(map[string]int, len(vocab))
	for i, w := range vocab {
		index[w] = i
	}
	n := float64(len(texts))
	out := Sparse{Vecs: make([]SparseVec, len(texts)), D: len(vocab)}
	for i, doc := range docs {
		var v SparseVec
		var norm float64
		words := make([]string, 0, len(doc))
		for w := range doc {
			words = append(words, w)
		}
		sort.Strings(words)
		for _, w := range words {
			j, ok := index[w]
			if !ok {
				continue
			}
			x := (1 + math.Log(float64(doc[w]))) * (math.Log((1+n)/(1+float64(df[w]))) + 1)
			v.Idx = append(v.Idx, j)
			v.Val = append(v.Val, x)
			norm += x * x
		}
		if norm > 0 {
			floats.Scale(1/math.Sqrt(norm), v.Val)
		}
		out.Vecs[i] = v
	}
	return out
}

func hasLetterOrDigit(w string) bool {
	for _, r := range w {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return true
		}
	}
	return false
}
