package nlp

import (
	"html"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

var (
	// reTag matches the HTML tags that turn up in scraped reviews and
	// tickets (<br />, <p>, <a href=…>). Only known tag names are matched so
	// that text such as "<love>" or the emoticons "<3" and "</3" survives.
	reTag = regexp.MustCompile(`(?i)</?(?:a|abbr|b|blockquote|br|code|del|div|em|font|h[1-6]|hr|i|img|ins|li|ol|p|pre|s|small|span|strike|strong|sub|sup|table|tbody|td|th|thead|tr|u|ul)(?:\s[^<>]*)?/?>`)

	// URLs, @handles and the '#' of hashtags are found by the scanners
	// below (removeURLs, removeHandles, dropHashes), each of which does what
	// one regular expression did, at a tenth of the cost; the expressions
	// are kept in clean_test.go, where FuzzCleanScanners holds the scanners
	// to them.
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
	// Printable ASCII, most text, is valid UTF-8 with nothing for cleanRune
	// to change; checking for it is cheaper than either pass.
	if !printableASCII(text) {
		text = strings.ToValidUTF8(text, "")
	}
	// Decode entities first: Twitter sends "<" as "&lt;", so "&lt;3" must
	// become the emoticon "<3" before anything looks at the text.
	text = unescape(text)
	// Drop invisible characters before matching, so that none can hide a
	// mention or link from the patterns ("@\u200bunited").
	if !printableASCII(text) {
		text = strings.Map(cleanRune, text)
	}
	// The patterns are skipped when the byte each must start with is absent:
	// most texts have no tag, link or handle, and a regexp scan costs more
	// than the rest of cleaning.
	if strings.IndexByte(text, '<') >= 0 {
		text = reTag.ReplaceAllString(text, " ")
	}
	if hasURLStart(text) {
		text = removeURLs(text)
	}
	if strings.IndexByte(text, '@') >= 0 {
		text = removeHandles(text)
	}
	return collapseSpace(text)
}

// printableASCII reports whether text is made of the ASCII characters from
// space to '~' only.
func printableASCII(text string) bool {
	for i := 0; i < len(text); i++ {
		if c := text[i]; c < ' ' || c > '~' {
			return false
		}
	}
	return true
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

// dropHashes drops the '#' signs of hashtags in text from sentimentText:
// a run of '#' that follows the start of the text or a character that is
// not a letter, digit, '_' or '@', and precedes a letter, digit or '_'. A
// '#' after '@' stays, or dropping it would make a mention of "@#foo". It
// replaces the regular expression (^|[^\p{L}\p{N}_@])#+([\p{L}\p{N}_])
// with "$1$2" (reHashtag in clean_test.go), matches taken leftmost first and
// not overlapping, as regexp takes them.
func dropHashes(text string) string {
	if strings.IndexByte(text, '#') < 0 {
		return text
	}
	var b strings.Builder
	copied := 0 // text[:copied] is in b
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		// A match starts at i with either the start of the text (an empty
		// $1, tried first) or the character at i as $1.
		keep, end := 0, -1
		if i == 0 {
			end = hashRun(text, 0)
		}
		if end < 0 && r != '@' && !isWordRune(r) {
			keep, end = size, hashRun(text, i+size)
		}
		if end < 0 && r == '#' {
			// No match starts anywhere in this run of '#' either: they
			// all end where it ends. Skipping it keeps the scan linear.
			j := strings.IndexFunc(text[i:], notHash)
			if j < 0 {
				break
			}
			i += j
			continue
		}
		if end < 0 {
			i += size
			continue
		}
		if b.Len() == 0 {
			b.Grow(len(text))
		}
		b.WriteString(text[copied : i+keep])
		// The '#' run goes; the character after it ($2) stays.
		copied = i + keep + strings.IndexFunc(text[i+keep:], notHash)
		i = end
	}
	if copied == 0 {
		return text
	}
	b.WriteString(text[copied:])
	return b.String()
}

func notHash(r rune) bool { return r != '#' }

// hashRun returns where a match of #+[\p{L}\p{N}_] that starts at text[j]
// ends, or -1 if none starts there.
func hashRun(text string, j int) int {
	k := j
	for k < len(text) && text[k] == '#' {
		k++
	}
	if k == j || k == len(text) {
		return -1
	}
	if r, size := utf8.DecodeRuneInString(text[k:]); isWordRune(r) {
		return k + size
	}
	return -1
}

// isWordRune reports whether r is a letter, a digit (\p{N}) or '_'.
func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_'
	}
	return unicode.IsLetter(r) || unicode.IsNumber(r)
}

