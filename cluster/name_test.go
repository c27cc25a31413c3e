package cluster

import (
	"context"
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

		// "customer" mostly comes as "customer service" there: the phrase
		// names the group.
		if reasons[i] == "Customer Service Issue" && !strings.HasPrefix(d.Name, "customer-service-") {
			t.Errorf("%s is named %q, want customer-service-…", reasons[i], d.Name)
		}
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
	counts := map[string]map[string]int{}
	countSurfaces(counts, doc, alignStems(doc))
	for stem, want := range map[string]string{"bag": "bags", "baggag": "baggage", "offic": "office", "close": "closed", "fli": "fly", "flight": "flight"} {
		if got := pickSurface(counts[stem], counts[stem]); got != want {
			t.Errorf("surface of %q = %q, want %q", stem, got, want)
		}
	}
}

func TestHashtags(t *testing.T) {
	got := hashtags("See you! #DestinationDragons ##Two, a#b (#ünï_1) # #.")
	if want := []string{"destinationdragons", "two", "ünï_1"}; !slices.Equal(got, want) {
		t.Errorf("hashtags = %q, want %q", got, want)
	}
}

// TestNameSkipsHashtags names the 81 airline tweets of Southwest's
// #DestinationDragons campaign, mixed with as many other tweets, against the
// complaint groups: the hashtag is their most distinctive word, but a
// campaign tag says nothing about what the customers think.
func TestNameSkipsHashtags(t *testing.T) {
	_, groups := negativeByReason(t)
	var campaign, other []attune.Doc
	for _, tw := range tweets(t) {
		d := analysedDoc(attune.Event{ID: tw.id, CustomerID: tw.user, Text: tw.text, TS: tw.created})
		switch {
		case strings.Contains(strings.ToLower(tw.text), "#destinationdragons"):
			campaign = append(campaign, d)
		case tw.sentiment != "negative" && len(other) < 81:
			other = append(other, d)
		}
	}
	if len(campaign) < 50 {
		t.Fatalf("%d campaign tweets", len(campaign))
	}
	groups = append(groups, append(campaign, other...))
	descs := Describe(groups, DefaultTopTerms)
	d := descs[len(descs)-1]
	t.Logf("campaign group: %s %v", d.Name, d.Terms)
	if !slices.Contains(d.Terms, "destinationdragons") {
		t.Errorf("top terms %v lack the hashtag: the check tests nothing", d.Terms)
	}
	if strings.Contains(d.Name, "destinationdragons") {
		t.Errorf("named %q after a hashtag", d.Name)
	}
}

// TestNamesReachCustomers fits 4,000 airline tweets and checks that the
// first term in a segment's name was used by at least minNameShare of its
// customers, and every other term by at least half that (they only tell
// apart names that would collide: "thanks-see-delighted" beside
// "thanks-delighted").
func TestNamesReachCustomers(t *testing.T) {
	pts := tweetPoints(t)[:4000]
	m, err := Fit(context.Background(), pts, Config{K: 16, Seed: 1, PCADims: 32}, nil)
	if err != nil {
		t.Fatal(err)
	}
	members := map[string][]attune.Doc{}
	for _, p := range pts {
		id := m.Assign(p).ID
		members[id] = append(members[id], p.Doc)
	}
	for _, s := range m.Segments() {
		docs := members[s.ID]
		custs := map[string]bool{}
		for _, d := range docs {
			custs[docCustomer(d)] = true
		}
		// A name's numeric suffix, if any, is no term.
		parts := strings.Split(numSuffix.ReplaceAllString(s.Name, ""), "-")
		for i, term := range parts[:len(parts)-1] {
			stem := stems([]string{term})
			if len(stem) != 1 {
				t.Fatalf("term %q stems to %q", term, stem)
			}
			users := map[string]bool{}
			for _, d := range docs {
				if slices.Contains(d.Analysis.Stems, stem[0]) {
					users[docCustomer(d)] = true
				}
			}
			share := float64(len(users)) / float64(len(custs))
			t.Logf("%s %-30s term %-16s used by %.0f%% of %d customers", s.ID, s.Name, term, 100*share, len(custs))
			// Terms after the first may only tell apart segments whose
			// names collide: half the reach will do for them.
			if want := minNameShare / 2; i == 0 && share < minNameShare || share < want {
				t.Errorf("segment %s is named %q after %q, which only %.1f%% of its customers used", s.ID, s.Name, term, 100*share)
			}
		}
	}
}
