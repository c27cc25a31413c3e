package main

import (
	"fmt"

	"github.com/attune-cx/attune/nlp"
)

// loso prints, for each English source, the Pearson r against its graded
// gold (nlpdata.Labelled.Intensity) of a model trained on the other sources
// only, per Model.Blend: how well each blend carries to text from a source
// the model never saw, which is what the VADER corpora are to it.
func loso(en []sourced, cfg nlp.TrainConfig) error {
	for _, held := range []string{"airline", "uci", "alexa", "semeval"} {
		var tr []nlp.Example
		var va []sourced
		for _, s := range en {
			if s.source == held {
				va = append(va, s)
			} else {
				tr = append(tr, s.ex)
			}
		}
		m := nlp.Train(tr, cfg)
		fmt.Printf("loso %-8s n=%5d r by blend:", held, len(va))
		for _, b := range []float64{0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6} {
			m.Blend = b
			a, err := nlp.New(nlp.WithModel(m))
			if err != nil {
				return err
			}
			var xs, ys []float64
			for _, s := range va {
				xs = append(xs, a.Sentiment(s.ex.Text).Score)
				ys = append(ys, s.gold)
			}
			fmt.Printf(" %.1f:%.4f", b, pearson(xs, ys))
		}
		fmt.Println()
	}
	return nil
}
