package cluster

import "math"

// NMI is the normalised mutual information of two labelings of the same
// items, with the arithmetic-mean normalisation that scikit-learn uses by
// default: I(A;B) / ((H(A)+H(B))/2). It is 1 for identical partitions (and
// for two single-cluster labelings), near 0 for independent ones. Labelings
// of different lengths give NaN.
func NMI[A, B comparable](a []A, b []B) float64 {
	if len(a) != len(b) {
		return math.NaN()
	}
	if len(a) == 0 {
		return 1
	}
	ct := contingency(a, b)
	n := float64(len(a))
	var mi float64
	for i, row := range ct.cells {
		for j, c := range row {
			if c > 0 {
				mi += c / n * math.Log(c*n/(ct.rows[i]*ct.cols[j]))
			}
		}
	}
	h := func(counts []float64) float64 {
		var s float64
		for _, c := range counts {
			if c > 0 {
				s -= c / n * math.Log(c/n)
			}
		}
		return s
	}
	ha, hb := h(ct.rows), h(ct.cols)
	if ha+hb == 0 {
		return 1
	}
	return max(0, mi/((ha+hb)/2))
}

// ARI is the adjusted Rand index of two labelings (Hubert and Arabie 1985):
// the share of item pairs both put together or both apart, corrected for
// chance, so 0 is what random labels score and 1 is identical partitions.
// Labelings of different lengths give NaN.
func ARI[A, B comparable](a []A, b []B) float64 {
	if len(a) != len(b) {
		return math.NaN()
	}
	ct := contingency(a, b)
	c2 := func(x float64) float64 { return x * (x - 1) / 2 }
	var index, sumA, sumB float64
	for _, row := range ct.cells {
		for _, c := range row {
			index += c2(c)
		}
	}
	for _, c := range ct.rows {
		sumA += c2(c)
	}
	for _, c := range ct.cols {
		sumB += c2(c)
	}
	total := c2(float64(len(a)))
	if total == 0 {
		return 1
	}
	expected := sumA * sumB / total
	maxIndex := (sumA + sumB) / 2
	if maxIndex == expected {
		return 1
	}
	return (index - expected) / (maxIndex - expected)
}

// MatchedAccuracy is the share of items whose cluster, mapped one-to-one to
// a class by the assignment that maximises agreement (Hungarian algorithm),
// equals their class: the "clustering accuracy" of the literature. Clusters
// left without a class when there are more clusters than classes count as
// wrong. Labelings of different lengths give NaN.
func MatchedAccuracy[A, B comparable](clusters []A, classes []B) float64 {
	if len(clusters) != len(classes) {
		return math.NaN()
	}
	if len(clusters) == 0 {
		return 1
	}
	ct := contingency(clusters, classes)
	cost := make([][]float64, len(ct.cells))
	for i, row := range ct.cells {
		cost[i] = make([]float64, len(row))
		for j, c := range row {
			cost[i][j] = -c
		}
	}
	var hit float64
	for i, j := range Hungarian(cost) {
		if j >= 0 {
			hit += ct.cells[i][j]
		}
	}
	return hit / float64(len(clusters))
}

type table struct {
	cells      [][]float64
	rows, cols []float64
}

func contingency[A, B comparable](a []A, b []B) table {
	ia, ib := map[A]int{}, map[B]int{}
	for i := range a {
		if _, ok := ia[a[i]]; !ok {
			ia[a[i]] = len(ia)
		}
		if _, ok := ib[b[i]]; !ok {
			ib[b[i]] = len(ib)
		}
	}
	t := table{cells: make([][]float64, len(ia)), rows: make([]float64, len(ia)), cols: make([]float64, len(ib))}
	for i := range t.cells {
		t.cells[i] = make([]float64, len(ib))
	}
	for i := range a {
		r, c := ia[a[i]], ib[b[i]]
		t.cells[r][c]++
		t.rows[r]++
		t.cols[c]++
	}
	return t
}

// Hungarian solves the rectangular assignment problem: it returns, for each
// row of cost, the column assigned to it (or -1 when there are more rows than
// columns and the row is left out) so that every column is used at most once
// and the total cost of the assigned cells is minimal. It runs in O(n²m) with
// the shortest augmenting path method (Jonker–Volgenant potentials).
// Non-finite costs are treated as forbidden cells.
func Hungarian(cost [][]float64) []int {
	rows := len(cost)
	if rows == 0 {
		return nil
	}
	cols := 0
	for _, r := range cost {
		cols = max(cols, len(r))
	}
	out := make([]int, rows)
	for i := range out {
		out[i] = -1
	}
	if cols == 0 {
		return out
	}
	// Work on an n×m matrix with n ≤ m, transposing if needed; missing and
	// forbidden cells cost more than any real assignment.
	transposed := rows > cols
	n, m := rows, cols
	if transposed {
		n, m = cols, rows
	}
	var big float64
	for _, r := range cost {
		for _, v := range r {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				big = max(big, math.Abs(v))
			}
		}
	}
	big = (big + 1) * float64(n+1) * 2
	at := func(i, j int) float64 { // i in [0,n), j in [0,m)
		r, c := i, j
		if transposed {
			r, c = j, i
		}
		if c >= len(cost[r]) {
			return big
		}
		v := cost[r][c]
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return big
		}
		return v
	}
	u := make([]float64, n+1)
	v := make([]float64, m+1)
	p := make([]int, m+1) // p[j]: row (1-based) matched to column j; 0 none
	way := make([]int, m+1)
	minv := make([]float64, m+1)
	used := make([]bool, m+1)
	for i := 1; i <= n; i++ {
		p[0] = i
		j0 := 0
		for j := range minv {
			minv[j] = math.Inf(1)
			used[j] = false
		}
		for {
			used[j0] = true
			i0 := p[j0]
			delta, j1 := math.Inf(1), 0
			for j := 1; j <= m; j++ {
				if used[j] {
					continue
				}
				cur := at(i0-1, j-1) - u[i0] - v[j]
				if cur < minv[j] {
					minv[j], way[j] = cur, j0
				}
				if minv[j] < delta {
					delta, j1 = minv[j], j
				}
			}
			for j := 0; j <= m; j++ {
				if used[j] {
					u[p[j]] += delta
					v[j] -= delta
				} else {
					minv[j] -= delta
				}
			}
			j0 = j1
			if p[j0] == 0 {
				break
			}
		}
		for j0 != 0 {
			j1 := way[j0]
			p[j0] = p[j1]
			j0 = j1
		}
	}
	for j := 1; j <= m; j++ {
		if p[j] == 0 {
			continue
		}
		i, c := p[j]-1, j-1
		if at(i, c) >= big {
			continue // a forbidden cell: better unassigned
		}
		if transposed {
			out[c] = i
		} else {
			out[i] = c
		}
	}
	return out
}
