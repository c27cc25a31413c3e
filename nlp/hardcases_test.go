package nlp

import (
	"testing"

	attune "github.com/attune-cx/attune"
	"github.com/attune-cx/attune/nlp/nlpdata"
)

// TestSentimentHardCases pins sentences VADER gets wrong and the learned
// model gets right. All are real texts from the held-out splits (airline
// tweets by tweet_id hash, Olist reviews by review_id hash), which no model
// is trained on; the label is the crowd's (airline) or the star rating's
// (Olist).
func TestSentimentHardCases(t *testing.T) {
	a := newAnalyzer(t)
	tests := []struct {
		kind, text string
		want       attune.Label
		lang       string
	}{
		// CX terms VADER's lexicon scores neutral.
		{"cx term", "@united still waiting", attune.Negative, "en"},
		{"cx term", "@United flight delayed-no one remembered to turn the heat on flight 559 leaving ORD-seriously???", attune.Negative, "en"},
		{"cx term", "@united Thanks.    This one was delayed an hour and a half prior to scheduled departure.", attune.Negative, "en"},
		{"cx term", "@United 50 minute wait times to help with a Cancelled Flightled flight?? Help a guy out?", attune.Negative, "en"},
		// Negation.
		{"negation", "@USAirways NEVER AGAIN! Worse experience in my life. http://t.co/3dDQq0gQni", attune.Negative, "en"},
		{"negation", "@united not completely.  Our flight was changed in July but we never received notification.", attune.Negative, "en"},
		// Contrast: what follows "but" carries the attitude.
		{"contrast", "@united i'm glad u can solve the prob. But my experience remains - will not fly again on #United", attune.Negative, "en"},
		{"contrast", "@united But I got a bad exchange rate so want my money back. Please can you refund without penalty.", attune.Negative, "en"},
		// Sarcasm markers.
		{"sarcasm", "@VirginAmerica called your service line and was hung up on. This is awesome. #sarcasm", attune.Negative, "en"},
		{"sarcasm", "@AmericanAir love how you can't get an agent on the phone and the automated system hangs up on you", attune.Negative, "en"},
		// Emoji: tears of laughter are not sadness.
		{"emoji", "STAHP!! 😂😂😭😭😭😭 RT @JetBlue Our fleet's on fleek. http://t.co/BM2unRaOnI", attune.Neutral, "en"},
		// Portuguese, scored by the model learned from Olist ratings.
		{"portuguese", "Produto não foi entregue!", attune.Negative, "pt"},
		{"portuguese", "O produto veio com defeito !", attune.Negative, "pt"},
		{"portuguese", "O produto chegou muito rapido e de boa qualidade recomendo o produto", attune.Positive, "pt"},
		{"portuguese", "relógio muito bonito e barato.", attune.Positive, "pt"},
		// No sentiment model: unknown, not a wrong English score.
		{"no model", "الرحلة متأخرة 航班延误", attune.Unknown, "ar"},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			got := a.Analyze(tt.text)
			if got.Sentiment.Label != tt.want || got.Language != tt.lang {
				t.Errorf("Analyze(%q) = %s %.3f in %q, want %s in %q", tt.text, got.Sentiment.Label, got.Sentiment.Score, got.Language, tt.want, tt.lang)
			}
		})
	}
}

// TestHeldOutBeatsVader checks the goals on the held-out splits in
// the same run as plain VADER: airline 3-class accuracy at least 10 points
// above VADER's, and Olist Portuguese far above it. Floors sit a little
// below what was measured (0.831 against 0.506; 0.838 against 0.202).
func TestHeldOutBeatsVader(t *testing.T) {
	d, err := nlpdata.Open(datasetsDir())
	if err != nil {
		t.Fatal(err)
	}
	_, air, err := d.Airline()
	if err != nil {
		t.Fatal(err)
	}
	_, ol, err := d.Olist()
	if err != nil {
		t.Fatal(err)
	}
	a := newAnalyzer(t)
	for _, set := range []struct {
		name  string
		rows  []nlpdata.Labelled
		floor float64
	}{{"airline_test", air, 0.80}, {"olist_pt", ol, 0.80}} {
		ours, plain := 0, 0
		for _, r := range set.rows {
			if a.Classify(r.Text) == int(r.Class) {
				ours++
			}
			if vaderClass(plainVader().PolarityScores(r.Text).Compound) == int(r.Class) {
				plain++
			}
		}
		acc, base := float64(ours)/float64(len(set.rows)), float64(plain)/float64(len(set.rows))
		t.Logf("%s: 3-class accuracy %.3f, plain VADER %.3f (n=%d)", set.name, acc, base, len(set.rows))
		if acc < set.floor || acc < base+0.10 {
			t.Errorf("%s: accuracy %.3f, want ≥ %.2f and ≥ VADER %.3f + 0.10", set.name, acc, set.floor, base)
		}
	}
}

func vaderClass(c float64) int {
	switch label(c) {
	case attune.Positive:
		return 1
	case attune.Negative:
		return -1
	}
	return 0
}

func TestDetectLanguage(t *testing.T) {
	tests := []struct{ text, want string }{
		{"@SouthwestAir Gracias... appreciate that!", "en"},
		{"@united 3875 to Denver which we are supposed to be boarding right now but has yet to land", "en"},
		{"UA6357 needs de-icing stat we've waited our turn", "en"},
		{"Quero meu dinheiro de volta", "pt"},
		{"Mercadoria errada. Minha bolsa de caçamba veio da Ford ranger ao invés da frontier", "pt"},
		{"Рейс задержан на три часа", "ru"},
		{"航班延误", "zh"},
		{"...", ""},
	}
	for _, tt := range tests {
		if got := DetectLanguage(tt.text); got != tt.want {
			t.Errorf("DetectLanguage(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}
