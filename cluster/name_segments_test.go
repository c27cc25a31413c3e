package cluster

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/attune-cx/attune"
	"github.com/attune-cx/attune/configs"
	"github.com/attune-cx/attune/nlp"
)

// aspectAnalyzer finds the aspects of configs/aspects.yaml, as the pipeline
// does (lexicon sentiment: no learned model is needed for the aspects).
var aspectAnalyzer = sync.OnceValues(func() (*nlp.Analyzer, error) {
	set, err := nlp.ParseAspectsBytes(configs.Aspects)
	if err != nil {
		return nil, err
	}
	return nlp.New(nlp.WithLexiconOnly(), nlp.WithAspects(set))
})

// withAspects sets the aspects of each doc from its text.
func withAspects(tb testing.TB, docs []attune.Doc) {
	an, err := aspectAnalyzer()
	if err != nil {
		tb.Fatal(err)
	}
	for i := range docs {
		docs[i].Analysis.Aspects = an.Aspects(docs[i].Event.Text)
	}
}

// numSuffix is the "-2" uniqueNames adds when terms run out.
var numSuffix = regexp.MustCompile(`-[0-9]+$`)

// nameWords returns the terms of a name: its parts without the attitude,
// the numeric suffix and, when desc names an aspect, the aspect's words.
func nameWords(d Description) []string {
	name := numSuffix.ReplaceAllString(d.Name, "")
	name = strings.TrimSuffix(name, "-"+d.Attitude)
	if d.Aspect != "" {
		slug := aspectSlug(d.Aspect)
		if name != slug && !strings.HasPrefix(name, slug+"-") {
			return nil
		}
		name = strings.TrimPrefix(strings.TrimPrefix(name, slug), "-")
	}
	if name == "" {
		return nil
	}
	return strings.Split(name, "-")
}

// TestNamesAirlineSegments fits all 14,485 airline tweets into 10 segments,
// with aspects found as the pipeline finds them, and checks what a CX lead
// reads in the names: unique; every word in a name used more in its segment
// than in the others (so "flight", in every segment, names none); a stem
// written one way in all names ("thanks", not also "thank"); and a segment
// named after an aspect only when most of its texts mention it and it is no
// other segment's dominant aspect.
func TestNamesAirlineSegments(t *testing.T) {
	pts := tweetPoints(t)
	docs := make([]attune.Doc, len(pts))
	for i := range pts {
		docs[i] = pts[i].Doc
	}
	withAspects(t, docs)
	for i := range pts {
		pts[i].Doc = docs[i]
	}
	m, err := Fit(context.Background(), pts, Config{K: 10, Seed: 1, PCADims: 32}, nil)
	if err != nil {
		t.Fatal(err)
	}
	members := map[string][]attune.Doc{}
	for _, p := range pts {
		id := m.Assign(p).ID
		members[id] = append(members[id], p.Doc)
	}
	var groups [][]attune.Doc
	for _, s := range m.Segments() {
		t.Logf("fit: %-7s %-34s %v", s.ID, s.Name, s.TopTerms)
		groups = append(groups, members[s.ID])
	}
	descs := Describe(groups, DefaultTopTerms)
	checkSegmentAspects(t, m)

	ndocs := len(pts)
	has := func(g int, stem string) int {
		n := 0
		for _, d := range groups[g] {
			if slices.Contains(d.Analysis.Stems, stem) {
				n++
			}
		}
		return n
	}
	seen := map[string]bool{}
	surface := map[string]string{}
	aspectOf := map[string]int{}
	for g, d := range descs {
		t.Logf("%-4d %5d %-34s aspect %-9q %v", g, len(groups[g]), d.Name, d.Aspect, d.Terms)
		if seen[d.Name] {
			t.Errorf("name %q is not unique", d.Name)
		}
		seen[d.Name] = true
		words := nameWords(d)
		if d.Aspect != "" {
			if words == nil && !strings.HasPrefix(d.Name, aspectSlug(d.Aspect)) {
				t.Errorf("%q does not start with its aspect %q", d.Name, d.Aspect)
			}
			n := 0
			for _, doc := range groups[g] {
				if slices.ContainsFunc(doc.Analysis.Aspects, func(a attune.AspectSentiment) bool { return a.Aspect == d.Aspect }) {
					n++
				}
			}
			if share := float64(n) / float64(len(groups[g])); share < minAspectShare {
				t.Errorf("%q is named after aspect %s, which only %.0f%% of its texts mention", d.Name, d.Aspect, 100*share)
			}
			aspectOf[d.Aspect]++
		}
		for _, w := range words {
			st := stems([]string{w})
			if len(st) != 1 {
				t.Fatalf("%q: name word %q stems to %q", d.Name, w, st)
			}
			if prev, ok := surface[st[0]]; ok && prev != w {
				t.Errorf("stem %q is named %q and %q", st[0], prev, w)
			}
			surface[st[0]] = w
			in := has(g, st[0])
			rest := 0
			for h := range groups {
				if h != g {
					rest += has(h, st[0])
				}
			}
			inShare := float64(in) / float64(len(groups[g]))
			restShare := float64(rest) / float64(ndocs-len(groups[g]))
			t.Logf("     %-14s in %4.1f%% of the segment, %4.1f%% of the rest", w, 100*inShare, 100*restShare)
			if !(inShare > restShare) {
				t.Errorf("%q is named after %q, used in %.1f%% of its texts and %.1f%% of the others'", d.Name, w, 100*inShare, 100*restShare)
			}
		}
	}
	for a, n := range aspectOf {
		if n > 1 {
			t.Errorf("aspect %s names %d segments", a, n)
		}
	}
}

