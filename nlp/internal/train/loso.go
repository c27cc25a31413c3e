package main

import (
	"fmt"
	"math"
	"sort"

	"github.com/attune-cx/attune/nlp"
)

// losoSources are the English sources -loso holds out in turn.
var losoSources = []string{"airline", "uci", "alexa", "semeval"}

// scored is one held-out text's model outputs (nlp.Analyzer.ScoreParts)
// with its source's graded gold.
type scored struct {
	p        [3]float64
	compound float64
	ok       bool
	gold     float64
	class    int
}

// loso prints, for each English source, the Pearson r against its graded
// gold (nlpdata.Labelled.Intensity) of a model trained on the other sources
// only: how well a score carries to text from a source the model never saw,
// which is what the VADER corpora are to it. It prints r per Model.Blend
// (how the blend is chosen) and, on the same model outputs, for other score
// shapes that could carry intensity better than P(pos) − P(neg):
//
//   - temper T: the probabilities softened as softmax(log p / T), so that
//     confident texts are less saturated (the label does not change);
//   - unsure k: a blend weight per text, k·(1 − the largest probability),
//     that leans on VADER where the model is unsure of its label;
//   - isotonic: the blended score mapped by an isotonic fit of the gold on
//     the other three sources' held-out scores (each source weighted
//     equally), a calibration learned out of domain;
//   - acc3: the share of texts whose label (model; VADER at ±0.05) is the
//     gold class;
//   - within class: r with the gold among texts of one gold class only
//     (Alexa 4 vs 5 and 1 vs 2 stars, airline crowd confidence), that is
//     whether the model or VADER grades how strong a feeling is.
//
// Measured with seed 1 (December 2026), the mean r over the four sources
// is 0.6841 at blend 0, 0.6865 at 0.2 and 0.6756 at 0.5, where every
// source loses (airline −0.017, UCI −0.009, Alexa −0.013, SemEval −0.005
// against 0.2). Tempering only lowers it (T 1.5: 0.6822, 2: 0.6760,
// 3: 0.6666 at blend 0.2) and so does the isotonic map (0.6754); the
// per-text weights tie at best (unsure 0.5: 0.6865, 1: 0.6849). Held
// out, the model's labels beat VADER's on three sources of four (acc3
// airline 0.635 vs 0.546, UCI 0.830 vs 0.676, SemEval 0.661 vs 0.601,
// Alexa 0.804 vs 0.823), where on the VADER tweets VADER leads (0.824 vs
// 0.733 in attune bench nlp). Within
// Alexa's positive reviews the model grades the stars at r 0.341 and
// VADER at 0.251; within the airline's positive tweets 0.340 and 0.293.
// The training variants move the mean r at blend 0.2 little (-soft
// 0.6876, -domain 0.6884, -balance 0.6892, all three 0.6917), each still
// peaks at blend 0.1–0.2 and loses 0.012–0.015 at 0.5, and each costs
// in-domain accuracy on the -validate seventh (airline 0.807 → 0.778–0.800).
// So no training source asks for more of VADER's intensity than blend 0.2
// gives, though the VADER tweets would reach r 0.8817 at 0.5: they are the
// texts VADER's lexicon and rules were validated on.
func loso(en []sourced, cfg nlp.TrainConfig) error {
	held := map[string][]scored{}
	for _, src := range losoSources {
		var tr []nlp.Example
		var va []sourced
		for _, s := range en {
			if s.source == src {
				va = append(va, s)
			} else {
				tr = append(tr, s.ex)
			}
		}
		m := nlp.Train(tr, cfg)
		a, err := nlp.New(nlp.WithModel(m))
		if err != nil {
			return err
		}
		out := make([]scored, len(va))
		for i, s := range va {
			p, c, ok := a.ScoreParts(s.ex.Text)
			out[i] = scored{p: p, compound: c, ok: ok, gold: s.gold, class: s.ex.Class}
		}
		held[src] = out
	}
	row := func(name string, score func(src string, s scored) float64) {
		fmt.Printf("%-16s", name)
		sum := 0.0
		for _, src := range losoSources {
			var xs, ys []float64
			for _, s := range held[src] {
				xs = append(xs, score(src, s))
				ys = append(ys, s.gold)
			}
			r := pearson(xs, ys)
			sum += r
			fmt.Printf(" %s=%.4f", src, r)
		}
		fmt.Printf(" mean=%.4f\n", sum/float64(len(losoSources)))
	}
	for _, b := range []float64{0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6} {
		row(fmt.Sprintf("blend %.1f", b), func(_ string, s scored) float64 { return shape(s, b, 1) })
	}
	for _, t := range []float64{1.5, 2, 3} {
		row(fmt.Sprintf("temper %.1f b0.2", t), func(_ string, s scored) float64 { return shape(s, 0.2, t) })
	}
	for _, mb := range []float64{0.5, 1} {
		row(fmt.Sprintf("unsure %.1f", mb), func(_ string, s scored) float64 {
			// More of VADER where the model is less sure of its label.
			b := math.Min(1, mb*(1-math.Max(s.p[0], math.Max(s.p[1], s.p[2]))))
			return shape(s, b, 1)
		})
	}
	iso := map[string]func(float64) float64{}
	for _, src := range losoSources {
		var xs, ys, ws []float64
		for _, other := range losoSources {
			if other == src {
				continue
			}
			for _, s := range held[other] {
				xs = append(xs, shape(s, 0.2, 1))
				ys = append(ys, s.gold)
				ws = append(ws, 1/float64(len(held[other])))
			}
		}
		iso[src] = isotonic(xs, ys, ws)
	}
	row("isotonic b0.2", func(src string, s scored) float64 { return iso[src](shape(s, 0.2, 1)) })
	fmt.Printf("%-16s", "acc3 model/vader")
	for _, src := range losoSources {
		var rm, rv int
		for _, s := range held[src] {
			if labelOf(s) == s.class {
				rm++
			}
			vc := 0
			switch {
			case !s.ok:
			case s.compound >= 0.05:
				vc = 1
			case s.compound <= -0.05:
				vc = -1
			}
			if vc == s.class {
				rv++
			}
		}
		n := float64(len(held[src]))
		fmt.Printf(" %s=%.3f/%.3f", src, float64(rm)/n, float64(rv)/n)
	}
	fmt.Println()
	for _, c := range []struct {
		src   string
		class int
	}{{"alexa", 1}, {"alexa", -1}, {"airline", 1}, {"airline", -1}} {
		fmt.Printf("within %s class %+d:", c.src, c.class)
		for _, b := range []float64{0, 0.2, 0.5, 1} {
			var xs, ys []float64
			for _, s := range held[c.src] {
				if s.class == c.class && s.ok {
					xs = append(xs, shape(s, b, 1))
					ys = append(ys, s.gold)
				}
			}
			fmt.Printf(" blend %.1f r=%.3f (n=%d)", b, pearson(xs, ys), len(xs))
		}
		fmt.Println()
	}
	return nil
}

