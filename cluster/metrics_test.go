package cluster

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestMetrics(t *testing.T) {
	x := []int{0, 0, 0, 1, 1, 1, 2, 2, 2, 2}
	y := []string{"a", "a", "b", "b", "b", "c", "c", "c", "a", "c"}
	// Reference values from scikit-learn 1.2.1 (python3-sklearn, Debian 12):
	// normalized_mutual_info_score(y, x), adjusted_rand_score(y, x).
	cases := []struct {
		name      string
		got, want float64
	}{
		{"nmi", NMI(x, y), 0.4427012833460501},
		{"ari", ARI(x, y), 0.20454545454545456},
		{"nmi identical relabelled", NMI(x, []string{"p", "p", "p", "q", "q", "q", "r", "r", "r", "r"}), 1},
		{"ari identical relabelled", ARI(x, []string{"p", "p", "p", "q", "q", "q", "r", "r", "r", "r"}), 1},
		// Best one-to-one map 0→a, 1→b, 2→c: 2 + 2 + 3 = 7 of 10.
		{"accuracy", MatchedAccuracy(x, y), 0.7},
		{"nmi agrees with the test helper", NMI(x, y), nmi(x, y)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if math.Abs(c.got-c.want) > 1e-9 {
				t.Errorf("got %.12f, want %.12f", c.got, c.want)
			}
		})
	}
	if !math.IsNaN(ARI(x, y[:3])) || !math.IsNaN(NMI(x, y[:3])) || !math.IsNaN(MatchedAccuracy(x, y[:3])) {
		t.Error("labelings of different lengths must give NaN")
	}
}

// TestHungarian checks the assignment against brute force on random
// rectangular matrices.
func TestHungarian(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		rows, cols := 1+rng.IntN(6), 1+rng.IntN(6)
		cost := make([][]float64, rows)
		for i := range cost {
			cost[i] = make([]float64, cols)
			for j := range cost[i] {
				cost[i][j] = math.Round(rng.Float64()*100) - 50
			}
		}
		got := Hungarian(cost)
		used := map[int]bool{}
		var total float64
		assigned := 0
		for i, j := range got {
			if j < 0 {
				continue
			}
			if used[j] {
				t.Fatalf("trial %d: column %d used twice: %v", trial, j, got)
			}
			used[j] = true
			total += cost[i][j]
			assigned++
		}
		if assigned != min(rows, cols) {
			t.Fatalf("trial %d: %d rows assigned, want %d", trial, assigned, min(rows, cols))
		}
		if want := bruteAssign(cost, 0, map[int]bool{}, min(rows, cols)); math.Abs(total-want) > 1e-9 {
			t.Fatalf("trial %d: cost %v, brute force %v (%v)", trial, total, want, cost)
		}
	}
}

// bruteAssign is the minimal cost of assigning need more rows from row i on.
func bruteAssign(cost [][]float64, i int, used map[int]bool, need int) float64 {
	if need == 0 {
		return 0
	}
	if len(cost)-i < need {
		return math.Inf(1)
	}
	best := bruteAssign(cost, i+1, used, need) // leave row i out
	for j := range cost[i] {
		if used[j] {
			continue
		}
		used[j] = true
		best = min(best, cost[i][j]+bruteAssign(cost, i+1, used, need-1))
		used[j] = false
	}
	return best
}
