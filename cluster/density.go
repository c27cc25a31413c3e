package cluster

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// AlgorithmDensity is HDBSCAN (Campello, Moulavi & Sander 2013): clusters
// are the most stable dense regions of the mutual-reachability hierarchy, and
// points in no dense region stay unassigned (segment id ""). It fits on a
// seeded sample of at most densitySample points of the PCA-reduced fused
// space; every point is then assigned to the cluster of the nearest sampled
// member whose core distance reaches it, or left an outlier (see
// DensityIndex).
const AlgorithmDensity = "density"

// densitySample bounds the points HDBSCAN runs on: its cost is quadratic, and
// 5,000 points keep a re-cluster within seconds on two cores.
const densitySample = 5000

// ErrNoClusters is returned by a density fit that finds no dense region of
// at least MinClusterSize points.
var ErrNoClusters = errors.New("density clustering found no cluster")

// fitDensity runs HDBSCAN on a sample of x, sets the model's centroids,
// density index and outlier count, and returns the members of each cluster (largest first)
// and each point's squared distance to its cluster's centroid.
func (m *Model) fitDensity(ctx context.Context, x *matrix) ([][]int, []float64, error) {
	cfg := m.Config
	idx := make([]int, x.n)
	for i := range idx {
		idx[i] = i
	}
	if x.n > densitySample {
		rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0xdb5))
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		idx = idx[:densitySample]
		slices.Sort(idx)
	}
	s := newMatrix(len(idx), x.d)
	for r, i := range idx {
		copy(s.row(r), x.row(i))
	}
	labels, core, err := hdbscan(ctx, s, cfg.MinClusterSize, cfg.MinSamples)
	if err != nil {
		return nil, nil, err
	}
	k := 0
	for _, l := range labels {
		k = max(k, l+1)
	}
	if k == 0 {
		return nil, nil, fmt.Errorf("%w among %d sampled points (min_cluster_size %d, min_samples %d)",
			ErrNoClusters, len(idx), cfg.MinClusterSize, cfg.MinSamples)
	}
	// The sampled members and their core distances are the clusters'
	// envelope: a point is a member when it lies within the core distance
	// of a member, as dense as the cluster itself there.
	d := &DensityIndex{}
	for r, l := range labels {
		if l >= 0 {
			d.Points = append(d.Points, slices.Clone(s.row(r)))
			d.Core = append(d.Core, core[r])
			d.Segment = append(d.Segment, l)
		}
	}
	// Every point, sampled or not, gets the rule Assign applies, so that
	// Assign puts each fitted point back where Fit did.
	all := make([]int, x.n)
	forChunks(x.n, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			all[i] = d.member(x.row(i))
		}
	})
	byCluster := make([][]int, k)
	for i, l := range all {
		if l >= 0 {
			byCluster[l] = append(byCluster[l], i)
		} else {
			m.Outliers++
		}
	}
	// Centroids (for names, profiles and id matching) are the members'
	// means; clusters are ordered by size and empty ones dropped.
	order := make([]int, k)
	for l := range order {
		order[l] = l
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(len(byCluster[b]), len(byCluster[a])) })
	renumber := make([]int, k)
	var members [][]int
	dist := make([]float64, x.n)
	for _, l := range order {
		renumber[l] = -1
		if len(byCluster[l]) == 0 {
			continue
		}
		renumber[l] = len(members)
		members = append(members, byCluster[l])
		cen := make([]float64, x.d)
		for _, i := range byCluster[l] {
			for t, v := range x.row(i) {
				cen[t] += v
			}
		}
		for t := range cen {
			cen[t] /= float64(len(byCluster[l]))
		}
		for _, i := range byCluster[l] {
			dist[i] = sqDist(x.row(i), cen)
			m.Inertia += dist[i]
		}
		m.Centroids = append(m.Centroids, cen)
	}
	for j, l := range d.Segment {
		d.Segment[j] = renumber[l]
	}
	m.Density = d
	return members, dist, nil
}

