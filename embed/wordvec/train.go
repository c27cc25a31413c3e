package wordvec

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// Defaults of Options, from the recipe measured on the shared datasets
// (PPMI window 5 with cds 0.75, randomized SVD with p = 0, SIF a = 1e-3).
const (
	DefaultDim        = 300
	DefaultWindow     = 5
	DefaultMinCount   = 2
	DefaultSIFa       = 1e-3
	DefaultPowerIters = 5
	DefaultOversample = 10
	DefaultPieces     = 8000

	// cdsAlpha is the context-distribution smoothing exponent of the PPMI.
	cdsAlpha = 0.75
)

var (
	// ErrInvalidOptions is wrapped by Train when an Options field is out of
	// range.
	ErrInvalidOptions = errors.New("invalid word vector options")
	// ErrCorpusTooSmall is wrapped by Train when the texts have fewer
	// vocabulary words than Dim+Oversample.
	ErrCorpusTooSmall = errors.New("corpus too small for the requested dimension")
)

// Options control Train. The zero value of each field selects its default.
type Options struct {
	// Dim is the trained dimensionality d. Default DefaultDim.
	Dim int
	// Window is how many words either side of a word count as its context.
	// Default DefaultWindow.
	Window int
	// MinCount is the corpus count a word needs to enter the vocabulary.
	// Default DefaultMinCount.
	MinCount int
	// SIFa is the a of the SIF weight a/(a+p(w)), p(w) the word's unigram
	// probability. Default DefaultSIFa.
	SIFa float64
	// PowerIters is the number of power iterations of the randomized SVD.
	// Default DefaultPowerIters.
	PowerIters int
	// Oversample is how many columns beyond Dim the random sketch has.
	// Default DefaultOversample.
	Oversample int
	// Pieces is how many multi-character subword pieces (besides every
	// single character) are learned as the fallback for unseen words; see
	// Model.Pieces. Default DefaultPieces; negative for none, which leaves
	// unseen words out of the embedding.
	Pieces int
	// Seed seeds the Gaussian sketch. The same texts, options and seed give
	// the same model, byte for byte, on any machine.
	Seed int64
	// Progress, if set, is called from Train's goroutine as each stage
	// advances: stage is one of "tokenize", "cooccurrence", "ppmi", "svd",
	// "sif" and "pieces"; done counts up to total.
	Progress func(stage string, done, total int)
}

func (o Options) withDefaults() (Options, error) {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.Dim, DefaultDim)
	def(&o.Window, DefaultWindow)
	def(&o.MinCount, DefaultMinCount)
	def(&o.PowerIters, DefaultPowerIters)
	def(&o.Oversample, DefaultOversample)
	def(&o.Pieces, DefaultPieces)
	if o.SIFa == 0 {
		o.SIFa = DefaultSIFa
	}
	switch {
	case o.Dim < 1:
		return o, fmt.Errorf("%w: Dim %d < 1", ErrInvalidOptions, o.Dim)
	case o.Window < 1:
		return o, fmt.Errorf("%w: Window %d < 1", ErrInvalidOptions, o.Window)
	case o.MinCount < 1:
		return o, fmt.Errorf("%w: MinCount %d < 1", ErrInvalidOptions, o.MinCount)
	case o.PowerIters < 0:
		return o, fmt.Errorf("%w: PowerIters %d < 0", ErrInvalidOptions, o.PowerIters)
	case o.Oversample < 0:
		return o, fmt.Errorf("%w: Oversample %d < 0", ErrInvalidOptions, o.Oversample)
	case !(o.SIFa > 0) || math.IsInf(o.SIFa, 1):
		return o, fmt.Errorf("%w: SIFa %g is not a positive number", ErrInvalidOptions, o.SIFa)
	}
	return o, nil
}

