package wordvec

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/lapack/lapack64"
)

// rowBlock is the number of rows one parallel task handles. Work is split in
// fixed blocks, never by worker count, so that results do not depend on
// GOMAXPROCS: every reduction runs in the same order on every machine.
const rowBlock = 1024

// parallelBlocks calls fn for each block [lo, hi) of n rows, on up to
// GOMAXPROCS goroutines.
func parallelBlocks(n int, fn func(lo, hi int)) {
	nb := (n + rowBlock - 1) / rowBlock
	workers := min(runtime.GOMAXPROCS(0), nb)
	if workers <= 1 {
		for b := range nb {
			fn(b*rowBlock, min(n, (b+1)*rowBlock))
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				b := int(next.Add(1) - 1)
				if b >= nb {
					return
				}
				fn(b*rowBlock, min(n, (b+1)*rowBlock))
			}
		}()
	}
	wg.Wait()
}

// csr is a compressed sparse row matrix.
type csr struct {
	rows, cols int
	indptr     []int   // len rows+1
	indices    []int32 // column of each stored value
	data       []float64
}

// mulDense sets dst (rows×k, row-major) to a·b, where b is cols×k row-major.
func (a *csr) mulDense(dst, b []float64, k int) {
	parallelBlocks(a.rows, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			out := dst[i*k : (i+1)*k]
			clear(out)
			for p := a.indptr[i]; p < a.indptr[i+1]; p++ {
				j := int(a.indices[p])
				floats.AddScaled(out, a.data[p], b[j*k:(j+1)*k])
			}
		}
	})
}

// transpose returns aᵀ, with each row's columns in ascending order.
func (a *csr) transpose() *csr {
	t := &csr{rows: a.cols, cols: a.rows, indptr: make([]int, a.cols+1),
		indices: make([]int32, len(a.indices)), data: make([]float64, len(a.data))}
	for _, j := range a.indices {
		t.indptr[j+1]++
	}
	for j := range a.cols {
		t.indptr[j+1] += t.indptr[j]
	}
	next := append([]int(nil), t.indptr[:a.cols]...)
	for i := range a.rows {
		for p := a.indptr[i]; p < a.indptr[i+1]; p++ {
			j := a.indices[p]
			q := next[j]
			t.indices[q] = int32(i)
			t.data[q] = a.data[p]
			next[j]++
		}
	}
	return t
}

// gramChunk is the number of rows whose partial Gram matrix one task
// accumulates; the partials are then added in chunk order.
const gramChunk = 2048

// gram returns yᵀy (k×k, row-major, full) for y of n rows and k columns. It
// accumulates only the upper triangle, one row at a time, in fixed chunks
// of rows that run in parallel.
func gram(y []float64, n, k int) []float64 {
	nc := (n + gramChunk - 1) / gramChunk
	partial := make([][]float64, nc)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), nc) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c := int(next.Add(1) - 1)
				if c >= nc {
					return
				}
				g := make([]float64, k*k)
				for r := c * gramChunk; r < min(n, (c+1)*gramChunk); r++ {
					row := y[r*k : (r+1)*k]
					for i, x := range row {
						if x != 0 {
							floats.AddScaled(g[i*k+i:(i+1)*k], x, row[i:])
						}
					}
				}
				partial[c] = g
			}
		}()
	}
	wg.Wait()
	g := partial[0]
	for _, p := range partial[1:] {
		floats.Add(g, p)
	}
	for i := range k {
		for j := range i {
			g[i*k+j] = g[j*k+i]
		}
	}
	return g
}

// errNotPositiveDefinite reports that a Cholesky factorisation failed: the
// columns being orthonormalised are (numerically) linearly dependent.
var errNotPositiveDefinite = errors.New("gram matrix is not positive definite")

// cholQR orthonormalises the columns of y (n×k, row-major) in place: with
// yᵀy = RᵀR it sets y ← y R⁻¹. It costs n·k² for the Gram matrix (upper half)
// and n·k² for the triangular solve, both parallel by rows, against 2n·k² of
// poorly parallel Householder QR.
func cholQR(y []float64, n, k int) error {
	g := gram(y, n, k)
	r := blas64.Triangular{N: k, Stride: k, Uplo: blas.Upper, Diag: blas.NonUnit, Data: g}
	if _, ok := lapack64.Potrf(blas64.Symmetric{N: k, Stride: k, Uplo: blas.Upper, Data: g}); !ok {
		return errNotPositiveDefinite
	}
	parallelBlocks(n, func(lo, hi int) {
		blk := blas64.General{Rows: hi - lo, Cols: k, Stride: k, Data: y[lo*k : hi*k]}
		blas64.Trsm(blas.Right, blas.NoTrans, 1, r, blk)
	})
	return nil
}

// orthonormalize replaces y (n×k, row-major, n ≥ k) by a basis of its
// column space by passes of CholeskyQR: one pass leaves an orthogonality
// error of about cond(y)²·ε, which is all a power iteration needs, and a
// second pass brings it to ε. If the columns are too ill-conditioned for
// Cholesky, Householder QR is used instead.
func orthonormalize(y []float64, n, k, passes int) {
	ok := true
	for range passes {
		if ok = cholQR(y, n, k) == nil; !ok {
			break
		}
	}
	if ok {
		return
	}
	a := blas64.General{Rows: n, Cols: k, Stride: k, Data: y}
	tau := make([]float64, k)
	work := []float64{0}
	lapack64.Geqrf(a, tau, work, -1)
	lwork := int(work[0])
	lapack64.Orgqr(a, tau, work, -1)
	lwork = max(lwork, int(work[0]), 1)
	work = make([]float64, lwork)
	lapack64.Geqrf(a, tau, work, lwork)
	lapack64.Orgqr(a, tau, work, lwork)
}
