package evaluate

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/attune-cx/attune/cluster"
)

// blobs returns n points around each of k random centres in dim
// dimensions, with their true group.
func blobs(k, n, dim int, spread float64) (Dense, []int) {
	rng := rand.New(rand.NewPCG(9, 9))
	var x Dense
	var truth []int
	for g := range k {
		c := make([]float64, dim)
		for j := range c {
			c[j] = rng.NormFloat64() * 10
		}
		for range n {
			p := make([]float64, dim)
			for j := range p {
				p[j] = c[j] + rng.NormFloat64()*spread
			}
			x, truth = append(x, p), append(truth, g)
		}
	}
	return x, truth
}

func TestKMeansRecoversBlobs(t *testing.T) {
	x, truth := blobs(6, 40, 8, 0.5)
	got := KMeans(x, 6, 3, 1)
	if nmi := cluster.NMI(got, truth); nmi < 0.999 {
		t.Errorf("NMI of separated blobs = %.3f, want 1", nmi)
	}
	if !slices.Equal(got, KMeans(x, 6, 3, 1)) {
		t.Error("the same seed gave other labels")
	}
	// Overlapping blobs: worse, but far from chance.
	x, truth = blobs(6, 40, 8, 8)
	if nmi := cluster.NMI(KMeans(x, 6, 3, 1), truth); nmi > 0.95 || nmi < 0.2 {
		t.Errorf("NMI of overlapping blobs = %.3f, want between 0.2 and 0.95", nmi)
	}
}

// TestSparseMatchesDense clusters the same points stored both ways: the
// sparse path must give the dense path's labels.
func TestSparseMatchesDense(t *testing.T) {
	x, _ := blobs(4, 30, 6, 2)
	var sp Sparse
	sp.D = 6
	for _, p := range x {
		var v SparseVec
		for j, f := range p {
			if j%3 != 2 { // leave some dimensions out, as sparse data does
				v.Idx, v.Val = append(v.Idx, j), append(v.Val, f)
			}
		}
		sp.Vecs = append(sp.Vecs, v)
	}
	dense := make(Dense, len(x))
	for i, v := range sp.Vecs {
		dense[i] = make([]float64, 6)
		for q, j := range v.Idx {
			dense[i][j] = v.Val[q]
		}
	}
	a, b := KMeans(dense, 4, 2, 5), KMeans(sp, 4, 2, 5)
	if cluster.ARI(a, b) < 0.999 {
		t.Errorf("sparse and dense k-means disagree: ARI %.3f", cluster.ARI(a, b))
	}
}

func TestTFIDF(t *testing.T) {
	texts := []string{"late flight late", "late bag", "lost bag", "a b"}
	tv := TFIDF(texts, strings.Fields)
	// Terms in at least two texts with two or more characters: bag, late.
	if tv.D != 2 {
		t.Fatalf("vocabulary of %d terms, want 2 (bag, late)", tv.D)
	}
	// Text 0: late only, tf 2 → normalised to 1.
	if v := tv.Vecs[0]; !slices.Equal(v.Idx, []int{1}) || math.Abs(v.Val[0]-1) > 1e-12 {
		t.Errorf("text 0 = %+v, want late = 1", v)
	}
	// Text 1: bag and late, both df 2: equal weights.
	if v := tv.Vecs[1]; len(v.Val) != 2 || math.Abs(v.Val[0]-v.Val[1]) > 1e-12 || math.Abs(v.Val[0]-math.Sqrt(0.5)) > 1e-12 {
		t.Errorf("text 1 = %+v, want bag = late = √½", v)
	}
	if len(tv.Vecs[3].Idx) != 0 {
		t.Errorf("text of one-letter words = %+v, want empty", tv.Vecs[3])
	}
}
