package cluster

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
)

// Algorithms Config.Algorithm names.
const (
	// AlgorithmKMeans is exact k-means (Lloyd with Hamerly's bounds) on all
	// points: the best partitions, cost linear in n per iteration.
	AlgorithmKMeans = "kmeans"
	// AlgorithmMiniBatch is mini-batch k-means (Sculley 2010): centroids
	// learn from small random batches, then every point is assigned once.
	// For very large n, at some cost in inertia.
	AlgorithmMiniBatch = "minibatch"
)

// DefaultBatchSize is the mini-batch size.
const DefaultBatchSize = 1024

// miniBatchSeedSample bounds the points k-means++ seeds from in mini-batch
// mode: seeding costs n·k distance computations.
const miniBatchSeedSample = 10000

// miniBatchEpochs is how many passes' worth of batches the centroids see.
const miniBatchEpochs = 3

// minibatchKMeans clusters the rows of x with mini-batch k-means: k-means++
// seeding on a sample, miniBatchEpochs·n/batch steps that each move the
// centroids toward a random batch with per-centroid learning rates 1/count,
// then one full assignment. Deterministic for a given rng.
func minibatchKMeans(ctx context.Context, x *matrix, k, batch int, rng *rand.Rand) (*kmResult, error) {
	s := x
	if x.n > miniBatchSeedSample {
		idx := rng.Perm(x.n)[:miniBatchSeedSample]
		slices.Sort(idx)
		s = newMatrix(len(idx), x.d)
		for r, i := range idx {
			copy(s.row(r), x.row(i))
		}
	}
	snorms := make([]float64, s.n)
	for i := range s.n {
		r := s.row(i)
		snorms[i] = dot(r, r)
	}
	c := seedPlusPlus(s, snorms, k, rng)
	counts := make([]float64, k)
	batch = min(batch, x.n)
	steps := max(1, miniBatchEpochs*x.n/batch)
	members := make([]int, batch)
	nearest := make([]int, batch)
	cnorms := make([]float64, k)
	for step := range steps {
		if step%32 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		for b := range members {
			members[b] = rng.IntN(x.n)
		}
		for j := range k {
			r := c.row(j)
			cnorms[j] = dot(r, r)
		}
		forChunks(batch, func(_, lo, hi int) {
			for b := lo; b < hi; b++ {
				nearest[b] = nearestCentroid(x.row(members[b]), c, cnorms)
			}
		})
		// Sequential so the result does not depend on scheduling.
		for b, i := range members {
			j := nearest[b]
			counts[j]++
			eta := 1 / counts[j]
			r, xr := c.row(j), x.row(i)
			for t, v := range xr {
				r[t] += eta * (v - r[t])
			}
		}
	}
	res := &kmResult{k: k, centroids: c, labels: make([]int, x.n), dist: make([]float64, x.n), iters: steps}
	for j := range k {
		r := c.row(j)
		cnorms[j] = dot(r, r)
	}
	partial := make([]float64, numChunks(x.n))
	forChunks(x.n, func(ch, lo, hi int) {
		var sum float64
		for i := lo; i < hi; i++ {
			j := nearestCentroid(x.row(i), c, cnorms)
			res.labels[i] = j
			res.dist[i] = sqDist(x.row(i), c.row(j))
			sum += res.dist[i]
		}
		partial[ch] = sum
	})
	res.inertia = sum(partial)
	return res, nil
}

// nearestCentroid returns the index of the centroid nearest to v (the lower
// index on a tie), given the centroids' squared norms.
func nearestCentroid(v []float64, c *matrix, cnorms []float64) int {
	best, bestD := 0, math.Inf(1)
	for j := range c.n {
		if d := cnorms[j] - 2*dot(v, c.row(j)); d < bestD {
			best, bestD = j, d
		}
	}
	return best
}

// bestOfMiniBatch runs mini-batch k-means inits times from different seeds
// and keeps the run with the lowest inertia over all points.
func bestOfMiniBatch(ctx context.Context, x *matrix, k, batch, inits int, seed int64) (*kmResult, error) {
	var best *kmResult
	for r := range inits {
		res, err := minibatchKMeans(ctx, x, k, batch, newRand(seed, runStream(streamMiniBatch, k, r)))
		if err != nil {
			return nil, err
		}
		if best == nil || res.inertia < best.inertia {
			best = res
		}
	}
	return best, nil
}
