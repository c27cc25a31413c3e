package nlp

import (
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/jdkato/prose/v2"
)

// proseDocTokens is what tokenize handed prose before proseTokens: the
// token texts of a prose.NewDocument with only tokenization on.
func proseDocTokens(t testing.TB, text string) []string {
	doc, err := prose.NewDocument(text,
		prose.WithSegmentation(false), prose.WithTagging(false), prose.WithExtraction(false))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, tok := range doc.Tokens() {
		out = append(out, tok.Text)
	}
	return out
}

// proseTestTexts are real texts of every kind the stage reads, with the
// edge cases of prose's tokenizer.
func proseTestTexts(t testing.TB) []string {
	texts := []string{
		"", " ", "I can't. 'sup O'Reilly U.S.!", "Dr. Smith met Mrs. Jones at 8 a.m. (sharp)",
		"$100 [really] \"quoted\" they'll we're I'm it's", ":-) (-_-) ¯\\(ツ)/¯ o_O xDD 8D",
		"can't. won't! don't?", "'s 'll n't", "“smart” ‘quotes’ &rsquo;s", "\t tab\nnew\u00a0nbsp",
		"A.B.C. a.b Ab. ABC. Abcd.", "((((wow))))!!!", "\xff\xfe bad utf8 \xff.",
		"ʼtis", "x'", "''", "'", "(", "$",
	}
	for _, r := range airlineTweets(t) {
		texts = append(texts, r.Text)
	}
	for _, f := range []string{"tweets_GroundTruth.txt", "movieReviewSnippets_GroundTruth.txt", "amazonReviewSnippets_GroundTruth.txt", "nytEditorialSnippets_GroundTruth.txt"} {
		for _, r := range vaderGroundTruth(t, f) {
			texts = append(texts, r.Text)
		}
	}
	return texts
}

// TestProseTokensMatchProse checks proseTokens against prose itself, on raw
// and on prepared text, for every text of the airline and VADER corpora and
// the edge cases above.
func TestProseTokensMatchProse(t *testing.T) {
	bad := 0
	for _, text := range proseTestTexts(t) {
		for _, in := range []string{text, prepare(Clean(text))} {
			got, want := proseTokens(in, nil), proseDocTokens(t, in)
			if !slices.Equal(got, want) {
				bad++
				if bad <= 10 {
					t.Errorf("proseTokens(%q)\n = %q\nwant %q", in, got, want)
				}
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d texts differ", bad)
	}
}

// FuzzProseTokens checks proseTokens against prose on arbitrary strings.
func FuzzProseTokens(f *testing.F) {
	for _, s := range []string{"I can't. 'sup O'Reilly U.S.!", "Dr. No's $5 (ok)", ":-) o_O", "a\u00a0b\tc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 256 {
			return // prose peels long punctuation runs in quadratic time
		}
		got := proseTokens(s, nil)
		if len(strings.ToLower(s)) != len(s) {
			return // where proseSplit departs from prose, on purpose
		}
		if want := proseDocTokens(t, s); !slices.Equal(got, want) {
			t.Errorf("proseTokens(%q)\n = %q\nwant %q", s, got, want)
		}
	})
}

// TestSeparateLeadingApostrophes checks separateLeadingApostrophes against
// the regexp replacement it stands for.
func TestSeparateLeadingApostrophes(t *testing.T) {
	re := regexp.MustCompile(`(^|\s)(['’ʼ])`)
	texts := append(proseTestTexts(t), "'a 'b", " ' ' ''", "\f'x\r’y\vʼz", "''x", "a'b 'c", "\xff'\xff ’")
	for _, s := range texts {
		if got, want := separateLeadingApostrophes(s), re.ReplaceAllString(s, "$1$2 "); got != want {
			t.Errorf("separateLeadingApostrophes(%q) = %q, want %q", s, got, want)
		}
	}
}

// FuzzSeparateLeadingApostrophes is TestSeparateLeadingApostrophes on
// arbitrary strings.
func FuzzSeparateLeadingApostrophes(f *testing.F) {
	re := regexp.MustCompile(`(^|\s)(['’ʼ])`)
	f.Add("'a ’b ʼc")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := separateLeadingApostrophes(s), re.ReplaceAllString(s, "$1$2 "); got != want {
			t.Errorf("separateLeadingApostrophes(%q) = %q, want %q", s, got, want)
		}
	})
}

// TestProseTokensLengthChangingCase pins where proseTokens departs from
// prose: a span whose lowercase is longer ("Ⱥ" → "ⱥ") made prose cut at
// indexes of the lowercase, panicking past the span's end, so that
// Analyze panicked on "ȺȺȺȺ.'s fine".
func TestProseTokensLengthChangingCase(t *testing.T) {
	for in, want := range map[string][]string{
		"ȺȺȺȺ.'s fine":     {"ȺȺȺȺ.", "'s", "fine"},
		"ȺȺn't":            {"ȺȺ", "n't"},
		"İstanbul'S CAN'T": {"İstanbul", "'S", "CA", "N'T"}, // prose: "İstanbu", "l", …
		"\x88\x88n't":      {"\x88\x88", "n't"},
	} {
		if got := proseTokens(in, nil); !slices.Equal(got, want) {
			t.Errorf("proseTokens(%q) = %q, want %q", in, got, want)
		}
	}
	a := newAnalyzer(t)
	if got := a.Analyze("ȺȺȺȺ.'s fine").Tokens; !slices.Equal(got, []string{"ⱥⱥⱥⱥ", "fine"}) {
		t.Errorf("Analyze tokens = %q", got)
	}
}

// TestAnalyzeAspectsMatchAspects checks that the aspects Analyze reports,
// scored partly on the whole text's score it already has, are those
// Aspects reports, which scores every clause text afresh.
func TestAnalyzeAspectsMatchAspects(t *testing.T) {
	rm, err := RestaurantAspects()
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(WithAspects(shippedAspects(t)), WithAspectModel(rm))
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for i, text := range proseTestTexts(t) {
		if i%3 == 0 { // a third of them is plenty and keeps the test quick
			texts = append(texts, text)
		}
	}
	seen := 0
	for _, text := range texts {
		got, want := a.Analyze(text).Aspects, a.Aspects(text)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Analyze(%q).Aspects = %+v, Aspects = %+v", text, got, want)
		}
		seen += len(got)
	}
	if seen < len(texts)/4 {
		t.Errorf("only %d aspects in %d texts: the comparison is too weak", seen, len(texts))
	}
}

// TestSentenceCountFastPath checks that text without '.', '?' or '!',
// which count takes for one sentence without asking Punkt, is one sentence
// to Punkt too, on every corpus text and clause without them.
func TestSentenceCountFastPath(t *testing.T) {
	seg, err := newSegmenter()
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, text := range proseTestTexts(t) {
		for _, in := range []string{Clean(text), text, strings.ReplaceAll(Clean(text), ".", " ")} {
			if strings.ContainsAny(in, ".?!") {
				continue
			}
			checked++
			if got, want := seg.count(in), seg.countPunkt(in); got != want {
				t.Errorf("count(%q) = %d, Punkt counts %d", in, got, want)
			}
		}
	}
	if checked < 10000 {
		t.Errorf("only %d texts checked", checked)
	}
}
