package nlp

import (
	"slices"
	"testing"
)

func TestStem(t *testing.T) {
	// Words of airline complaints, with what English Snowball gives.
	tests := []struct{ word, want string }{
		{"delayed", "delay"},
		{"delays", "delay"},
		{"cancelled", "cancel"},
		{"canceled", "cancel"},
		{"cancellation", "cancel"},
		{"flights", "flight"},
		{"waiting", "wait"},
		{"hours", "hour"},
		{"rebooked", "rebook"},
		{"attendants", "attend"},
		{"luggage", "luggag"},
		{"service", "servic"},
		{"customer", "custom"},
		{"united's", "unit"},
		{"lateness", "late"},
		{"a", "a"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Stem(tt.word); got != tt.want {
			t.Errorf("Stem(%q) = %q, want %q", tt.word, got, tt.want)
		}
	}
}

func TestIsStopWord(t *testing.T) {
	tests := []struct {
		word string
		want bool
	}{
		{"the", true},
		{"not", true},   // from english.IsStopWord
		{"can't", true}, // Snowball's published list, not english.IsStopWord
		{"it's", true},
		{"would", true},
		{"rt", true}, // social fillers
		{"amp", true},
		{"via", true},
		{"flight", false},
		{"delayed", false},
		{"bag", false},
		{"The", false}, // callers lowercase first
	}
	for _, tt := range tests {
		if got := IsStopWord(tt.word); got != tt.want {
			t.Errorf("IsStopWord(%q) = %v, want %v", tt.word, got, tt.want)
		}
	}
}

func TestAnalyzeStems(t *testing.T) {
	a := newAnalyzer(t)
	tests := []struct {
		in   string
		want []string
	}{
		// Airline tweets from Tweets.csv.
		{"@VirginAmerica Another delayed flight? #likingyoulessandless",
			[]string{"anoth", "delay", "flight", "likingyoulessandless"}},
		{"@AmericanAir Would love to DM you, but my Twitter app says you're not following me and I can't.",
			[]string{"love", "dm", "twitter", "app", "say", "follow"}},
		{"@VirginAmerica trying to book a flight &amp; your site is down 😁",
			[]string{"tri", "book", "flight", "site"}},
		{"@VirginAmerica you guys are perfect as always! &lt;3 #WeRVirgin",
			[]string{"guy", "perfect", "alway", "wervirgin"}},
		{"@united Thx, just DM'd. Conf #'s MQXC64 &amp; MPWNC2. Any help appreciated",
			[]string{"thx", "dm'd", "conf", "mqxc64", "mpwnc2", "help", "appreci"}},
	}
	for _, tt := range tests {
		got := a.Analyze(tt.in).Stems
		if !slices.Equal(got, tt.want) {
			t.Errorf("Analyze(%q).Stems = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestStemsDropStopWords checks on every airline tweet that each stem is the
// stem of a content token of the same text, in order, and that frequent stop
// words never reach the stems.
func TestStemsDropStopWords(t *testing.T) {
	never := []string{"the", "to", "i", "you", "my", "and", "a", "is", "it", "can't", "i'm", "don't", "rt"}
	for i, an := range analysedTweets(t) {
		j := 0
		for _, s := range an.Stems {
			for j < len(an.Tokens) && (IsStopWordIn(an.Language, an.Tokens[j]) || StemIn(an.Language, an.Tokens[j]) != s) {
				j++
			}
			if j == len(an.Tokens) {
				t.Fatalf("row %d: stem %q is not the stem of a content token in order: tokens %q, stems %q", i, s, an.Tokens, an.Stems)
			}
			j++
		}
		for _, w := range never {
			if slices.Contains(an.Stems, w) {
				t.Fatalf("row %d: stop word %q among stems %q", i, w, an.Stems)
			}
		}
	}
}