// DensityIndex is a density model's envelope: the fused vectors of the
// members HDBSCAN found in its sample, their core distances and segments.
type DensityIndex struct {
	Points [][]float64 `json:"points"`
	Core   []float64   `json:"core"`
	// Segment is each point's index in Model.Clusters, or -1 for a member
	// of a cluster that kept no point after the final assignment.
	Segment []int `json:"segment"`
}

// member returns the segment of the nearest indexed member within whose
// core distance v lies, or -1: v is an outlier.
func (d *DensityIndex) member(v []float64) int {
	best, bestD := -1, math.Inf(1)
	for j, p := range d.Points {
		if d.Segment[j] < 0 {
			continue
		}
		dd := sqDist(v, p)
		if dd < bestD && dd <= d.Core[j]*d.Core[j] {
			best, bestD = d.Segment[j], dd
		}
	}
	return best
}

func (d *DensityIndex) validate(width, k int) error {
	if len(d.Core) != len(d.Points) || len(d.Segment) != len(d.Points) {
		return fmt.Errorf("density index has %d points, %d core distances, %d segments", len(d.Points), len(d.Core), len(d.Segment))
	}
	for j, p := range d.Points {
		if len(p) != width || d.Segment[j] >= k {
			return fmt.Errorf("density point %d has %d dimensions (want %d) and segment %d of %d", j, len(p), width, d.Segment[j], k)
		}
	}
	return nil
}

