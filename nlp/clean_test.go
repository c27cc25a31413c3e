package nlp

import (
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
