package nlp

import (
	"html"
	"regexp"
	"strings"
	"unicode"
)

var (
	// reTag matches the HTML tags that turn up in scraped reviews and
	// tickets (<br />, <p>, <a href=…>). Only known tag names are matched so
	// that text such as "<love>" or the emoticons "<3" and "</3" survives.
	reTag = regexp.MustCompile(`(?i)</?(?:a|abbr|b|blockquote|br|code|del|div|em|font|h[1-6]|hr|i|img|ins|li|ol|p|pre|s|small|span|strike|strong|sub|sup|table|tbody|td|th|thead|tr|u|ul)(?:\s[^<>]*)?/?>`)

	// reURL matches links with a scheme or a www. prefix, up to the next
	// space. Truncated links ("http://t.co/…") are matched too.
	reURL = regexp.MustCompile(`(?i)\b(?:https?://|www\.)\S*`)

	// reHandle matches an @handle (with a possessive 's) that follows the
	// start of the text or a character that cannot be part of a word, as
	// Twitter's own mention rule does: "mail me@x.com" and "at the@very
	// least" are not mentions, so they are left alone. Handles may be in any
	// script, as on platforms other than Twitter. Handles glued together
	// ("@a@b") go as one, so that removing the first cannot turn the second
	// into a mention.
	reHandle = regexp.MustCompile(`(^|[^\p{L}\p{N}_])(?:@[\p{L}\p{M}\p{N}_]+(?:['’][sS])?)+`)

	// reHashtag matches the '#' signs of a hashtag; the word is kept because
	// it usually says what the text is about (#fail, #lostluggage). A '#'
	// after '@' stays, or dropping it would make a mention of "@#foo".
	reHashtag = regexp.MustCompile(`(^|[^\p{L}\p{N}_@])#+([\p{L}\p{N}_])`)
)

// Clean returns text as it should be embedded: @handles, URLs and HTML tags
// removed, HTML entities decoded (&amp; → &, &lt;3 → <3), the '#' of hashtags
// dropped but their words kept, invalid UTF-8 and control characters removed,
// whitespace collapsed to single spaces and trimmed.
//
// Mentions and links say who was addressed, not what about: left in, they
// would group texts by the account they were sent to instead of by their
// complaint. Case, punctuation, emoticons and emoji are kept, since they carry
// sentiment (see [Analyzer.Analyze]).
func Clean(text string) string {
	return dropHashes(sentimentText(text))
}

// sentimentText is Clean without dropping the '#' of hashtags: the text
// VADER scores. VADER strips punctuation from a word only when three or more
// characters remain, so "#fail" already reads as "fail" while "#FF" (Follow
// Friday) and "#np" (now playing) stay unscored; without the '#' they would
// hit the lexicon entries "ff" and "np".
func sentimentText(text string) string {
	text = strings.ToValidUTF8(text, "")
	// Decode entities first: Twitter sends "<" as "&lt;", so "&lt;3" must
	// become the emoticon "<3" before anything looks at the text.
	text = unescape(text)
	// Drop invisible characters before matching, so that none can hide a
	// mention or link from the patterns ("@\u200bunited").
	text = strings.Map(cleanRune, text)
	// The patterns are skipped when the byte each must start with is absent:
	// most texts have no tag, link or handle, and a regexp scan costs more
	// than the rest of cleaning.
	if strings.IndexByte(text, '<') >= 0 {
		text = reTag.ReplaceAllString(text, " ")
	}
	if hasURLStart(text) {
		text = reURL.ReplaceAllString(text, " ")
	}
	if strings.IndexByte(text, '@') >= 0 {
		text = reHandle.ReplaceAllString(text, "$1 ")
	}
	return strings.Join(strings.Fields(text), " ")
}

// hasURLStart reports whether text may hold a match of reURL: an "http" or
// "www." in any case.
func hasURLStart(text string) bool {
	for i := 0; i+4 <= len(text); i++ {
		c := text[i] | 0x20
		if c != 'h' && c != 'w' {
			continue
		}
		w := text[i : i+4]
		if strings.EqualFold(w, "http") || strings.EqualFold(w, "www.") {
			return true
		}
	}
	return false
}

// maxUnescapes bounds how many layers of HTML escaping are decoded: scraped
// text is sometimes escaped twice ("&amp;lt;3"), and each pass costs a copy.
const maxUnescapes = 3

// unescape decodes HTML entities, up to maxUnescapes layers deep.
func unescape(text string) string {
	for range maxUnescapes {
		if !strings.Contains(text, "&") {
			break
		}
		u := html.UnescapeString(text)
		if u == text {
			break
		}
		text = u
	}
	return text
}

// dropHashes drops the '#' signs of hashtags in text from sentimentText.
func dropHashes(text string) string {
	if !strings.Contains(text, "#") {
		return text
	}
	return reHashtag.ReplaceAllString(text, "$1$2")
}

// cleanRune maps control characters to spaces (strings.Fields then collapses
// them) and drops zero-width characters, which would split a word in two for
// the tokenizers downstream, and the replacement character, which stands for
// bytes that were not text.
func cleanRune(r rune) rune {
	switch {
	case unicode.IsControl(r):
		return ' '
	case r == '\u200b', r == '\u2060', r == '\ufeff': // zero-width space, word joiner, BOM
		return -1
	case r == '\ufffd': // replacement character, e.g. from "&#0;"
		return -1
	}
	return r
}
