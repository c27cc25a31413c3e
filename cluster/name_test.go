package cluster

import (
	"slices"
	"strings"
	"testing"

	"github.com/attune-cx/attune"
)

// negativeByReason groups the negative airline tweets by their gold
// negativereason, as analysed Docs.
func negativeByReason(tb testing.TB) (reasons []string, groups [][]attune.Doc) {
	byReason := map[string][]attune.Doc{}
	for _, tw := range tweets(tb) {
		if tw.sentiment != "negative" || tw.reason == "" {
			continue
		}
		byReason[tw.reason] = append(byReason[tw.reason], analysedDoc(attune.Event{ID: tw.id, CustomerID: tw.user, Text: tw.text, TS: tw.created}))
	}
	for r := range byReason {
		reasons = append(reasons, r)
	}
	slices.Sort(reasons)
	for _, r := range reasons {
		groups = append(groups, byReason[r])
	}
	return reasons, groups
}

// TestDescribeAirlineReasons names the negative airline tweets grouped by
// their gold complaint reason: the names must say what each group is about.
func TestDescribeAirlineReasons(t *testing.T) {
	reasons, groups := negativeByReason(t)
	descs := Describe(groups, DefaultTopTerms)
	if len(descs) != len(groups) {
		t.Fatalf("%d descriptions for %d groups", len(descs), len(groups))
	}
	want := map[string][]string{
		"Lost Luggage":     {"bag", "bags", "luggage", "baggage"},
		"Late Flight":      {"delay", "delayed", "delays", "late"},
		"Cancelled Flight": {"cancel", "cancelled", "canceled", "cancellation"},
	}
	seen := map[string]bool{}
	for i, d := range descs {
		t.Logf("%-28s %4d  %-20s %+.3f  %v", reasons[i], len(groups[i]), d.Name, d.MeanSentiment, d.Terms)
		if seen[d.Name] {
			t.Errorf("name %q is not unique", d.Name)
		}
		seen[d.Name] = true

		parts := strings.Split(d.Name, "-")
		if words, ok := want[reasons[i]]; ok && !slices.ContainsFunc(parts[:len(parts)-1], func(p string) bool { return slices.Contains(words, p) }) {
			t.Errorf("%s is named %q, want a term among %v", reasons[i], d.Name, words)
		}

		var mean float64
		tokens := map[string]bool{}
		for _, doc := range groups[i] {
			mean += doc.Analysis.Sentiment.Score
			for _, tok := range doc.Analysis.Tokens {
				tokens[tok] = true
			}
		}
		mean /= float64(len(groups[i]))
		if got, want := parts[len(parts)-1], Attitude(mean); got != want || d.Attitude != want {
			t.Errorf("%s: attitude %q (%q in name) for mean sentiment %.3f, want %q", reasons[i], d.Attitude, got, mean, want)
		}
		// Terms are shown as words the customers wrote, not as stems.
		if len(d.Terms) != DefaultTopTerms || len(d.Stems) != len(d.Terms) {
			t.Errorf("%s: %d terms, %d stems, want %d of each", reasons[i], len(d.Terms), len(d.Stems), DefaultTopTerms)
		}
		for _, term := range d.Terms {
			if !tokens[term] {
				t.Errorf("%s: term %q is not a token of the group", reasons[i], term)
			}
		}
	}
	if got := Name(groups); !slices.Equal(got, namesOf(descs)) {
		t.Errorf("Name = %v, Describe names %v", got, namesOf(descs))
	}
}

func namesOf(descs []Description) []string {
	out := make([]string, len(descs))
	for i, d := range descs {
		out[i] = d.Name
	}
	return out
}

func TestAttitude(t *testing.T) {
	tests := []struct {
		score float64
		want  string
	}{
		{-1, AttitudeAngry}, {-0.5, AttitudeAngry}, {-0.49, AttitudeFrustrated}, {-0.2, AttitudeFrustrated},
		{-0.19, AttitudeUnhappy}, {-0.05, AttitudeNeutral}, {0, AttitudeNeutral}, {0.049, AttitudeNeutral},
		{0.05, AttitudeSatisfied}, {0.39, AttitudeSatisfied}, {0.4, AttitudeDelighted}, {1, AttitudeDelighted},
	}
	for _, tt := range tests {
		if got := Attitude(tt.score); got != tt.want {
			t.Errorf("Attitude(%v) = %q, want %q", tt.score, got, tt.want)
		}
	}
}

func TestUniqueNames(t *testing.T) {
	tests := []struct {
		name      string
		terms     [][]string
		attitudes []string
		reserved  []string
		want      []string
	}{
		{
			name:      "distinct first terms",
			terms:     [][]string{{"delay", "hours"}, {"bag", "lost"}},
			attitudes: []string{"frustrated", "angry"},
			want:      []string{"delay-frustrated", "bag-angry"},
		},
		{
			name:      "same term, other attitude",
			terms:     [][]string{{"delay", "hours"}, {"delay", "gate"}},
			attitudes: []string{"frustrated", "neutral"},
			want:      []string{"delay-frustrated", "delay-neutral"},
		},
		{
			name:      "collision adds the second term to both",
			terms:     [][]string{{"delay", "hours"}, {"delay", "gate"}, {"bag", "lost"}},
			attitudes: []string{"frustrated", "frustrated", "frustrated"},
			want:      []string{"delay-hours-frustrated", "delay-gate-frustrated", "bag-frustrated"},
		},
		{
			name:      "reserved name is avoided",
			terms:     [][]string{{"delay", "hours"}},
			attitudes: []string{"frustrated"},
			reserved:  []string{"delay-frustrated"},
			want:      []string{"delay-hours-frustrated"},
		},
		{
			name:      "identical groups get a suffix",
			terms:     [][]string{{"delay"}, {"delay"}},
			attitudes: []string{"angry", "angry"},
			want:      []string{"delay-angry", "delay-angry-2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reserved := map[string]bool{}
			for _, r := range tt.reserved {
				reserved[r] = true
			}
			if got := uniqueNames(tt.terms, tt.attitudes, reserved); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSurfaceForms(t *testing.T) {
	tests := []struct {
		stem, token string
		want        bool
	}{
		{"delay", "delayed", true},
		{"happi", "happy", true},
		{"fli", "flying", true},
		{"cancel", "cancelled", true},
		{"luggag", "luggage", true},
		{"bag", "baggage", true}, // a prefix, though another word: alignment order decides
		{"seat", "plane", false},
	}
	for _, tt := range tests {
		if got := stemOf(tt.stem, tt.token); got != tt.want {
			t.Errorf("stemOf(%q, %q) = %v, want %v", tt.stem, tt.token, got, tt.want)
		}
	}
	// Stems skip stop words but keep text order, so each aligns with its own
	// token even when a nearby token shares its prefix ("fli" and "flight").
	doc := attune.Doc{Analysis: attune.Analysis{
		Tokens: []string{"my", "bags", "were", "lost", "and", "the", "baggage", "office", "was", "closed", "fly", "flight"},
		Stems:  []string{"bag", "lost", "baggag", "offic", "close", "fli", "flight"},
	}}
	got := surfaceForms([]attune.Doc{doc})
	for stem, want := range map[string]string{"bag": "bags", "baggag": "baggage", "offic": "office", "close": "closed", "fli": "fly", "flight": "flight"} {
		if got[stem] != want {
			t.Errorf("surface of %q = %q, want %q", stem, got[stem], want)
		}
	}
}
