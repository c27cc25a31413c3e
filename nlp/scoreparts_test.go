package nlp

import (
	"math"
	"strings"
	"testing"
)

// TestScorePartsMakeTheScore checks that ScoreParts returns what
// Sentiment's score is made from, on the UCI sentences: BlendScore of the
// parts at the model's blend gives the score to the bit and the label.
func TestScorePartsMakeTheScore(t *testing.T) {
	a := newAnalyzer(t)
	n := 0
	for _, name := range []string{"amazon_cells_labelled.txt", "yelp_labelled.txt", "imdb_labelled.txt"} {
		for _, s := range uciSentences(t, name) {
			got := a.Sentiment(s.Text)
			p, compound, ok := a.ScoreParts(s.Text)
			if !ok {
				if got.Score != 0 {
					t.Errorf("%q: ScoreParts not ok, but Sentiment scores %.4f", s.Text, got.Score)
				}
				continue
			}
			n++
			lang := DetectLanguage(dropHashes(sentimentText(s.Text)))
			if lang == "" {
				lang = "en"
			}
			want := BlendScore(p, compound, a.models[lang].Blend)
			if got != want {
				t.Errorf("%q: Sentiment = %s %v, parts %v %v give %s %v", s.Text, got.Label, got.Score, p, compound, want.Label, want.Score)
			}
		}
	}
	if n < 2900 {
		t.Errorf("ScoreParts ok on %d of 3000 sentences, want nearly all", n)
	}
	lex, err := New(WithLexiconOnly())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := lex.ScoreParts("The food was wonderful."); ok {
		t.Error("a lexicon-only Analyzer has no model parts, but ScoreParts is ok")
	}
}

// TestTrainSoftTargets checks that a soft target is learned as a
// distribution: reviews all labelled half positive, half neutral (a
// 4-star review read as graded gold) end near 0.5/0.5, where the same
// reviews labelled positive end near certain.
func TestTrainSoftTargets(t *testing.T) {
	texts := []string{
		"Works fine, the sound could be a bit better.",
		"Good speaker for the price, setup took a while.",
		"Nice device, although the app is slow.",
		"Does what it says, the sound is ok.",
	}
	var soft, hard []Example
	for range 20 {
		for _, s := range texts {
			soft = append(soft, Example{Text: s, Class: 1, Soft: &[3]float64{0, 0.5, 0.5}})
			hard = append(hard, Example{Text: s, Class: 1})
		}
	}
	cfg := TrainConfig{Lang: "en", Seed: 1, Epochs: 20}
	ms, mh := Train(soft, cfg), Train(hard, cfg)
	for _, s := range texts {
		text := sentimentText(s)
		vs := sharedLexScorer().polarity(text)
		fs, _ := features(text, &vs, stemmerFor("en"))
		ps, ph := ms.probs(fs), mh.probs(fs)
		if math.Abs(ps[clsPos]-0.5) > 0.1 || math.Abs(ps[clsNeu]-0.5) > 0.1 || ps[clsNeg] > 0.05 {
			t.Errorf("%q: soft-trained probabilities %.3f, want near 0, 0.5, 0.5", s, ps)
		}
		if ph[clsPos] < 0.9 {
			t.Errorf("%q: hard-trained P(pos) %.3f, want ≥ 0.9", s, ph[clsPos])
		}
	}
}

// TestTrainDomainBias checks that a per-source bias takes a source's class
// prior off its topic words and is not shipped: when every airline text is
// a complaint and every review praise, "flight" learns to mean negative;
// with domain biases it means less (measured: 1.478 and 1.226), and no "d:" weight is left.
func TestTrainDomainBias(t *testing.T) {
	air := []string{
		"my flight is delayed again", "the flight was cancelled and nobody helped",
		"still waiting for my bag after the flight", "two hours on hold about my flight",
	}
	reviews := []string{
		"great speaker and easy setup", "love the sound, works great",
		"the kids love it, great value", "easy to use and the sound is great",
	}
	var plain, domained []Example
	for range 10 {
		for _, s := range air {
			plain = append(plain, Example{Text: s, Class: -1})
			domained = append(domained, Example{Text: s, Class: -1, Domain: "airline"})
		}
		for _, s := range reviews {
			plain = append(plain, Example{Text: s, Class: 1})
			domained = append(domained, Example{Text: s, Class: 1, Domain: "alexa"})
		}
	}
	cfg := TrainConfig{Lang: "en", Seed: 1}
	mp, md := Train(plain, cfg), Train(domained, cfg)
	lean := func(m *Model) float64 {
		w := m.W["u:flight"]
		if w == nil {
			return 0
		}
		return w[clsNeg] - w[clsPos]
	}
	if lp, ld := lean(mp), lean(md); lp <= 0 || ld >= 0.9*lp {
		t.Errorf(`"flight" leans negative by %.3f without domain biases and %.3f with them, want it to lean at least a tenth less with them`, lp, ld)
	}
	for name := range md.W {
		if strings.HasPrefix(name, "d:") {
			t.Errorf("trained model keeps domain weight %q", name)
		}
	}
}
