package nlp

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
)

// AspectModel detects aspects a phrase list would miss: one logistic
// regression per aspect over the text's stems and stem bigrams, learned from
// sentences labelled with their aspects (SemEval-2014 restaurant categories
// mapped to Attune aspects; see configs/semeval2014_restaurants.yaml). It
// complements an [AspectSet]: "the sushi was stale" names no food word in a
// CX phrase list, but the model has seen "sushi" under food.
type AspectModel struct {
	// Names are the aspects, in weight order.
	Names []string
	// W maps a feature to its weight for each aspect.
	W map[string][]float64
}

// AspectExample is one training sentence with the aspects it is about.
type AspectExample struct {
	Text    string
	Aspects []string
}

// TrainAspects fits an AspectModel to the examples, one AdaGrad logistic
// regression per aspect name found in them. Deterministic for a seed.
func TrainAspects(examples []AspectExample, epochs int, seed uint64) *AspectModel {
	if epochs == 0 {
		epochs = 10
	}
	idx := map[string]int{}
	var names []string
	for _, e := range examples {
		for _, a := range e.Aspects {
			if _, ok := idx[a]; !ok {
				idx[a] = -1
				names = append(names, a)
			}
		}
	}
	sort.Strings(names)
	for i, n := range names {
		idx[n] = i
	}
	k := len(names)
	xs := make([][]feature, len(examples))
	df := map[string]int{}
	for i, e := range examples {
		xs[i], _ = features(sentimentText(e.Text), nil, stemmerFor("en"))
		for _, f := range xs[i] {
			df[f.name]++
		}
	}
	m := &AspectModel{Names: names, W: map[string][]float64{}}
	g2 := map[string][]float64{}
	for n, c := range df {
		if c >= 2 {
			m.W[n] = make([]float64, k)
			g := make([]float64, k)
			for j := range g {
				g[j] = 1e-8
			}
			g2[n] = g
		}
	}
	order := make([]int, len(xs))
	for i := range order {
		order[i] = i
	}
	rng := rand.New(rand.NewPCG(seed, 11))
	const lr, l2 = 0.2, 1e-5
	for ep := 0; ep < epochs; ep++ {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			p := m.probs(xs[i])
			y := make([]float64, k)
			for _, a := range examples[i].Aspects {
				y[idx[a]] = 1
			}
			for _, f := range xs[i] {
				w, ok := m.W[f.name]
				if !ok {
					continue
				}
				g := g2[f.name]
				for j := 0; j < k; j++ {
					grad := (p[j]-y[j])*f.v + l2*w[j]
					g[j] += grad * grad
					w[j] -= lr * grad / math.Sqrt(g[j])
				}
			}
		}
	}
	for n, w := range m.W {
		small := true
		for _, x := range w {
			if math.Abs(x) >= 0.02 {
				small = false
			}
		}
		if small {
			delete(m.W, n)
		}
	}
	return m
}

// probs returns P(aspect | text) for each aspect.
func (m *AspectModel) probs(fs []feature) []float64 {
	z := make([]float64, len(m.Names))
	for _, f := range fs {
		if w, ok := m.W[f.name]; ok {
			for j := range z {
				z[j] += w[j] * f.v
			}
		}
	}
	for j := range z {
		z[j] = 1 / (1 + math.Exp(-z[j]))
	}
	return z
}

// cue returns the stem in stems that most supports aspect j, "" if none
// has a clearly positive weight: the word the model read the aspect from.
func (m *AspectModel) cue(stems []string, j int) string {
	best, bw := "", 0.5
	for _, s := range stems {
		if w, ok := m.W["u:"+s]; ok && w[j] > bw {
			best, bw = s, w[j]
		}
	}
	return best
}

// Encode writes the model as gzipped text: a header with the aspect names
// joined by tabs, then "feature TAB w1 TAB w2 …", sorted.
func (m *AspectModel) Encode(w io.Writer) error {
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return fmt.Errorf("gzip aspect model: %w", err)
	}
	bw := bufio.NewWriter(zw)
	fmt.Fprintln(bw, strings.Join(m.Names, "\t"))
	names := make([]string, 0, len(m.W))
	for n := range m.W {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		bw.WriteString(n)
		for _, x := range m.W[n] {
			bw.WriteByte('\t')
			bw.WriteString(strconv.FormatFloat(x, 'g', 4, 64))
		}
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write aspect model: %w", err)
	}
	return zw.Close()
}

// DecodeAspectModel reads a model written by [AspectModel.Encode].
func DecodeAspectModel(b []byte) (*AspectModel, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("decode aspect model: %w", err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	if !sc.Scan() || sc.Text() == "" {
		return nil, fmt.Errorf("decode aspect model: no header")
	}
	m := &AspectModel{Names: strings.Split(sc.Text(), "\t"), W: map[string][]float64{}}
	for sc.Scan() {
		parts := strings.Split(sc.Text(), "\t")
		if len(parts) != len(m.Names)+1 {
			return nil, fmt.Errorf("decode aspect model: bad line %q", sc.Text())
		}
		w := make([]float64, len(m.Names))
		for j := range w {
			if w[j], err = strconv.ParseFloat(parts[j+1], 64); err != nil {
				return nil, fmt.Errorf("decode aspect model: %w", err)
			}
		}
		m.W[parts[0]] = w
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("decode aspect model: %w", err)
	}
	return m, nil
}

// aspectThreshold is the probability above which the aspect model reports
// an aspect, chosen on a validation seventh of the training sentences
// (train -validate).
var aspectThreshold = 0.5