// Train builds word vectors from texts:
//
//  1. Tokenize each text as the served tokenizer will, and keep the words
//     seen at least MinCount times.
//  2. Count co-occurrences within Window words (out-of-vocabulary words are
//     dropped first), and turn them into PPMI with context-distribution
//     smoothing 0.75.
//  3. Take the top Dim left singular vectors of the PPMI matrix by randomized
//     SVD (Halko et al. 2011), without singular value weighting (p = 0), and
//     L2-normalise each word's row.
//  4. Weight each word by SIF, a/(a+p(w)), and project out of every vector
//     the first principal direction of the SIF sums of the training texts.
//     Removing it from the words is the same as removing it from every
//     sentence, since a sentence vector is linear in its words.
//
// Model.Vectors holds the result; a text's embedding is the normalised sum of
// its words' vectors. Train is CPU-bound and uses up to GOMAXPROCS cores; it
// returns ctx.Err() if ctx ends first.
func Train(ctx context.Context, texts []string, opt Options) (*Model, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	progress := func(stage string, done, total int) {
		if opt.Progress != nil {
			opt.Progress(stage, done, total)
		}
	}

	tokens := make([][]string, len(texts))
	const batch = 16384 // texts between progress reports and ctx checks
	for lo := 0; lo < len(texts); lo += batch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hi := min(len(texts), lo+batch)
		parallelBlocks(hi-lo, func(a, b int) {
			for i := lo + a; i < lo+b; i++ {
				tokens[i] = Tokenize(texts[i])
			}
		})
		progress("tokenize", hi, len(texts))
	}

	freq := typeCounts(tokens)
	words, counts := vocabulary(freq, opt.MinCount)
	k := opt.Dim + opt.Oversample
	if len(words) < k {
		return nil, fmt.Errorf("%w: %d words are seen %d times or more, fewer than Dim+Oversample = %d",
			ErrCorpusTooSmall, len(words), opt.MinCount, k)
	}
	ids := make(map[string]int32, len(words))
	for i, w := range words {
		ids[w] = int32(i)
	}
	docs, offsets := encode(tokens, ids)
	tokens = nil

	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cooc := cooccurrence(docs, offsets, len(words), opt.Window)
	progress("cooccurrence", 1, 1)
	m := ppmi(cooc)
	cooc = nil
	progress("ppmi", 1, 1)

	u, err := randomizedSVD(ctx, m, opt, func(done, total int) { progress("svd", done, total) })
	if err != nil {
		return nil, err
	}
	d := opt.Dim
	for i := range len(words) {
		row := u[i*d : (i+1)*d]
		if n := floats.Norm(row, 2); n > 0 {
			floats.Scale(1/n, row)
		}
	}

	var inVocab int
	for _, c := range counts {
		inVocab += c
	}
	weights := make([]float64, len(words))
	for i, c := range counts {
		weights[i] = opt.SIFa / (opt.SIFa + float64(c)/float64(inVocab))
	}
	if err := removeCommonComponent(ctx, u, d, weights, docs, offsets); err != nil {
		return nil, err
	}
	vectors := make([]float32, len(u))
	for i := range len(words) {
		for j := range d {
			u[i*d+j] *= weights[i]
			vectors[i*d+j] = float32(u[i*d+j])
		}
	}
	progress("sif", 1, 1)
	model := &Model{Words: words, Counts: counts, Dim: d, Vectors: vectors}
	if opt.Pieces > 0 {
		model.Pieces = choosePieces(freq, words, opt.Pieces)
		model.PieceVectors, err = fitPieceVectors(ctx, words, counts, u, d, model.Pieces)
		if err != nil {
			return nil, err
		}
		progress("pieces", 1, 1)
	}
	return model, nil
}

// typeCounts counts every distinct token of the corpus.
func typeCounts(tokens [][]string) map[string]int {
	freq := make(map[string]int)
	for _, doc := range tokens {
		for _, t := range doc {
			freq[t]++
		}
	}
	return freq
}

// vocabulary returns the words seen at least minCount times, most frequent
// first and ties in byte order, with their counts.
func vocabulary(freq map[string]int, minCount int) ([]string, []int) {
	type wc struct {
		w string
		c int
	}
	var kept []wc
	for w, c := range freq {
		if c >= minCount {
			kept = append(kept, wc{w, c})
		}
	}
	slices.SortFunc(kept, func(a, b wc) int {
		if c := cmp.Compare(b.c, a.c); c != 0 {
			return c
		}
		return cmp.Compare(a.w, b.w)
	})
	words := make([]string, len(kept))
	counts := make([]int, len(kept))
	for i, k := range kept {
		words[i], counts[i] = k.w, k.c
	}
	return words, counts
}

// encode maps every text to its in-vocabulary word ids, all texts in one
// slice: text i is docs[offsets[i]:offsets[i+1]].
func encode(tokens [][]string, ids map[string]int32) (docs []int32, offsets []int) {
	offsets = make([]int, 1, len(tokens)+1)
	for _, doc := range tokens {
		for _, t := range doc {
			if id, ok := ids[t]; ok {
				docs = append(docs, id)
			}
		}
		offsets = append(offsets, len(docs))
	}
	return docs, offsets
}

