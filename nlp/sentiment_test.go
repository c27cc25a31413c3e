package nlp

import (
	"math"
	"testing"

	attune "github.com/attune-cx/attune"
	"gonum.org/v1/gonum/stat"
)

func TestLabelCutoffs(t *testing.T) {
	tests := []struct {
		score float64
		want  attune.Label
	}{
		{1, attune.Positive},
		{0.05, attune.Positive},
		{0.0499, attune.Neutral},
		{0, attune.Neutral},
		{-0.0499, attune.Neutral},
		{-0.05, attune.Negative},
		{-1, attune.Negative},
	}
	for _, tt := range tests {
		if got := label(tt.score); got != tt.want {
			t.Errorf("label(%v) = %s, want %s", tt.score, got, tt.want)
		}
	}
}

// TestSentimentUCI checks the direction of the score on the UCI labelled
// sentences: of the sentences the scorer does not call neutral, how many does
// it put on the right side? Chance is 0.5.
func TestSentimentUCI(t *testing.T) {
	a := newAnalyzer(t)
	var right, decided, total int
	for _, name := range []string{"amazon_cells_labelled.txt", "yelp_labelled.txt", "imdb_labelled.txt"} {
		var r, d, n int
		for _, s := range uciSentences(t, name) {
			n++
			switch a.Analyze(s.Text).Sentiment.Label {
			case attune.Positive:
				d++
				if s.Positive {
					r++
				}
			case attune.Negative:
				d++
				if !s.Positive {
					r++
				}
			}
		}
		if n != 1000 {
			t.Errorf("%s: %d sentences, want 1000", name, n)
		}
		t.Logf("%s: accuracy %.3f on the %d of %d sentences not scored neutral", name, float64(r)/float64(d), d, n)
		right, decided, total = right+r, decided+d, total+n
	}
	acc := float64(right) / float64(decided)
	t.Logf("UCI all: accuracy %.3f ignoring neutrals; %d of %d scored neutral", acc, total-decided, total)
	// Measured 0.864 when the floor was set.
	if acc < 0.84 {
		t.Errorf("binary accuracy ignoring neutrals = %.3f, want ≥ 0.84", acc)
	}
	// A scorer that calls nearly everything neutral would pass the accuracy
	// check on the few it decides; require it to decide most sentences.
	// Measured 0.783.
	if cov := float64(decided) / float64(total); cov < 0.75 {
		t.Errorf("only %.3f of sentences scored non-neutral, want ≥ 0.75", cov)
	}
}

// TestSentimentVaderGroundTruth reports the Pearson r of the score against
// the mean human rating of the VADER paper's four corpora, beside plain VADER
// on the raw text scored in the same run. None of these texts trains the
// model. Each floor sits a little below the r measured when it was set. The
// learned model, its score blended with VADER's compound (Model.Blend),
// beats VADER on the review snippets and the NYT editorials; on the tweets
// (the corpus VADER's lexicon was validated on) it does not, which
// `attune bench nlp` reports.
func TestSentimentVaderGroundTruth(t *testing.T) {
	a := newAnalyzer(t)
	tests := []struct {
		file      string
		rows      int
		published float64 // VADER's r in Hutto & Gilbert (2014)
		floor     float64
		beats     bool // must beat plain VADER in the same run
	}{
		{"tweets_GroundTruth.txt", 4200, 0.881, 0.85, false},
		{"amazonReviewSnippets_GroundTruth.txt", 3708, 0.565, 0.69, true},
		{"movieReviewSnippets_GroundTruth.txt", 10605, 0.451, 0.52, true},
		{"nytEditorialSnippets_GroundTruth.txt", 5190, 0.492, 0.50, true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			rows := vaderGroundTruth(t, tt.file)
			if len(rows) != tt.rows {
				t.Fatalf("%d rows, want %d", len(rows), tt.rows)
			}
			var gold, ours, plain []float64
			for _, r := range rows {
				gold = append(gold, r.Score)
				ours = append(ours, a.Analyze(r.Text).Sentiment.Score)
				plain = append(plain, plainVader().PolarityScores(r.Text).Compound)
			}
			r := stat.Correlation(ours, gold, nil)
			base := stat.Correlation(plain, gold, nil)
			t.Logf("%s: Pearson r = %.4f (plain VADER on raw text %.4f; published %.3f)", tt.file, r, base, tt.published)
			if math.IsNaN(r) || r < tt.floor {
				t.Errorf("Pearson r = %.4f, want ≥ %.2f", r, tt.floor)
			}
			if tt.beats && r <= base {
				t.Errorf("Pearson r = %.4f, not above plain VADER's %.4f", r, base)
			}
		})
	}
}

// TestBlendKeepsLabelSide checks that VADER's share of the score grades
// the model's direction but never reverses it: a model that only knows a
// positive bias, with all of its score from VADER, calls a text VADER finds
// negative positive, and scores it just above zero rather than below.
func TestBlendKeepsLabelSide(t *testing.T) {
	m := &Model{Lang: "en", Vader: true, Blend: 1, W: map[string]*[3]float64{"bias": {0, 0, 3}}}
	a, err := New(WithModel(m))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		text string
		want float64
	}{
		{"The flight was horrible and the crew was rude.", minPolar}, // VADER: negative
		{"The flight was wonderful and the crew was lovely.", 0},     // VADER: positive, kept
	} {
		s := a.Sentiment(tt.text)
		compound := a.lex.polarity(sentimentText(tt.text)).Compound
		want := tt.want
		if want == 0 {
			want = compound
		}
		if s.Label != attune.Positive || s.Score != want {
			t.Errorf("Sentiment(%q) = %s %.4f (VADER %.4f), want positive %.4f", tt.text, s.Label, s.Score, compound, want)
		}
	}
}
