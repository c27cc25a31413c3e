package nlp

import (
	"math"
	"testing"

	"github.com/jonreiter/govader"
)

// TestModelIndexMatchesFeatures checks that scoring through a modelIndex
// gives, to the bit, the class probabilities and word count that the named
// features give, for the English and Portuguese models on every dataset
// text.
func TestModelIndexMatchesFeatures(t *testing.T) {
	a := newAnalyzer(t)
	texts := append(allTexts(t), "", "!!!", "^ ^_^ `", "not not good", "não é bom, nem ruim", "I can’t. Won't!", "😂😂 #fail ^^")
	for _, lang := range []string{"en", "pt"} {
		m, x := a.models[lang], a.indexes[lang]
		stem := stemmerFor(lang)
		bad := 0
		for _, raw := range texts {
			text := sentimentText(raw)
			var vs *govader.Sentiment
			if m.Vader {
				s := a.lex.polarity(text)
				vs = &s
			}
			fs, wantN := features(text, vs, stem)
			want := m.probs(fs)
			got, gotN := x.probsOf(text, vs)
			same := gotN == wantN
			for k := range got {
				same = same && math.Float64bits(got[k]) == math.Float64bits(want[k])
			}
			if !same {
				if bad++; bad <= 5 {
					t.Errorf("%s %q: index gives %v (%d words), features %v (%d words)", lang, text, got, gotN, want, wantN)
				}
			}
		}
		if bad > 0 {
			t.Errorf("%s: %d of %d texts differ", lang, bad, len(texts))
		}
	}
}
