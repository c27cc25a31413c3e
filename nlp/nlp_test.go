package nlp

import (
	"errors"
	"math"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	attune "github.com/attune-cx/attune"
	"github.com/jdkato/prose/v2"
)

func TestNewOptions(t *testing.T) {
	if _, err := New(WithMaxBytes(-1)); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("New(WithMaxBytes(-1)) error = %v, want ErrInvalidOption", err)
	}
	for _, n := range []int{0, 10, DefaultMaxBytes} {
		if _, err := New(WithMaxBytes(n)); err != nil {
			t.Errorf("New(WithMaxBytes(%d)): %v", n, err)
		}
	}
}

func TestWithMaxBytes(t *testing.T) {
	a, err := New(WithMaxBytes(12))
	if err != nil {
		t.Fatal(err)
	}
	// "é" is two bytes at offsets 11-12: the cut must not split it.
	got := a.Analyze("flight late é and more")
	if got.Clean != "flight late" {
		t.Errorf("Clean = %q, want %q", got.Clean, "flight late")
	}
	for _, tt := range []struct {
		s    string
		n    int
		want string
	}{
		{"abc", 0, "abc"},
		{"abc", 5, "abc"},
		{"abcdef", 3, "abc"},
		{"ab€", 3, "ab"},
		{"ab€", 4, "ab"},
		{"ab€", 5, "ab€"},
		{"€€", 4, "€"},
		{"\x80\x80\x80\x80\x80", 2, ""}, // invalid anyway: Clean drops it
	} {
		if got := truncate(tt.s, tt.n); got != tt.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}

func TestTokens(t *testing.T) {
	a := newAnalyzer(t)
	tests := []struct {
		in   string
		want []string
	}{
		// Airline tweets from Tweets.csv.
		{"@united actually we aren't. Still parked here.",
			[]string{"actually", "we", "aren't", "still", "parked", "here"}},
		{"@AmericanAir Would love to DM you, but my Twitter app says you're not following me and I can't.",
			[]string{"would", "love", "to", "dm", "you", "but", "my", "twitter", "app", "says", "you're", "not", "following", "me", "and", "i", "can't"}},
		{"Please don't. RT “@JetBlue: Our fleet's on fleek. http://t.co/gdzadXzBYA”",
			[]string{"please", "don't", "rt", "our", "fleet's", "on", "fleek"}},
		{"@VirginAmerica yes, nearly every time I fly VX this “ear worm” won’t go away :)",
			[]string{"yes", "nearly", "every", "time", "i", "fly", "vx", "this", "ear", "worm", "won't", "go", "away"}},
		{"@VirginAmerica I &lt;3 pretty graphics. so much better than minimal iconography. :D",
			[]string{"i", "pretty", "graphics", "so", "much", "better", "than", "minimal", "iconography"}},
		{"@united Made@it to the gate at 8:23", []string{"made@it", "to", "the", "gate", "at", "8:23"}},
		// Not from the tweets: forms prose v2.0.0 alone would mangle.
		{"'sup O'Reilly, it's $100 in the U.S.!", []string{"sup", "o'reilly", "it's", "100", "in", "the", "u.s."}},
		{"cafe\u0301! \u0301 :P 20%", []string{"cafe\u0301", "20"}},
	}
	for _, tt := range tests {
		if got := a.Analyze(tt.in).Tokens; !slices.Equal(got, tt.want) {
			t.Errorf("Analyze(%q).Tokens\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

// TestTokensKeepNegations checks on every airline tweet that each "n't"
// contraction of the cleaned text comes out as a token of its own: prose
// v2.0.0 alone turns "can't." into ["ca"], and tweets glue words with
// punctuation ("iPad.don't"). A contraction hyphenated to a word
// ("nonprofit-can't") stays in that word's token.
func TestTokensKeepNegations(t *testing.T) {
	contraction := regexp.MustCompile(`(?i)(?:^|[^\pL\pN'’@-])(\pL+n['’]t)\b`)
	token := regexp.MustCompile(`^\pL+n't$`)
	var total int
	for i, an := range analysedTweets(t) {
		var want, got []string
		for _, m := range contraction.FindAllStringSubmatch(an.Clean, -1) {
			want = append(want, strings.ToLower(strings.ReplaceAll(m[1], "’", "'")))
		}
		for _, tok := range an.Tokens {
			if token.MatchString(tok) {
				got = append(got, tok)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("row %d: negations %q, want %q in %q", i, got, want, an.Clean)
		}
		total += len(want)
	}
	if total < 1000 {
		t.Errorf("only %d negating contractions in the tweets: wrong file?", total)
	}
}

// TestSegmenterMatchesProse checks that the reused Punkt segmenter counts the
// same sentences as prose.NewDocument with segmentation on, on real tweets.
func TestSegmenterMatchesProse(t *testing.T) {
	a := newAnalyzer(t)
	rows := airlineTweets(t)
	// prose reloads its model per call (~15 ms), so compare a spread sample.
	step := 200
	if testing.Short() {
		step = 1500
	}
	var multi int
	for i := 0; i < len(rows); i += step {
		clean := Clean(rows[i].Text)
		doc, err := prose.NewDocument(clean, prose.WithTagging(false), prose.WithExtraction(false))
		if err != nil {
			t.Fatalf("prose.NewDocument: %v", err)
		}
		want := len(doc.Sentences())
		if got := a.segmenter.count(clean); got != want {
			t.Errorf("row %d: %d sentences, prose finds %d in %q", i, got, want, clean)
		}
		if want > 1 {
			multi++
		}
	}
	if multi == 0 {
		t.Error("no multi-sentence tweet in the sample")
	}
}

// TestSentimentAirlineTweets compares the three-way labels with the crowd's
// on the airline tweets, for the cleaned text and for plain VADER on the raw
// tweet. Handles and URLs in the raw text mislead VADER; cleaning must help.
func TestSentimentAirlineTweets(t *testing.T) {
	var ours, plain int
	rows := airlineTweets(t)
	for i, r := range rows {
		if string(analysedTweets(t)[i].Sentiment.Label) == r.Sentiment {
			ours++
		}
		if string(label(plainVader().PolarityScores(r.Text).Compound)) == r.Sentiment {
			plain++
		}
	}
	acc, base := float64(ours)/float64(len(rows)), float64(plain)/float64(len(rows))
	t.Logf("airline tweets, 3-class accuracy against the crowd labels: %.3f (plain VADER on raw text %.3f)", acc, base)
	if acc <= base {
		t.Errorf("accuracy %.3f on cleaned text, not above plain VADER's %.3f", acc, base)
	}
	// Measured 0.550 when the floor was set; chance is 0.33.
	if acc < 0.53 {
		t.Errorf("accuracy %.3f, want ≥ 0.53", acc)
	}
}

func TestAnalyzeEdgeCases(t *testing.T) {
	a := newAnalyzer(t)
	tests := []struct {
		name      string
		in        string
		clean     string
		sentences int
		tokens    int
	}{
		{"empty", "", "", 0, 0},
		{"whitespace", " \t\r\n\u00a0\u2028 ", "", 0, 0},
		{"invalid utf8", "\xff\xfe\xfd", "", 0, 0},
		{"invalid utf8 in words", "late\xff flight\xc3", "late flight", 1, 2},
		{"control chars", "\x00\x01\x1b[31m\x7f", "[31m", 1, 1},
		{"emoji only", "😡😡✈️💺", "😡😡✈️💺", 1, 0},
		{"mentions only", "@united @AmericanAir", "", 0, 0},
		{"url only", "http://t.co/abc", "", 0, 0},
		{"punctuation only", "?!?! ...", "?!?! ...", 2, 0},
		{"combining marks", "e\u0301\u0301\u0301 ok", "e\u0301\u0301\u0301 ok", 1, 2},
		{"decomposed accent", "cafe\u0301!", "cafe\u0301!", 1, 1},
		{"rtl and cjk", "الرحلة متأخرة 航班延误", "الرحلة متأخرة 航班延误", 1, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := a.Analyze(tt.in)
			if got.Clean != tt.clean || got.Sentences != tt.sentences || len(got.Tokens) != tt.tokens {
				t.Errorf("Analyze(%q) = clean %q, %d sentences, tokens %q; want %q, %d sentences, %d tokens",
					tt.in, got.Clean, got.Sentences, got.Tokens, tt.clean, tt.sentences, tt.tokens)
			}
			checkAnalysis(t, tt.in, got)
		})
	}
}

func TestAnalyzeHuge(t *testing.T) {
	size := 1 << 20
	if testing.Short() {
		size = 256 << 10
	}
	// size bytes of real tweets, newlines between them.
	var b strings.Builder
	for b.Len() < size {
		for _, r := range airlineTweets(t) {
			b.WriteString(r.Text)
			b.WriteByte('\n')
			if b.Len() >= size {
				break
			}
		}
	}
	huge := b.String()
	for _, max := range []int{DefaultMaxBytes, 0} {
		a, err := New(WithMaxBytes(max))
		if err != nil {
			t.Fatal(err)
		}
		got := a.Analyze(huge)
		checkAnalysis(t, "a huge text of tweets", got)
		if got.Sentences < 100 || len(got.Stems) < 1000 {
			t.Errorf("max %d: %d sentences, %d stems from %d bytes of tweets", max, got.Sentences, len(got.Stems), len(huge))
		}
		if max > 0 && len(got.Clean) > max {
			t.Errorf("max %d: clean text is %d bytes", max, len(got.Clean))
		}
	}
	// One 1 MB word and 1 MB of one character repeated.
	a := newAnalyzer(t)
	for _, s := range []string{strings.Repeat("a", 1<<20), strings.Repeat("!", 1<<20), strings.Repeat("'", 1<<20), strings.Repeat("@", 1<<20)} {
		checkAnalysis(t, s[:10]+"…", a.Analyze(s))
	}
}

// checkAnalysis asserts the invariants every analysis must hold.
func checkAnalysis(t *testing.T, in string, got attune.Analysis) {
	t.Helper()
	s := got.Sentiment
	// The model's label is its most likely class, so it agrees with the
	// sign of the score (P(positive) − P(negative)); unknown scores 0.
	if math.IsNaN(s.Score) || s.Score < -1 || s.Score > 1 ||
		s.Label == attune.Positive && s.Score <= 0 || s.Label == attune.Negative && s.Score >= 0 ||
		s.Label == attune.Unknown && s.Score != 0 {
		t.Errorf("Analyze(%.40q): sentiment %+v", in, s)
	}
	if !utf8.ValidString(got.Clean) || got.Clean != strings.TrimSpace(got.Clean) {
		t.Errorf("Analyze(%.40q): clean %.40q", in, got.Clean)
	}
	if (got.Clean == "") != (got.Sentences == 0) {
		t.Errorf("Analyze(%.40q): %d sentences in clean %.40q", in, got.Sentences, got.Clean)
	}
	if len(got.Stems) > len(got.Tokens) {
		t.Errorf("Analyze(%.40q): %d stems from %d tokens", in, len(got.Stems), len(got.Tokens))
	}
	for _, tok := range got.Tokens {
		if tok == "" || tok != strings.ToLower(tok) || !utf8.ValidString(tok) {
			t.Errorf("Analyze(%.40q): token %q", in, tok)
		}
	}
}

// TestAnalyzeConcurrent analyses the tweets from several goroutines with one
// Analyzer and expects what one goroutine gets. Run with -race.
func TestAnalyzeConcurrent(t *testing.T) {
	a := newAnalyzer(t)
	rows := airlineTweets(t)[:2000]
	want := make([]attune.Analysis, len(rows))
	for i, r := range rows {
		want[i] = a.Analyze(r.Text)
	}
	const workers = 4
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(rows); i += workers {
				got := a.Analyze(rows[i].Text)
				if got.Clean != want[i].Clean || got.Sentences != want[i].Sentences || got.Sentiment != want[i].Sentiment ||
					!slices.Equal(got.Tokens, want[i].Tokens) || !slices.Equal(got.Stems, want[i].Stems) {
					t.Errorf("row %d: concurrent analysis differs", i)
				}
			}
		})
	}
	wg.Wait()
}

func FuzzAnalyze(f *testing.F) {
	for _, r := range airlineTweets(f)[:20] {
		f.Add(r.Text)
	}
	f.Add("")
	f.Add("\xff@\x00#&lt;3 http://")
	f.Add("I can't. 'sup O'Reilly U.S.!")
	a := newAnalyzer(f)
	f.Fuzz(func(t *testing.T, s string) {
		got := a.Analyze(s)
		checkAnalysis(t, s, got)
		if hasMention(got.Clean) || reURL.MatchString(got.Clean) {
			t.Errorf("Analyze(%q): mention or URL in clean %q", s, got.Clean)
		}
		// Entities nested deeper than maxUnescapes decode once more on a
		// second pass; anything else must already be clean.
		if again := Clean(got.Clean); again != got.Clean && !strings.Contains(s, "&") {
			t.Errorf("Clean is not idempotent on %q: %q → %q", s, got.Clean, again)
		}
	})
}

// BenchmarkAnalyze measures Analyze over the airline tweets and reports
// texts/s. Run: go test ./nlp -run '^$' -bench Analyze -benchmem
func BenchmarkAnalyze(b *testing.B) {
	a := newAnalyzer(b)
	rows := airlineTweets(b)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		a.Analyze(rows[n%len(rows)].Text)
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "texts/s")
}

// BenchmarkProseNewDocument measures what prose.NewDocument with segmentation
// on costs per tweet, the figure behind segment.go.
func BenchmarkProseNewDocument(b *testing.B) {
	rows := airlineTweets(b)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if _, err := prose.NewDocument(Clean(rows[n%len(rows)].Text), prose.WithTagging(false), prose.WithExtraction(false)); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "texts/s")
}