// removeHandles replaces each @handle, with the character before it, by
// that character and a space. A handle is '@' and letters, marks, digits
// or '_', with an optional possessive 's; it must follow the start of the
// text or a character that cannot be part of a word, as Twitter's own
// mention rule says: "mail me@x.com" and "at the@very least" are not
// mentions. Handles glued together ("@a@b") go as one, so that removing
// the first cannot turn the second into a mention. It replaces the regular
// expression (^|[^\p{L}\p{N}_])(?:@[\p{L}\p{M}\p{N}_]+(?:['’][sS])?)+ with
// "$1 " (reHandle in clean_test.go), matches taken leftmost first and not
// overlapping, as regexp takes them.
func removeHandles(text string) string {
	var b strings.Builder
	copied := 0
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		keep := -1 // bytes of $1 kept before the space
		end := -1
		if i == 0 {
			if end = handleRun(text, 0); end >= 0 {
				keep = 0
			}
		}
		if end < 0 && !isWordRune(r) {
			if end = handleRun(text, i+size); end >= 0 {
				keep = size
			}
		}
		if end < 0 {
			i += size
			continue
		}
		if b.Len() == 0 {
			b.Grow(len(text))
		}
		b.WriteString(text[copied : i+keep])
		b.WriteByte(' ')
		copied, i = end, end
	}
	if copied == 0 {
		return text
	}
	b.WriteString(text[copied:])
	return b.String()
}

// handleRun returns where a run of handles (@[\p{L}\p{M}\p{N}_]+ with an
// optional possessive 's) that starts at text[j] ends, or -1 if none does.
func handleRun(text string, j int) int {
	end := -1
	for j < len(text) && text[j] == '@' {
		k := j + 1
		for k < len(text) {
			r, size := utf8.DecodeRuneInString(text[k:])
			if !isWordRune(r) && !unicode.Is(unicode.M, r) {
				break
			}
			k += size
		}
		if k == j+1 {
			break // '@' alone
		}
		// An apostrophe (' or ’) then s or S.
		if strings.HasPrefix(text[k:], "'") && k+1 < len(text) && (text[k+1]|0x20) == 's' {
			k += 2
		} else if strings.HasPrefix(text[k:], "’") && k+3 < len(text) && (text[k+3]|0x20) == 's' {
			k += 4
		}
		end, j = k, k
	}
	return end
}

// removeURLs replaces each link by a space: from "http://", "https://" or
// "www." in any case, at the start of a word, up to the next ASCII space.
// Truncated links ("http://t.co/…") go too. It replaces the regular
// expression (?i)\b(?:https?://|www\.)\S* with " " (reURL in clean_test.go).
func removeURLs(text string) string {
	var b strings.Builder
	copied := 0
	for i := 0; i < len(text); i++ {
		if i > 0 && isASCIIWordByte(text[i-1]) {
			continue
		}
		n := urlPrefix(text[i:])
		if n == 0 {
			continue
		}
		end := i + n
		for end < len(text) && !isPerlSpace(text[end]) {
			end++
		}
		if b.Len() == 0 {
			b.Grow(len(text))
		}
		b.WriteString(text[copied:i])
		b.WriteByte(' ')
		copied = end
		i = end - 1
	}
	if copied == 0 {
		return text
	}
	b.WriteString(text[copied:])
	return b.String()
}

// urlPrefix returns the length of the "http://", "https://" or "www." that
// s starts with, in any case, or 0. Like regexp's (?i), it takes the long s
// 'ſ' (U+017F) for an 's', since Unicode folds the two together.
func urlPrefix(s string) int {
	if len(s) >= 4 && strings.EqualFold(s[:3], "www") && s[3] == '.' {
		return 4
	}
	if len(s) < 7 || !strings.EqualFold(s[:4], "http") {
		return 0
	}
	rest := s[4:]
	n := 4
	switch {
	case rest[0] == 's' || rest[0] == 'S':
		rest, n = rest[1:], n+1
	case strings.HasPrefix(rest, "ſ"):
		rest, n = rest[len("ſ"):], n+len("ſ")
	}
	if strings.HasPrefix(rest, "://") {
		return n + 3
	}
	return 0
}

// isASCIIWordByte reports whether c is in regexp's \w: [0-9A-Za-z_].
func isASCIIWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
}

// isPerlSpace reports whether c is in regexp's \s: [\t\n\f\r ].
func isPerlSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}

// collapseSpace is strings.Join(strings.Fields(text), " "): runs of white
// space become one ASCII space and the ends are trimmed. Text that is
// already so comes back without a copy.
func collapseSpace(text string) string {
	clean := true
	prevSpace := true // at the start, a space would be leading
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			sp := asciiSpace[c]
			if sp && (prevSpace || c != ' ') {
				clean = false
				break
			}
			prevSpace = sp
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		if unicode.IsSpace(r) {
			clean = false
			break
		}
		prevSpace = false
		i += size
	}
	if clean && !prevSpace || text == "" {
		return text
	}
	var b strings.Builder
	b.Grow(len(text))
	pending := false // a space is owed before the next non-space
	for i := 0; i < len(text); {
		r, size := rune(text[i]), 1
		var sp bool
		if r < utf8.RuneSelf {
			sp = asciiSpace[r]
		} else {
			r, size = utf8.DecodeRuneInString(text[i:])
			sp = unicode.IsSpace(r)
		}
		if sp {
			pending = b.Len() > 0
		} else {
			if pending {
				b.WriteByte(' ')
				pending = false
			}
			b.WriteString(text[i : i+size])
		}
		i += size
	}
	return b.String()
}

// asciiSpace marks the ASCII characters unicode.IsSpace accepts.
var asciiSpace = [utf8.RuneSelf]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}

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