// cooccurrence counts, for every pair of in-vocabulary positions i < j of a
// text with j-i ≤ window, one for C[a,b] and one for C[b,a]. The result is
// symmetric, with each row's columns in ascending order.
func cooccurrence(docs []int32, offsets []int, v, window int) *csr {
	diag := make([]float64, v)
	pairs := make([]uint64, 0, len(docs)*window)
	for t := 0; t+1 < len(offsets); t++ {
		doc := docs[offsets[t]:offsets[t+1]]
		for i, a := range doc {
			for _, b := range doc[i+1 : min(len(doc), i+1+window)] {
				switch {
				case a == b:
					diag[a] += 2
				case a < b:
					pairs = append(pairs, uint64(a)<<32|uint64(b))
				default:
					pairs = append(pairs, uint64(b)<<32|uint64(a))
				}
			}
		}
	}
	slices.Sort(pairs)

	// Distinct pairs and their counts.
	var keys []uint64
	var vals []float64
	for i := 0; i < len(pairs); {
		j := i + 1
		for j < len(pairs) && pairs[j] == pairs[i] {
			j++
		}
		keys = append(keys, pairs[i])
		vals = append(vals, float64(j-i))
		i = j
	}
	pairs = nil

	c := &csr{rows: v, cols: v, indptr: make([]int, v+1)}
	for _, k := range keys {
		c.indptr[k>>32+1]++
		c.indptr[k&0xffffffff+1]++
	}
	for i, x := range diag {
		if x > 0 {
			c.indptr[i+1]++
		}
	}
	for i := range v {
		c.indptr[i+1] += c.indptr[i]
	}
	nnz := c.indptr[v]
	c.indices = make([]int32, nnz)
	c.data = make([]float64, nnz)
	next := append([]int(nil), c.indptr[:v]...)
	put := func(row, col int, x float64) {
		p := next[row]
		c.indices[p], c.data[p] = int32(col), x
		next[row]++
	}
	// Keys arrive by (lo, hi): row r gets its columns below r while lo < r,
	// then its diagonal, then its columns above r while lo == r.
	pendingDiag := 0
	for i, k := range keys {
		lo, hi := int(k>>32), int(k&0xffffffff)
		for ; pendingDiag <= lo; pendingDiag++ {
			if diag[pendingDiag] > 0 {
				put(pendingDiag, pendingDiag, diag[pendingDiag])
			}
		}
		put(lo, hi, vals[i])
		put(hi, lo, vals[i])
	}
	for ; pendingDiag < v; pendingDiag++ {
		if diag[pendingDiag] > 0 {
			put(pendingDiag, pendingDiag, diag[pendingDiag])
		}
	}
	return c
}

// ppmi turns symmetric co-occurrence counts into positive PMI with the
// context distribution raised to cdsAlpha:
// max(0, log C[w,c] − log Σ_c' C[w,c'] − α log Σ_w' C[w',c] + log Σ_c' (Σ_w' C[w',c'])^α).
func ppmi(c *csr) *csr {
	rowSum := make([]float64, c.rows)
	for i := range c.rows {
		rowSum[i] = floats.Sum(c.data[c.indptr[i]:c.indptr[i+1]])
	}
	// C is symmetric, so column sums are the row sums.
	logCol := make([]float64, c.rows)
	var z float64
	for i, s := range rowSum {
		if s > 0 {
			logCol[i] = cdsAlpha * math.Log(s)
			z += math.Pow(s, cdsAlpha)
		}
	}
	logZ := math.Log(z)
	m := &csr{rows: c.rows, cols: c.cols, indptr: make([]int, c.rows+1)}
	for i := range c.rows {
		logRow := math.Log(rowSum[i])
		for p := c.indptr[i]; p < c.indptr[i+1]; p++ {
			j := c.indices[p]
			if x := math.Log(c.data[p]) - logRow - logCol[j] + logZ; x > 0 {
				m.indices = append(m.indices, j)
				m.data = append(m.data, x)
			}
		}
		m.indptr[i+1] = len(m.indices)
	}
	return m
}

