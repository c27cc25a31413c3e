package nlp

import (
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestClean(t *testing.T) {
	// Inputs are airline tweets from Tweets.csv unless noted.
	tests := []struct {
		name, in, want string
	}{
		{"entity and emoji", "@VirginAmerica trying to book a flight &amp; your site is down 😁",
			"trying to book a flight & your site is down 😁"},
		{"heart emoticon", "@VirginAmerica you guys are perfect as always! &lt;3 #WeRVirgin",
			"you guys are perfect as always! <3 WeRVirgin"},
		{"url", "@VirginAmerica Your chat support is not working on your site: http://t.co/vhp2GtDWPk",
			"Your chat support is not working on your site:"},
		{"dot mention", ".@VirginAmerica They were very understanding and helped me out.  Thx! #Comps",
			". They were very understanding and helped me out. Thx! Comps"},
		{"possessive mention and newline", "@united's first-class #cockup\nhttp://t.co/oh7CFv7DHR",
			"first-class cockup"},
		{"email is not a mention", "@USAirways  My tweet gets me a response to email dmsc@usairways.com",
			"My tweet gets me a response to email dmsc@usairways.com"},
		{"word@word is not a mention", "@united Made@it to the gate at 8:23",
			"Made@it to the gate at 8:23"},
		{"arrow entity", "@VirginAmerica plz help me win my bid upgrade for my flight 2/27 LAX---&gt;SEA!!!  🍷👍💺✈️",
			"plz help me win my bid upgrade for my flight 2/27 LAX--->SEA!!! 🍷👍💺✈️"},
		{"two urls", "@VirginAmerica  DREAM http://t.co/oA2dRfAoQ2 http://t.co/lWWdAc2kHx", "DREAM"},
		{"curly apostrophe kept", "@VirginAmerica it’s just a bug report, guys", "it’s just a bug report, guys"},
		// Not from the tweets: forms the tweets lack.
		{"www url", "see www.example.com/page for details", "see for details"},
		{"https url upper case", "HTTPS://EXAMPLE.COM/x fine", "fine"},
		{"html tags", "Great phone.<br /><br />Battery <b>lasts</b>.", "Great phone. Battery lasts ."},
		{"unknown tag kept", "I <love> it", "I <love> it"},
		{"broken heart", "&lt;/3 so sad", "</3 so sad"},
		{"numeric entity", "don&#39;t &#8220;ok&#8221;", "don't “ok”"},
		{"control chars", "bad\x00\x07flight\u0085again", "bad flight again"},
		{"zero width", "de\u200blay\ufeff", "delay"},
		{"invalid utf8", "caf\xe9 ok \xff", "caf ok"},
		{"blank", " \t\r\n ", ""},
		{"double hash", "##fail", "fail"},
		{"c sharp", "C# rocks", "C# rocks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Clean(tt.in); got != tt.want {
				t.Errorf("Clean(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestCleanAirlineTweets runs Clean over every airline tweet: no mention, URL
// or HTML entity may survive, every ordinary word must, and the result must
// be valid, collapsed UTF-8.
func TestCleanAirlineTweets(t *testing.T) {
	rows := airlineTweets(t)
	var withHandle, withURL int
	for i, r := range rows {
		got := Clean(r.Text)
		if hasMention(r.Text) {
			withHandle++
		}
		if strings.Contains(strings.ToLower(r.Text), "http") {
			withURL++
		}
		switch {
		case hasMention(got):
			t.Errorf("row %d: mention survives: %q → %q", i, r.Text, got)
		case strings.Contains(strings.ToLower(got), "http"):
			t.Errorf("row %d: URL survives: %q → %q", i, r.Text, got)
		case strings.Contains(got, "&amp;") || strings.Contains(got, "&lt;") || strings.Contains(got, "&gt;"):
			t.Errorf("row %d: entity survives: %q → %q", i, r.Text, got)
		case !utf8.ValidString(got) || got != strings.Join(strings.Fields(got), " "):
			t.Errorf("row %d: not collapsed valid UTF-8: %q", i, got)
		}
		kept := map[string]bool{}
		for _, f := range strings.Fields(got) {
			kept[f] = true
		}
		for _, f := range strings.Fields(r.Text) {
			if isPlainWord(f) && !kept[f] {
				t.Errorf("row %d: word %q lost: %q → %q", i, f, r.Text, got)
			}
		}
	}
	// The checks above mean something only if the data has what they look for.
	if withHandle < 14000 || withURL < 1000 {
		t.Errorf("only %d rows with a mention and %d with a URL: wrong file?", withHandle, withURL)
	}
}

// hasMention reports whether s holds an @handle by Twitter's rule: '@' then
// a letter, digit or underscore, not preceded by one. Written without the
// regular expression Clean uses, so that the test checks the rule rather than
// repeating the code.
func hasMention(s string) bool {
	prev := ' '
	for i, r := range s {
		if r == '@' && !isHandleRune(prev) {
			if next, _ := utf8.DecodeRuneInString(s[i+1:]); isHandleRune(next) {
				return true
			}
		}
		prev = r
	}
	return false
}

func isHandleRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r)
}

// isPlainWord reports whether a whitespace-separated field is made of ASCII
// letters only: an ordinary word that Clean must keep as it is.
func isPlainWord(f string) bool {
	for _, r := range f {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') {
			return false
		}
	}
	return f != ""
}

// The regular expressions the cleaning scanners replace, their
// specification: FuzzCleanScanners and TestCleanScannersCorpus hold each
// scanner to ReplaceAllString with its expression.
var (
	// reURL matches links with a scheme or a www. prefix, up to the next
	// space. Truncated links ("http://t.co/…") are matched too.
	reURL = regexp.MustCompile(`(?i)\b(?:https?://|www\.)\S*`)

	// reHandle matches an @handle (with a possessive 's) that follows the
	// start of the text or a character that cannot be part of a word;
	// handles glued together ("@a@b") go as one.
	reHandle = regexp.MustCompile(`(^|[^\p{L}\p{N}_])(?:@[\p{L}\p{M}\p{N}_]+(?:['’][sS])?)+`)

	// reHashtag matches the '#' signs of a hashtag and what surrounds them.
	reHashtag = regexp.MustCompile(`(^|[^\p{L}\p{N}_@])#+([\p{L}\p{N}_])`)
)

// checkCleanScanners compares each scanner with its regular expression on s.
func checkCleanScanners(t *testing.T, s string) {
	t.Helper()
	if got, want := removeURLs(s), reURL.ReplaceAllString(s, " "); got != want {
		t.Errorf("removeURLs(%q) = %q, regexp %q", s, got, want)
	}
	if got, want := removeHandles(s), reHandle.ReplaceAllString(s, "$1 "); got != want {
		t.Errorf("removeHandles(%q) = %q, regexp %q", s, got, want)
	}
	if got, want := dropHashes(s), reHashtag.ReplaceAllString(s, "$1$2"); got != want {
		t.Errorf("dropHashes(%q) = %q, regexp %q", s, got, want)
	}
	if got, want := collapseSpace(s), strings.Join(strings.Fields(s), " "); got != want {
		t.Errorf("collapseSpace(%q) = %q, strings.Fields %q", s, got, want)
	}
}

// TestCleanScanners pins the cases where the expressions' semantics are
// easy to get wrong: the start-of-text alternative, a '#' or '@' as the
// character before a match, glued handles, possessives, the long s that
// (?i) folds to 's', and word boundaries.
func TestCleanScanners(t *testing.T) {
	for _, s := range []string{
		"", "@", "#", "@@a", "x@@a", "@a @b", "@a's@b", "@ab'sx", "@ab’S and", "@ab’", "@ab'", "a@b", "é@b",
		"#a", "##a", "a##b", "#a#b", " #a", "@#a", "x #_y", "#", "# a", "#é", "\u0301#a", "\u0301@a",
		"http://x", "HTTPS://x y", "httpſ://x y", "ahttp://x", "_www.x", "-www.x", "www.", "www", "see www.x.com, ok",
		"http:/x", "https:x", "httpsx://", "http://\u00a0x y", "é http://x", "a\thttp://x\nb",
		"  a  b ", "a\u00a0b", "a\u0085b", "a b", "a\tb", "a\v", "\u2003",
		"@united I can't #fail http://t.co/x!! @Delta's", "@丸の内 #東京 ok",
	} {
		checkCleanScanners(t, s)
	}
}

// TestCleanScannersCorpus compares the scanners with the expressions on
// every dataset text.
func TestCleanScannersCorpus(t *testing.T) {
	for _, s := range allTexts(t) {
		checkCleanScanners(t, s)
		if t.Failed() {
			return
		}
	}
}

// FuzzCleanScanners compares the scanners with the expressions on
// arbitrary strings.
func FuzzCleanScanners(f *testing.F) {
	for _, s := range []string{"@a's@b #x http://y", "x@@a ##b", "httpſ://x", "\xff@a#\xffb"} {
		f.Add(s)
	}
	f.Fuzz(checkCleanScanners)
}

// TestCleanScannersLinear feeds the scanners the 64 KiB inputs on which a
// naive scan retries a long failed match at every position; each must still
// agree with its expression. A scan that retried would take minutes here.
func TestCleanScannersLinear(t *testing.T) {
	for _, s := range []string{
		strings.Repeat("#", 64<<10) + "!", strings.Repeat(" #", 32<<10), strings.Repeat("@", 64<<10) + "a",
		strings.Repeat("@a", 32<<10), strings.Repeat("http", 16<<10), strings.Repeat("ab#", 20<<10) + "#",
	} {
		checkCleanScanners(t, s)
	}
}