// TestDescribeAspects names the negative airline tweets grouped by gold
// complaint reason, with their aspects. Only "Flight Attendant Complaints"
// has a dominant aspect (staff, in 67 % of its tweets) that no other group
// shares: Lost and Damaged Luggage are both mostly about baggage, Cancelled
// Flight and Flight Booking Problems both about booking, Late Flight and
// longlines both about wait time. Without Damaged Luggage, baggage becomes
// Lost Luggage's alone and names it.
func TestDescribeAspects(t *testing.T) {
	reasons, groups := negativeByReason(t)
	for _, g := range groups {
		withAspects(t, g)
	}
	check := func(reasons []string, groups [][]attune.Doc, want map[string]string) {
		t.Helper()
		for i, d := range Describe(groups, DefaultTopTerms) {
			t.Logf("%-28s %-30s aspect %-9q %v", reasons[i], d.Name, d.Aspect, d.Terms)
			if d.Aspect != want[reasons[i]] {
				t.Errorf("%s: aspect %q, want %q", reasons[i], d.Aspect, want[reasons[i]])
			}
			if a := want[reasons[i]]; a != "" && !strings.HasPrefix(d.Name, aspectSlug(a)+"-") {
				t.Errorf("%s is named %q, want it to start with %q", reasons[i], d.Name, aspectSlug(a))
			}
		}
	}
	check(reasons, groups, map[string]string{"Flight Attendant Complaints": "staff"})

	i := slices.Index(reasons, "Damaged Luggage")
	if i < 0 {
		t.Fatal("no Damaged Luggage group")
	}
	check(slices.Delete(slices.Clone(reasons), i, i+1), slices.Delete(slices.Clone(groups), i, i+1),
		map[string]string{"Flight Attendant Complaints": "staff", "Lost Luggage": "baggage"})
}

func TestNameHelpers(t *testing.T) {
	if got := aspectSlug("wait_time"); got != "wait-time" {
		t.Errorf("aspectSlug(wait_time) = %q", got)
	}
	// A stem reads as the word all groups use most, among this group's.
	local := map[string]int{"thank": 5}
	global := map[string]int{"thank": 40, "thanks": 300}
	if got := pickSurface(local, global); got != "thank" {
		t.Errorf("pickSurface among the group's words = %q, want thank", got)
	}
	if got := pickSurface(global, global); got != "thanks" {
		t.Errorf("pickSurface = %q, want thanks", got)
	}
	// Bigrams are stems whose words are adjacent: "customer service", not
	// "service" and "terrible" across "was".
	d := analysedDoc(attune.Event{Text: "@united customer service was terrible. The customer service!"})
	got := docBigrams(d, alignStems(d))
	want := []bigram{{"custom", "servic"}, {"custom", "servic"}}
	if !slices.Equal(got, want) {
		t.Errorf("docBigrams(%q, stems %q) = %v, want %v", d.Analysis.Tokens, d.Analysis.Stems, got, want)
	}
}

// BenchmarkDescribe names the 9,178 negative airline tweets grouped by
// complaint reason, with their aspects: the naming share of a re-cluster.
//
//	go test -run '^$' -bench Describe ./cluster/
func BenchmarkDescribe(b *testing.B) {
	_, groups := negativeByReason(b)
	for _, g := range groups {
		withAspects(b, g)
	}
	b.ReportAllocs()
	for b.Loop() {
		Describe(groups, DefaultTopTerms)
	}
}

// checkSegmentAspects: every segment carries its dominant aspect
// (attune.Segment.Aspect, in its JSON and in its Profile), its name starts
// with it, and on the airline tweets at least one segment has one.
func checkSegmentAspects(t *testing.T, m *Model) {
	t.Helper()
	profiles := map[string]Profile{}
	for _, p := range m.Profiles(nil) {
		profiles[p.ID] = p
	}
	n := 0
	for _, s := range m.Segments() {
		if profiles[s.ID].Aspect != s.Aspect {
			t.Errorf("%s: profile aspect %q, segment aspect %q", s.ID, profiles[s.ID].Aspect, s.Aspect)
		}
		if s.Aspect == "" {
			continue
		}
		n++
		if !strings.HasPrefix(s.Name, aspectSlug(s.Aspect)) {
			t.Errorf("%s %q has aspect %q but does not start with it", s.ID, s.Name, s.Aspect)
		}
		raw, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(raw), `"aspect":"`+s.Aspect+`"`) {
			t.Errorf("segment JSON lacks its aspect: %s", raw)
		}
		t.Logf("%s %q: aspect %s", s.ID, s.Name, s.Aspect)
	}
	if n == 0 {
		t.Error("no segment of the airline tweets has a dominant aspect")
	}
}