// hdbscan labels the rows of x with a cluster number from 0, or -1 for noise.
// It is exact HDBSCAN* with excess-of-mass cluster selection, no single root
// cluster: core distances to the minSamples-th neighbour (the point itself
// counted, as scikit-learn does), a minimum spanning tree of the mutual
// reachability distance (Prim, O(n²) time, O(n) memory), its single-linkage
// hierarchy condensed at minClusterSize, and the most stable clusters.
// Ties break by index, so the result is deterministic.
func hdbscan(ctx context.Context, x *matrix, minClusterSize, minSamples int) (labels []int, core []float64, err error) {
	n := x.n
	labels = make([]int, n)
	for i := range labels {
		labels[i] = -1
	}
	core = make([]float64, n)
	if n < minClusterSize || n < 2 {
		return labels, core, nil
	}
	ks := min(minSamples, n)
	forChunks(n, func(_, lo, hi int) {
		near := make([]float64, 0, ks) // ascending, the ks smallest so far
		for i := lo; i < hi; i++ {
			near = near[:0]
			for j := range n {
				d := sqDist(x.row(i), x.row(j))
				if len(near) == ks && d >= near[ks-1] {
					continue
				}
				at, _ := slices.BinarySearch(near, d)
				if len(near) < ks {
					near = append(near, 0)
				}
				copy(near[at+1:], near[at:len(near)-1])
				near[at] = d
			}
			core[i] = math.Sqrt(near[len(near)-1])
		}
	})
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}

	// Prim's minimum spanning tree over mutual reachability.
	type edge struct {
		a, b int
		w    float64
	}
	in := make([]bool, n)
	best := make([]float64, n)
	from := make([]int, n)
	for i := range best {
		best[i] = math.Inf(1)
	}
	edges := make([]edge, 0, n-1)
	cur := 0
	in[cur] = true
	for range n - 1 {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		c := cur
		forChunks(n, func(_, lo, hi int) {
			for j := lo; j < hi; j++ {
				if in[j] {
					continue
				}
				d := max(math.Sqrt(sqDist(x.row(c), x.row(j))), core[c], core[j])
				if d < best[j] {
					best[j], from[j] = d, c
				}
			}
		})
		next := -1
		for j := range n {
			if !in[j] && (next < 0 || best[j] < best[next]) {
				next = j
			}
		}
		in[next] = true
		edges = append(edges, edge{from[next], next, best[next]})
		cur = next
	}
	slices.SortStableFunc(edges, func(a, b edge) int { return cmp.Compare(a.w, b.w) })

	// Single-linkage hierarchy: node n+e merges the two components edge e
	// joins.
	uf := make([]int, n)   // union-find parent
	node := make([]int, n) // hierarchy node of each component root
	for i := range uf {
		uf[i], node[i] = i, i
	}
	find := func(i int) int {
		for uf[i] != i {
			uf[i] = uf[uf[i]]
			i = uf[i]
		}
		return i
	}
	left := make([]int, n-1)
	right := make([]int, n-1)
	height := make([]float64, n-1)
	size := make([]int, 2*n-1)
	for i := range n {
		size[i] = 1
	}
	floor := math.Inf(1) // the smallest positive distance stands in for 0
	for e, ed := range edges {
		ra, rb := find(ed.a), find(ed.b)
		left[e], right[e], height[e] = node[ra], node[rb], ed.w
		size[n+e] = size[node[ra]] + size[node[rb]]
		uf[rb] = ra
		node[ra] = n + e
		if ed.w > 0 {
			floor = min(floor, ed.w)
		}
	}
	if math.IsInf(floor, 1) {
		return labels, core, nil // all points identical: no density contrast
	}
	lambda := func(t int) float64 { return 1 / max(height[t-n], floor) }
	leaves := func(t int, fn func(int)) {
		stack := []int{t}
		for len(stack) > 0 {
			u := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if u < n {
				fn(u)
				continue
			}
			stack = append(stack, right[u-n], left[u-n])
		}
	}

	// Condensed tree: clusters are numbered in creation order, so a child's
	// number is above its parent's.
	parent := []int{-1}
	birth := []float64{0}
	stability := []float64{0}
	children := [][]int{nil}
	fell := make([]int, n) // the cluster each point fell out of
	type task struct{ node, cluster int }
	stack := []task{{2*n - 2, 0}}
	for len(stack) > 0 {
		t := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if t.node < n { // a single point (min_cluster_size ≤ 1 cannot happen)
			fell[t.node] = t.cluster
			continue
		}
		lam := lambda(t.node)
		l, r := left[t.node-n], right[t.node-n]
		sl, sr := size[l], size[r]
		c := t.cluster
		gain := lam - birth[c]
		switch {
		case sl >= minClusterSize && sr >= minClusterSize:
			stability[c] += float64(sl+sr) * gain
			for _, child := range []int{r, l} {
				id := len(parent)
				parent = append(parent, c)
				birth = append(birth, lam)
				stability = append(stability, 0)
				children = append(children, nil)
				children[c] = append(children[c], id)
				stack = append(stack, task{child, id})
			}
		case sl < minClusterSize && sr < minClusterSize:
			stability[c] += float64(sl+sr) * gain
			leaves(t.node, func(p int) { fell[p] = c })
		default:
			small, big := l, r
			if sl >= minClusterSize {
				small, big = r, l
			}
			stability[c] += float64(size[small]) * gain
			leaves(small, func(p int) { fell[p] = c })
			stack = append(stack, task{big, c})
		}
	}

	// Excess of mass: keep a cluster when it is more stable than its
	// selected descendants together; the root is never a cluster.
	nc := len(parent)
	sel := make([]bool, nc)
	total := slices.Clone(stability)
	for c := nc - 1; c >= 1; c-- {
		var sum float64
		for _, ch := range children[c] {
			sum += total[ch]
		}
		if len(children[c]) == 0 || stability[c] >= sum {
			sel[c] = true
		} else {
			total[c] = sum
		}
	}
	covered := make([]bool, nc)
	for c := 1; c < nc; c++ {
		if p := parent[c]; p > 0 && (sel[p] || covered[p]) {
			covered[c], sel[c] = true, false
		}
	}
	number := make([]int, nc)
	k := 0
	for c := range nc {
		number[c] = -1
		if sel[c] {
			number[c] = k
			k++
		}
	}
	for i := range n {
		for c := fell[i]; c > 0; c = parent[c] {
			if sel[c] {
				labels[i] = number[c]
				break
			}
		}
	}
	return labels, core, nil
}
