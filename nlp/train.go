package nlp

import (
	"io"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/jonreiter/govader"
)

// Example is one labelled training text: Class is -1 negative, 0 neutral,
// +1 positive.
type Example struct {
	Text  string
	Class int
	// Weight scales the example's loss; 0 means 1.
	Weight float64
	// Soft, if not nil, is the target distribution over negative,
	// neutral, positive in place of the one-hot Class.
	Soft *[3]float64
	// Domain, if set, names the example's source: a bias feature per
	// domain absorbs each source's class prior during training and is
	// dropped from the model afterwards.
	Domain string
}

// TrainConfig sets how [Train] fits a model.
type TrainConfig struct {
	Lang   string  // "en" or "pt"; English uses VADER features and the English stemmer
	Epochs int     // passes over the data; default 8
	L2     float64 // L2 penalty per example; default 1e-5
	MinDF  int     // features seen in fewer examples are dropped; default 2
	Seed   uint64  // shuffling seed
	Blend  float64 // Model.Blend of the result
}

// Train fits a Model to the examples with AdaGrad on the cross-entropy loss.
// It is deterministic for a given config and example order. Callers must
// pass training splits only: whatever is evaluated must not be here.
func Train(examples []Example, cfg TrainConfig) *Model {
	if cfg.Epochs == 0 {
		cfg.Epochs = 8
	}
	if cfg.L2 == 0 {
		cfg.L2 = 1e-5
	}
	if cfg.MinDF == 0 {
		cfg.MinDF = 2
	}
	var lex *lexScorer
	if cfg.Lang == "en" {
		lex = sharedLexScorer()
	}
	stem := stemmerFor(cfg.Lang)
	xs := make([][]feature, len(examples))
	df := map[string]int{}
	for i, e := range examples {
		text := sentimentText(e.Text)
		var vs *govader.Sentiment
		if lex != nil {
			s := lex.polarity(text)
			vs = &s
		}
		xs[i], _ = features(text, vs, stem)
		if e.Domain != "" {
			xs[i] = append(xs[i], feature{"d:" + e.Domain, 1})
		}
		seen := map[string]bool{}
		for _, f := range xs[i] {
			if !seen[f.name] {
				seen[f.name] = true
				df[f.name]++
			}
		}
	}
	m := &Model{Lang: cfg.Lang, Vader: lex != nil, Blend: cfg.Blend, W: map[string]*[3]float64{}}
	g2 := map[string]*[3]float64{}
	for name, n := range df {
		if n >= cfg.MinDF {
			m.W[name] = &[3]float64{}
			g2[name] = &[3]float64{1e-8, 1e-8, 1e-8}
		}
	}
	const lr = 0.1
	order := make([]int, len(xs))
	for i := range order {
		order[i] = i
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 7))
	for ep := 0; ep < cfg.Epochs; ep++ {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			fs := xs[i]
			p := m.probs(fs)
			y := examples[i].Class + 1
			wt := examples[i].Weight
			if wt == 0 {
				wt = 1
			}
			for _, f := range fs {
				w, ok := m.W[f.name]
				if !ok {
					continue
				}
				g := g2[f.name]
				for k := 0; k < 3; k++ {
					t := 0.0
					if sf := examples[i].Soft; sf != nil {
						t = sf[k]
					} else if k == y {
						t = 1
					}
					grad := wt*(p[k]-t)*f.v + cfg.L2*w[k]
					g[k] += grad * grad
					w[k] -= lr * grad / math.Sqrt(g[k])
				}
			}
		}
	}
	// Drop weights too small to matter, keeping the shipped file small,
	// and the domain biases.
	for name, w := range m.W {
		if len(name) > 2 && name[:2] == "d:" {
			delete(m.W, name)
			continue
		}
		if math.Abs(w[0]) < 0.02 && math.Abs(w[1]) < 0.02 && math.Abs(w[2]) < 0.02 {
			delete(m.W, name)
		}
	}
	return m
}

// Encode writes the model in the embedded format, features sorted so the
// file is reproducible.
func (m *Model) Encode(w io.Writer) error {
	names := make([]string, 0, len(m.W))
	for n := range m.W {
		names = append(names, n)
	}
	sort.Strings(names)
	return m.encode(w, names)
}