// randomizedSVD returns the top opt.Dim left singular vectors of m as a
// rows×Dim row-major matrix, by a Gaussian sketch of Dim+Oversample columns
// and PowerIters power iterations, each re-orthonormalised.
func randomizedSVD(ctx context.Context, m *csr, opt Options, progress func(done, total int)) ([]float64, error) {
	n, k, d := m.rows, opt.Dim+opt.Oversample, opt.Dim
	mt := m.transpose()
	total := opt.PowerIters + 3
	step := 0
	advance := func() error {
		step++
		progress(step, total)
		return ctx.Err()
	}

	rng := rand.New(rand.NewPCG(uint64(opt.Seed), 0x5741_5454_554e_4521))
	omega := make([]float64, m.cols*k)
	for i := range omega {
		omega[i] = rng.NormFloat64()
	}
	q := make([]float64, n*k)
	m.mulDense(q, omega, k)
	orthonormalize(q, n, k, 1)
	if opt.PowerIters == 0 {
		orthonormalize(q, n, k, 1) // Q is used as is below
	}
	if err := advance(); err != nil {
		return nil, err
	}
	// Each power iteration applies MᵀM and then orthonormalises once: the
	// intermediate MᵀQ is only a basis change away from its orthonormalised
	// form, and CholeskyQR in float64 copes with the squared condition number.
	// Orthonormalisation is most of the cost, so this halves it.
	z := omega // m is square, so the sketch buffer fits MᵀQ
	for it := range opt.PowerIters {
		mt.mulDense(z, q, k)
		m.mulDense(q, z, k)
		passes := 1
		if it == opt.PowerIters-1 {
			passes = 2 // Q must be orthonormal for B = QᵀM and U = Q·U_B
		}
		orthonormalize(q, n, k, passes)
		if err := advance(); err != nil {
			return nil, err
		}
	}
	// B = QᵀM is k×cols; its left singular vectors are the eigenvectors of
	// BBᵀ = (MᵀQ)ᵀ(MᵀQ), which is only k×k.
	mt.mulDense(z, q, k)
	bbt := mat.NewSymDense(k, gram(z, m.cols, k))
	var eig mat.EigenSym
	if !eig.Factorize(bbt, true) {
		return nil, errors.New("randomized SVD: eigendecomposition of the sketch did not converge")
	}
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	if err := advance(); err != nil {
		return nil, err
	}
	// Eigenvalues come in ascending order: take the last d columns, largest
	// first.
	ub := make([]float64, k*d)
	for i := range k {
		for j := range d {
			ub[i*d+j] = vecs.At(i, k-1-j)
		}
	}
	u := make([]float64, n*d)
	parallelBlocks(n, func(lo, hi int) {
		blas64.Implementation().Dgemm(blas.NoTrans, blas.NoTrans, hi-lo, d, k, 1, q[lo*k:hi*k], k, ub, d, 0, u[lo*d:hi*d], d)
	})
	if err := advance(); err != nil {
		return nil, err
	}
	return u, nil
}

// removeCommonComponent finds the first right singular vector c of the
// matrix S whose rows are s = Σ weight(w)·e(w) over the in-vocabulary words
// of each training text (texts without one add a zero row, which changes
// nothing), and replaces every word vector e(w) (rows of e, d wide) by
// e(w) − (e(w)·c) c.
//
// c is the top eigenvector of SᵀS, found by power iteration without forming
// S: SᵀS u = Eᵀ Aᵀ A E u, where A holds each text's word weights. On the
// shared datasets λ₂/λ₁ ≈ 0.22, so a few dozen steps reach float64 precision,
// starting from the direction of the sum of all rows of S.
func removeCommonComponent(ctx context.Context, e []float64, d int, weights []float64, docs []int32, offsets []int) error {
	nWords := len(weights)
	// q holds Aᵀy for the current y; the start is y = 1 (all texts).
	q := make([]float64, nWords)
	for _, w := range docs {
		q[w] += weights[w]
	}
	u := make([]float64, d)
	prev := make([]float64, d)
	p := make([]float64, nWords)
	y := make([]float64, len(offsets)-1)
	const maxIter, tol = 500, 1e-14
	for iter := 0; ; iter++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		// u = normalise(Eᵀq)
		copy(prev, u)
		clear(u)
		for w, x := range q {
			if x != 0 {
				floats.AddScaled(u, x, e[w*d:(w+1)*d])
			}
		}
		norm := floats.Norm(u, 2)
		if norm == 0 {
			return nil // no text has a known word: nothing to remove
		}
		floats.Scale(1/norm, u)
		if floats.Distance(u, prev, 2) < tol || iter == maxIter {
			break
		}
		// q = Aᵀ A E u
		parallelBlocks(nWords, func(lo, hi int) {
			for w := lo; w < hi; w++ {
				p[w] = floats.Dot(e[w*d:(w+1)*d], u)
			}
		})
		for t := range y {
			var s float64
			for _, w := range docs[offsets[t]:offsets[t+1]] {
				s += weights[w] * p[w]
			}
			y[t] = s
		}
		clear(q)
		for t, yt := range y {
			for _, w := range docs[offsets[t]:offsets[t+1]] {
				q[w] += weights[w] * yt
			}
		}
	}
	for i := 0; i < len(e); i += d {
		row := e[i : i+d]
		floats.AddScaled(row, -floats.Dot(row, u), u)
	}
	return nil
}
