package nlp

import (
	"math"
	"sync"
	"testing"

	"github.com/jonreiter/govader"

	"github.com/attune-cx/attune/nlp/nlpdata"
)

// allTexts returns every text of the public datasets the nlp stage reads:
// the VADER ground truth, the airline tweets, the UCI sentences, the Alexa
// and Olist reviews, the SemEval sentences and the banking77 queries, about
// 60,000 texts in English and Portuguese with emoji, emoticons, entities,
// odd spacing and control characters.
func allTexts(t testing.TB) []string {
	t.Helper()
	d, err := nlpdata.Open(datasetsDir())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	add := func(ls []nlpdata.Labelled, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range ls {
			out = append(out, l.Text)
		}
	}
	for _, vs := range nlpdata.VaderSets {
		rows, err := d.VaderGroundTruth(vs.File)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			out = append(out, r.Text)
		}
	}
	tr, te, err := d.Airline()
	add(tr, err)
	add(te, nil)
	for _, f := range []string{"amazon_cells_labelled.txt", "yelp_labelled.txt", "imdb_labelled.txt"} {
		add(d.UCI(f))
	}
	add(d.Alexa())
	tr, te, err = d.Olist()
	add(tr, err)
	add(te, nil)
	for _, f := range []string{"Restaurants_Train_v2.xml", "Restaurants_Test_Gold.xml", "Laptop_Train_v2.xml", "Laptops_Test_Gold.xml"} {
		ss, err := d.SemEval(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range ss {
			out = append(out, s.Text)
		}
	}
	bk, err := d.Banking77Train()
	if err != nil {
		t.Fatal(err)
	}
	return append(out, bk...)
}

// plainVader is govader as published, the baseline the tests compare with.
var plainVader = sync.OnceValue(govader.NewSentimentIntensityAnalyzer)

// sameSentiment reports whether two VADER results are identical to the bit.
func sameSentiment(a, b govader.Sentiment) bool {
	eq := func(x, y float64) bool { return math.Float64bits(x) == math.Float64bits(y) }
	return eq(a.Compound, b.Compound) && eq(a.Positive, b.Positive) &&
		eq(a.Negative, b.Negative) && eq(a.Neutral, b.Neutral)
}

// TestLexScorerMatchesGovader checks that lexScorer returns govader's four
// scores bit for bit on every dataset text, both as written and as the
// Analyzer hands it over (cleaned).
func TestLexScorerMatchesGovader(t *testing.T) {
	v := govader.NewSentimentIntensityAnalyzer()
	s := newLexScorer(v)
	texts := allTexts(t)
	if len(texts) < 50000 {
		t.Fatalf("read %d texts, want the whole corpus", len(texts))
	}
	bad := 0
	for _, raw := range texts {
		for _, text := range []string{raw, sentimentText(raw)} {
			if got, want := s.polarity(text), v.PolarityScores(text); !sameSentiment(got, want) {
				if bad++; bad <= 10 {
					t.Errorf("polarity(%q) = %+v, govader %+v", text, got, want)
				}
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d texts differ from govader", bad, 2*len(texts))
	}
}

// TestLexScorerRules pins VADER's rules through lexScorer on sentences that
// exercise each one, against govader on the same sentence.
func TestLexScorerRules(t *testing.T) {
	v := govader.NewSentimentIntensityAnalyzer()
	s := newLexScorer(v)
	for _, text := range []string{
		"", " ", "  ", "\t\n", "!!!", "???", "?? ?", "good", "GOOD", "GOOD food, bad SERVICE",
		"not good", "isn't good", "never so good", "never this bad", "without doubt great",
		"not at all good", "no problem", "no good", "no one or nor happy",
		"kind of good", "sort of bad", "just enough fun", "the food was the shit", "yeah right, great",
		"at least it arrived", "least good", "very least good", "Least good",
		"the food was good but the service was awful", "good BUT awful",
		"I love it 😂😂", "😡", "x😡y", "😡 ", "🇺🇸 flag", "\xff\xfe good", "\ufffd good",
		"extremely EXTREMELY good", "kiss of death for the shop", "to die for, really",
		":) :( :-D <3", "The Best!!!!!", "bad?!?!", "GREAT flight. LOVE IT",
	} {
		if got, want := s.polarity(text), v.PolarityScores(text); !sameSentiment(got, want) {
			t.Errorf("polarity(%q) = %+v, govader %+v", text, got, want)
		}
	}
}

// FuzzLexScorer checks lexScorer against govader on arbitrary strings.
func FuzzLexScorer(f *testing.F) {
	for _, s := range []string{"", "not  GOOD!!", "kind of 😂 but bad", "\xff least good", "never so very happy ??"} {
		f.Add(s)
	}
	v := govader.NewSentimentIntensityAnalyzer()
	s := newLexScorer(v)
	f.Fuzz(func(t *testing.T, text string) {
		if got, want := s.polarity(text), v.PolarityScores(text); !sameSentiment(got, want) {
			t.Errorf("polarity(%q) = %+v, govader %+v", text, got, want)
		}
	})
}