// shape is the score nlp.Analyzer gives for parts s at the given blend,
// with the probabilities tempered by t (1: as shipped).
func shape(s scored, blend, t float64) float64 {
	if !s.ok {
		return 0
	}
	p := s.p
	if t != 1 {
		var z [3]float64
		mx := math.Inf(-1)
		for k := range p {
			z[k] = math.Log(math.Max(p[k], 1e-300)) / t
			mx = math.Max(mx, z[k])
		}
		sum := 0.0
		for k := range z {
			p[k] = math.Exp(z[k] - mx)
			sum += p[k]
		}
		for k := range p {
			p[k] /= sum
		}
	}
	return nlp.BlendScore(p, s.compound, blend).Score
}

// labelOf is the class nlp.Analyzer labels parts s with: the largest
// probability, neutral on a tie or without parts.
func labelOf(s scored) int {
	p := s.p
	switch {
	case !s.ok:
		return 0
	case p[0] > p[1] && p[0] > p[2]:
		return -1
	case p[2] > p[1] && p[2] > p[0]:
		return 1
	}
	return 0
}

// isotonic fits a non-decreasing map of x to y (weights w) by pooling
// adjacent violators and returns it, interpolating linearly between the
// pooled blocks' mean x and flat beyond them.
func isotonic(x, y, w []float64) func(float64) float64 {
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return x[idx[a]] < x[idx[b]] })
	type block struct{ wy, wx, w float64 }
	var bs []block
	for _, i := range idx {
		bs = append(bs, block{w[i] * y[i], w[i] * x[i], w[i]})
		for len(bs) > 1 && bs[len(bs)-2].wy/bs[len(bs)-2].w >= bs[len(bs)-1].wy/bs[len(bs)-1].w {
			last := bs[len(bs)-1]
			bs = bs[:len(bs)-1]
			bs[len(bs)-1].wy += last.wy
			bs[len(bs)-1].wx += last.wx
			bs[len(bs)-1].w += last.w
		}
	}
	kx, ky := make([]float64, len(bs)), make([]float64, len(bs))
	for i, b := range bs {
		kx[i], ky[i] = b.wx/b.w, b.wy/b.w
	}
	return func(v float64) float64 {
		i := sort.SearchFloat64s(kx, v)
		switch {
		case i == 0:
			return ky[0]
		case i == len(kx):
			return ky[len(ky)-1]
		}
		return ky[i-1] + (ky[i]-ky[i-1])*(v-kx[i-1])/(kx[i]-kx[i-1])
	}
}
