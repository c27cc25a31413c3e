package cluster

import "slices"

// A segment over Config.MaxShare is allowed when it is coherent: one thing,
// however large, rather than a catch-all of what is left over. Coherent
// means that one stem distinctive of the segment (at least
// coherentLift times as frequent in it as in the rest of the sample) is used
// by at least coherentShare of its texts. On the airline tweets the large
// thank-you segments pass ("thank" in most of them); the catch-alls k-means
// leaves at a low k ("seat flight time trying boarding", no reason above 26 %
// of its complaints) have no stem in more than a fifth of their texts. A
// Banking77 intent holding a fifth of a small sample passes too.
const (
	coherentShare = 0.5
	coherentLift  = 2.0
)

// termSets holds the distinct stems of every sample point as small integers.
type termSets struct {
	docs  [][]int32
	terms int
}

func newTermSets(stems [][]string, n int) termSets {
	ids := map[string]int32{}
	ts := termSets{docs: make([][]int32, n)}
	for i := range n {
		if i >= len(stems) {
			break
		}
		for _, st := range stems[i] {
			id, ok := ids[st]
			if !ok {
				id = int32(len(ids))
				ids[st] = id
			}
			ts.docs[i] = append(ts.docs[i], id)
		}
		slices.Sort(ts.docs[i])
		ts.docs[i] = slices.Compact(ts.docs[i])
	}
	ts.terms = len(ids)
	return ts
}

// largest returns the share of the points in the largest of the k clusters
// of labels, and that of the largest cluster over maxShare that is not
// coherent (0 when there is none).
func (ts termSets) largest(labels []int, k int, maxShare float64) (largest, catchall float64) {
	size := make([]int, k)
	for _, l := range labels {
		size[l]++
	}
	n := float64(len(labels))
	var df []int // document frequency of each term over all points
	for c, sz := range size {
		share := float64(sz) / n
		largest = max(largest, share)
		if share <= maxShare || share <= catchall {
			continue
		}
		if df == nil {
			df = make([]int, ts.terms)
			for _, d := range ts.docs {
				for _, t := range d {
					df[t]++
				}
			}
		}
		if !ts.coherent(labels, c, sz, df) {
			catchall = share
		}
	}
	return largest, catchall
}

// coherent reports whether cluster c (size points) has a distinctive stem
// used by at least coherentShare of its points (see coherentShare).
func (ts termSets) coherent(labels []int, c, size int, df []int) bool {
	in := make([]int, ts.terms)
	for i, l := range labels {
		if l == c {
			for _, t := range ts.docs[i] {
				in[t]++
			}
		}
	}
	rest := len(labels) - size
	for t, n := range in {
		inShare := float64(n) / float64(size)
		if inShare < coherentShare {
			continue
		}
		if rest == 0 {
			return true
		}
		if outShare := float64(df[t]-n) / float64(rest); inShare >= coherentLift*outShare {
			return true
		}
	}
	return false
}

// stemsOf returns the stems of every point's analysed text.
func stemsOf(pts []Point) [][]string {
	out := make([][]string, len(pts))
	for i, p := range pts {
		out[i] = p.Doc.Analysis.Stems
	}
	return out
}
