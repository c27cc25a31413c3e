package nlp

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	attune "github.com/attune-cx/attune"
)

// shippedAspects parses configs/aspects.yaml.
func shippedAspects(t testing.TB) *AspectSet {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "configs", "aspects.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseAspectsBytes(b)
	if err != nil {
		t.Fatalf("configs/aspects.yaml: %v", err)
	}
	return s
}

func TestParseAspectsBad(t *testing.T) {
	for name, y := range map[string]string{
		"unknown key":   "aspects:\n  - name: x\n    phrases: [a]\n    colour: red\n",
		"no name":       "aspects:\n  - phrases: [a]\n",
		"duplicate":     "aspects:\n  - name: x\n    phrases: [a]\n  - name: x\n    phrases: [b]\n",
		"no phrases":    "aspects:\n  - name: x\n",
		"empty phrase":  "aspects:\n  - name: x\n    phrases: ['...']\n",
		"not a mapping": "- x\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseAspects(strings.NewReader(y)); !errors.Is(err, ErrInvalidOption) {
				t.Errorf("ParseAspects = %v, want ErrInvalidOption", err)
			}
		})
	}
}

// TestAspectsClauses checks that each aspect gets the sentiment of its own
// clause, on real airline tweets from the held-out split and SemEval
// restaurant training sentences.
func TestAspectsClauses(t *testing.T) {
	a, err := New(WithAspects(shippedAspects(t)))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		text string
		want map[string]attune.Label
	}{
		{"@united still waiting", map[string]attune.Label{"wait_time": attune.Negative}},
		{"@United 50 minute wait times to help with a Cancelled Flightled flight?? Help a guy out?",
			map[string]attune.Label{"wait_time": attune.Negative, "booking": attune.Negative}},
		{"@united But I got a bad exchange rate so want my money back. Please can you refund without penalty.",
			map[string]attune.Label{"price": attune.Negative}},
		// SemEval restaurants train, id 2777: food positive, the rest negative.
		{"To be completely fair, the only redeeming factor was the food, which was above average, but couldn't make up for all the other deficiencies of Teodora.",
			map[string]attune.Label{"food_drink": attune.Positive}},
		// SemEval restaurants train, id 3121.
		{"But the staff was so horrible to us.", map[string]attune.Label{"staff": attune.Negative}},
	}
	for _, tt := range tests {
		got := map[string]attune.Label{}
		for _, as := range a.Analyze(tt.text).Aspects {
			got[as.Aspect] = as.Sentiment.Label
			if len(as.Mentions) == 0 {
				t.Errorf("%q: aspect %s without mentions", tt.text, as.Aspect)
			}
		}
		for asp, l := range tt.want {
			if got[asp] != l {
				t.Errorf("%q: aspects %v, want %s %s", tt.text, got, asp, l)
			}
		}
	}
	// Other languages get no aspects; no aspect set, none either.
	if as := a.Analyze("Produto não foi entregue!").Aspects; as != nil {
		t.Errorf("Portuguese text got aspects %v", as)
	}
	if as := newAnalyzer(t).Analyze("@united still waiting").Aspects; as != nil {
		t.Errorf("no aspect set, got aspects %v", as)
	}
}

func TestAspectPhrasesMultiWord(t *testing.T) {
	a, err := New(WithAspects(shippedAspects(t)))
	if err != nil {
		t.Fatal(err)
	}
	// From the airline tweets: "lost my bag" is baggage, matched whole.
	an := a.Analyze("@united you lost my bag and nobody can tell me where it is")
	var got []string
	for _, as := range an.Aspects {
		if as.Aspect == "baggage" {
			got = as.Mentions
		}
	}
	if !slices.Contains(got, "lost my bag") {
		t.Errorf("baggage mentions %q, want \"lost my bag\"", got)
	}
}

func TestRestaurantAspectModel(t *testing.T) {
	m, err := RestaurantAspects()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"ambience", "food_drink", "general", "price", "staff"}; !slices.Equal(m.Names, want) {
		t.Fatalf("aspects %v, want %v", m.Names, want)
	}
	a, err := New(WithAspectModel(m))
	if err != nil {
		t.Fatal(err)
	}
	// SemEval restaurants test gold, not trained on: food positive.
	got := a.Aspects("The sushi was awesome!")
	if len(got) == 0 || got[0].Aspect != "food_drink" || got[0].Sentiment.Label != attune.Positive {
		t.Errorf("aspects %+v, want food_drink positive", got)
	}
}
