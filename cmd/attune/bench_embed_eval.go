package main

import (
	"math"
	"math/rand/v2"
	"sort"
	"unicode"

	"gonum.org/v1/gonum/floats"

	"github.com/attune-cx/attune/embed/wordvec"
)

// Clustering quality for `attune bench embed`: seeded k-means++ (dense for
// embeddings, sparse for the TF-IDF baseline), NMI and ARI against gold
// labels. The same k-means, seeds and k serve both representations, so
// their figures compare.

// embDenseKMeans clusters unit vectors into k groups with k-means++ seeding and
// Lloyd iterations, keeping the lowest-inertia of nInit runs.
func embDenseKMeans(x [][]float64, k, nInit int, seed uint64) []int {
	rng := rand.New(rand.NewPCG(seed, 1))
	dim := len(x[0])
	var best []int
	bestInertia := math.Inf(1)
	for range nInit {
		centers := embKmeansPlusPlus(len(x), k, rng, func(j int) func(i int) float64 {
			return func(i int) float64 { return embSqDist(x[i], x[j]) }
		})
		c := make([][]float64, k)
		for i, p := range centers {
			c[i] = append([]float64(nil), x[p]...)
		}
		assign := make([]int, len(x))
		var inertia float64
		for iter := 0; iter < 100; iter++ {
			changed := 0
			inertia = 0
			for i, p := range x {
				bi, bd := 0, math.Inf(1)
				for j, cj := range c {
					if d := embSqDist(p, cj); d < bd {
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
			for i, p := range x {
				counts[assign[i]]++
				for d := range dim {
					c[assign[i]][d] += p[d]
				}
			}
			for j := range c {
				if counts[j] == 0 {
					copy(c[j], x[rng.IntN(len(x))]) // re-seed an empty cluster
					continue
				}
				for d := range dim {
					c[j][d] /= float64(counts[j])
				}
			}
		}
		if inertia < bestInertia {
			bestInertia, best = inertia, append([]int(nil), assign...)
		}
	}
	return best
}

// embSparseVec is a sparse unit vector.
type embSparseVec struct {
	idx []int
	val []float64
}

// embSparseKMeans is embDenseKMeans for sparse points in dim dimensions.
func embSparseKMeans(x []embSparseVec, dim, k, nInit int, seed uint64) []int {
	rng := rand.New(rand.NewPCG(seed, 1))
	dense := func(v embSparseVec) []float64 {
		d := make([]float64, dim)
		for i, j := range v.idx {
			d[j] = v.val[i]
		}
		return d
	}
	dist := func(v embSparseVec, c []float64, cNorm float64) float64 {
		var dot, vv float64
		for i, j := range v.idx {
			dot += v.val[i] * c[j]
			vv += v.val[i] * v.val[i]
		}
		return vv - 2*dot + cNorm
	}
	var best []int
	bestInertia := math.Inf(1)
	for range nInit {
		centers := embKmeansPlusPlus(len(x), k, rng, func(j int) func(i int) float64 {
			c := dense(x[j])
			cn := embSqNorm(c)
			return func(i int) float64 { return dist(x[i], c, cn) }
		})
		c := make([][]float64, k)
		for i, p := range centers {
			c[i] = dense(x[p])
		}
		assign := make([]int, len(x))
		var inertia float64
		for iter := 0; iter < 100; iter++ {
			norms := make([]float64, k)
			for j := range c {
				norms[j] = embSqNorm(c[j])
			}
			changed := 0
			inertia = 0
			for i, p := range x {
				bi, bd := 0, math.Inf(1)
				for j := range c {
					if d := dist(p, c[j], norms[j]); d < bd {
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
			for i, p := range x {
				counts[assign[i]]++
				for q, j := range p.idx {
					c[assign[i]][j] += p.val[q]
				}
			}
			for j := range c {
				if counts[j] == 0 {
					c[j] = dense(x[rng.IntN(len(x))])
					continue
				}
				for d := range c[j] {
					c[j][d] /= float64(counts[j])
				}
			}
		}
		if inertia < bestInertia {
			bestInertia, best = inertia, append([]int(nil), assign...)
		}
	}
	return best
}

// embKmeansPlusPlus picks k embDistinct seed points, each with probability
// proportional to its squared distance from the nearest seed so far. The
// distance to a new seed j is given by distTo(j)(i).
func embKmeansPlusPlus(n, k int, rng *rand.Rand, distTo func(j int) func(i int) float64) []int {
	centers := []int{rng.IntN(n)}
	d := make([]float64, n)
	first := distTo(centers[0])
	for i := range d {
		d[i] = first(i)
	}
	for len(centers) < k {
		var sum float64
		for _, v := range d {
			sum += v
		}
		r := rng.Float64() * sum
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

func embSqDist(a, b []float64) float64 {
	d := floats.Distance(a, b, 2)
	return d * d
}

func embSqNorm(a []float64) float64 {
	var s float64
	for _, x := range a {
		s += x * x
	}
	return s
}

// embNmi is the normalised mutual information of two labelings with the
// arithmetic-mean normaliser (scikit-learn's default).
func embNmi(a []int, b []string) float64 {
	n := float64(len(a))
	joint := map[[2]string]float64{}
	ca := map[string]float64{}
	cb := map[string]float64{}
	for i := range a {
		x := string(rune('A' + a[i]))
		joint[[2]string{x, b[i]}]++
		ca[x]++
		cb[b[i]]++
	}
	entropy := func(c map[string]float64) float64 {
		var h float64
		for _, v := range c {
			h -= v / n * math.Log(v/n)
		}
		return h
	}
	var mi float64
	for k, v := range joint {
		mi += v / n * math.Log(v*n/(ca[k[0]]*cb[k[1]]))
	}
	ha, hb := entropy(ca), entropy(cb)
	if ha+hb == 0 {
		return 1
	}
	return mi / ((ha + hb) / 2)
}

// embTfidf returns sublinear TF-IDF vectors (smoothed idf, min_df 2, L2
// normalised) of texts, over Tokenize words of two or more characters that
// contain a letter or digit, the way scikit-learn's default token pattern
// sees words. It is fitted on texts themselves, as the recipe's baseline was.
func embTfidf(texts []string) ([]embSparseVec, int) {
	docs := make([]map[string]int, len(texts))
	df := map[string]int{}
	for i, s := range texts {
		docs[i] = map[string]int{}
		for _, w := range wordvec.Tokenize(s) {
			if len([]rune(w)) < 2 || !embHasLetterOrDigit(w) {
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
	index := map[string]int{}
	for i, w := range vocab {
		index[w] = i
	}
	n := float64(len(texts))
	out := make([]embSparseVec, len(texts))
	for i, doc := range docs {
		var v embSparseVec
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
			v.idx = append(v.idx, j)
			v.val = append(v.val, x)
			norm += x * x
		}
		for q := range v.val {
			if norm > 0 {
				v.val[q] /= math.Sqrt(norm)
			}
		}
		out[i] = v
	}
	return out, len(vocab)
}

func embHasLetterOrDigit(w string) bool {
	for _, r := range w {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return true
		}
	}
	return false
}

// embAri is the adjusted Rand index of a clustering against gold labels.
func embAri(a []int, b []string) float64 {
	joint := map[[2]string]float64{}
	ca := map[int]float64{}
	cb := map[string]float64{}
	for i := range a {
		joint[[2]string{string(rune('A' + a[i])), b[i]}]++
		ca[a[i]]++
		cb[b[i]]++
	}
	c2 := func(x float64) float64 { return x * (x - 1) / 2 }
	var sumJ, sumA, sumB float64
	for _, v := range joint {
		sumJ += c2(v)
	}
	for _, v := range ca {
		sumA += c2(v)
	}
	for _, v := range cb {
		sumB += c2(v)
	}
	expected := sumA * sumB / c2(float64(len(a)))
	maxIndex := (sumA + sumB) / 2
	if maxIndex == expected {
		return 1
	}
	return (sumJ - expected) / (maxIndex - expected)
}
