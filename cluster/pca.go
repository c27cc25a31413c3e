package cluster

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// pcaSample bounds how many points the PCA is fitted on: the principal axes
// of 5,000 unit vectors are as good as those of all of them, and the
// covariance costs n·d² to build.
const pcaSample = 5000

// PCA projects unit-normalised embeddings onto their leading principal axes.
// It is fitted by Fit and stored in the model, so that Assign projects new
// points exactly as the fitted ones were.
//
// Without it the fused vector holds the embedding's hundreds of dimensions
// next to one sentiment and a handful of behavioral ones; most of those
// dimensions carry noise that every distance pays for.
type PCA struct {
	// Mean is the mean unit embedding of the fitted points.
	Mean []float64 `json:"mean"`
	// Components holds the principal axes (unit vectors, largest variance
	// first), each of the embedding's dimension.
	Components [][]float64 `json:"components"`
	// Explained is the share of the embedding's variance the axes keep.
	Explained float64 `json:"explained"`
}

// fitPCA fits the first dims principal axes of the unit-normalised vectors of
// pts (a seeded sample of at most pcaSample of them). It returns nil when
// dims is 0 or not below the embedding dimension: there is nothing to reduce.
func fitPCA(pts []Point, dim, dims int, seed int64) (*PCA, error) {
	if dims <= 0 || dims >= dim {
		return nil, nil
	}
	idx := make([]int, len(pts))
	for i := range idx {
		idx[i] = i
	}
	if len(idx) > pcaSample {
		rng := rand.New(rand.NewPCG(uint64(seed), 0x9ca))
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		idx = idx[:pcaSample]
	}
	x := mat.NewDense(len(idx), dim, nil)
	mean := make([]float64, dim)
	for r, i := range idx {
		row := x.RawRowView(r)
		if err := unitInto(row, pts[i]); err != nil {
			return nil, err
		}
		for j, v := range row {
			mean[j] += v
		}
	}
	for j := range mean {
		mean[j] /= float64(len(idx))
	}
	for r := range len(idx) {
		row := x.RawRowView(r)
		for j := range row {
			row[j] -= mean[j]
		}
	}
	cov := mat.NewSymDense(dim, nil)
	cov.SymOuterK(1/float64(len(idx)), x.T())
	var eig mat.EigenSym
	if !eig.Factorize(cov, true) {
		return nil, fmt.Errorf("pca: eigendecomposition of the %d×%d covariance failed", dim, dim)
	}
	vals := eig.Values(nil) // ascending
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	var total, kept float64
	for _, v := range vals {
		total += max(0, v)
	}
	p := &PCA{Mean: mean}
	for c := range dims {
		col := len(vals) - 1 - c
		kept += max(0, vals[col])
		axis := mat.Col(nil, col, &vecs)
		// An eigenvector's sign is arbitrary; fix it (largest coefficient
		// positive) so that equal data give equal models everywhere.
		big := 0
		for j, v := range axis {
			if math.Abs(v) > math.Abs(axis[big]) {
				big = j
			}
		}
		if axis[big] < 0 {
			for j := range axis {
				axis[j] = -axis[j]
			}
		}
		p.Components = append(p.Components, axis)
	}
	if total > 0 {
		p.Explained = kept / total
	}
	return p, nil
}

// unitInto writes p's embedding, normalised to unit length, into dst.
func unitInto(dst []float64, p Point) error {
	if len(p.Vec) != len(dst) {
		return fmt.Errorf("event %s: vector has %d dimensions, model has %d: %w", p.Doc.Event.ID, len(p.Vec), len(dst), ErrDimMismatch)
	}
	var norm float64
	for i, v := range p.Vec {
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("event %s: vector holds %v", p.Doc.Event.ID, f)
		}
		dst[i] = f
		norm += f * f
	}
	if norm > 0 {
		inv := 1 / math.Sqrt(norm)
		for i := range dst {
			dst[i] *= inv
		}
	}
	return nil
}

// project writes scale times the projection of the unit vector u onto the
// axes into dst.
func (p *PCA) project(dst, u []float64, scale float64) {
	for j, m := range p.Mean {
		u[j] -= m
	}
	for c, axis := range p.Components {
		dst[c] = scale * dot(u, axis)
	}
}

func (p *PCA) validate(dim int) error {
	if len(p.Mean) != dim || len(p.Components) == 0 {
		return fmt.Errorf("pca has a mean of %d dimensions and %d axes for embeddings of %d", len(p.Mean), len(p.Components), dim)
	}
	for c, a := range p.Components {
		if len(a) != dim {
			return fmt.Errorf("pca axis %d has %d dimensions, want %d", c, len(a), dim)
		}
	}
	return nil
}
