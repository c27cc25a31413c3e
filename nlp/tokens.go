package nlp

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// heldApostrophe stands in for an apostrophe inside a word while prose
// tokenizes. MODIFIER LETTER APOSTROPHE is a letter, so prose neither splits
// on it nor trims it.
const heldApostrophe = 'ʼ' // U+02BC

// separateLeadingApostrophes puts a space after each apostrophe (', ’ or ʼ)
// that opens a word, at the start of s or after an ASCII space character
// (\t \n \f \r or space): what replacing `(^|\s)(['’ʼ])` with "$1$2 " does
// (TestSeparateLeadingApostrophes), without a regexp.
func separateLeadingApostrophes(s string) string {
	if !strings.ContainsAny(s, "'’ʼ") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	done := 0 // s[:done] is written
	for i, r := range s {
		if (r == '\'' || r == '’' || r == 'ʼ') && (i == 0 || isASCIISpace(s[i-1])) {
			end := i + utf8.RuneLen(r)
			b.WriteString(s[done:end])
			b.WriteByte(' ')
			done = end
		}
	}
	b.WriteString(s[done:])
	return b.String()
}

// isASCIISpace reports whether c is in RE2's \s: \t \n \f \r or space.
func isASCIISpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}

// maxSpanRunes bounds the length of a space-free run handed to prose. Its
// tokenizer peels punctuation off a word one character at a time, each step
// copying the rest, so a 64 KiB run of "!" takes minutes; cut into runs of
// this length it takes milliseconds. No real word is this long.
const maxSpanRunes = 64

// tokenize returns the lowercased word tokens of clean text: prose's tokens,
// with contractions kept whole ("can't"), words glued by punctuation split
// ("iPad.don't"), punctuation trimmed from both ends and punctuation-only
// tokens and emoticons dropped.
func tokenize(clean string) []string {
	if clean == "" {
		return nil
	}
	text := prepare(clean)
	var rawStack [64]string
	raw := proseTokens(text, rawStack[:0])

	out := make([]string, 0, len(raw))
	for _, t := range raw {
		for _, part := range splitGlued(t) {
			if w := word(part); w != "" {
				out = append(out, w)
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// prepare readies clean text for the prose v2.0.0 tokenizer, working around
// the ways it loses text or time.
//
// prose splits the clitics n't, 's, 'll, 're and 'm off a word, but when more
// characters follow the clitic ("can't.", "it's,", "O'Reilly") it drops the
// clitic and everything after it: "I can't." becomes ["I", "ca"], losing the
// negation. An apostrophe between two letters is therefore held as U+02BC,
// which prose does not split on, so the word comes out whole ("can't") and
// [word] restores the apostrophe. prose also drops a word that opens with
// such a clitic ("'sup", "'more'"), so an opening apostrophe is separated
// from its word.
//
// Runs longer than maxSpanRunes are cut with a space.
func prepare(s string) string {
	s = separateLeadingApostrophes(s)
	var b strings.Builder
	b.Grow(len(s) + len(s)/maxSpanRunes + 8)
	prev, span := rune(0), 0
	for i, r := range s {
		if unicode.IsSpace(r) {
			span = 0
		} else if span++; span > maxSpanRunes {
			b.WriteByte(' ')
			span = 1
		}
		if (r == '\'' || r == '’') && unicode.IsLetter(prev) {
			if next, _ := utf8.DecodeRuneInString(s[i+utf8.RuneLen(r):]); unicode.IsLetter(next) {
				r = heldApostrophe
			}
		}
		b.WriteRune(r)
		prev = r
	}
	return b.String()
}

// splitGlued splits a token where clause punctuation joins two words with no
// space after it, as hurried text often does: "iPad.don't", "full.don't",
// "12:00,don't", "answering..don't", "didn't…but". A single period or colon
// splits only between runs of two or more letters or digits, so "u.s.",
// "a.m.", "8:23" and "2.5" stay whole; so do tokens with an '@' (addresses).
func splitGlued(tok string) []string {
	if !strings.ContainsAny(tok, ".,;:!?…") || strings.Contains(tok, "@") {
		return []string{tok}
	}
	var parts []string
	start := 0
	for i := 0; i < len(tok); {
		r, size := utf8.DecodeRuneInString(tok[i:])
		if !isClausePunct(r) {
			i += size
			continue
		}
		// [i, j) is a run of clause punctuation.
		j, n, ellipsis := i, 0, false
		for j < len(tok) {
			p, sz := utf8.DecodeRuneInString(tok[j:])
			if !isClausePunct(p) {
				break
			}
			ellipsis = ellipsis || p == '…'
			n++
			j += sz
		}
		if gluesWords(tok, start, i, j, n, ellipsis) {
			parts = append(parts, tok[start:i])
			start = j
		}
		i = j
	}
	return append(parts, tok[start:])
}

// gluesWords reports whether the punctuation run tok[i:j] of n runes, inside
// the part that starts at start, joins two words.
func gluesWords(tok string, start, i, j, n int, ellipsis bool) bool {
	if i == start || j == len(tok) {
		return false
	}
	left, _ := utf8.DecodeLastRuneInString(tok[start:i])
	right, _ := utf8.DecodeRuneInString(tok[j:])
	if !unicode.IsLetter(right) || !isAlnum(left) {
		return false
	}
	if ellipsis || n > 1 || (tok[i] != '.' && tok[i] != ':') {
		return true
	}
	return alnumRunBefore(tok[start:i]) >= 2 && alnumRunAfter(tok[j:]) >= 2
}

func isClausePunct(r rune) bool { return strings.ContainsRune(".,;:!?…", r) }

func isAlnum(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) }

// alnumRunBefore counts the letters and digits that end s.
func alnumRunBefore(s string) int {
	n := 0
	for len(s) > 0 {
		r, size := utf8.DecodeLastRuneInString(s)
		if !isAlnum(r) {
			break
		}
		n++
		s = s[:len(s)-size]
	}
	return n
}

// alnumRunAfter counts the letters and digits that start s.
func alnumRunAfter(s string) int {
	n := 0
	for _, r := range s {
		if !isAlnum(r) {
			break
		}
		n++
	}
	return n
}

// word turns one prose token into a word token: lowercased, apostrophes
// restored to ASCII, non-letters and non-digits trimmed from both ends, the
// final period of an abbreviation such as "u.s." kept. It returns "" for
// tokens that are not words: punctuation, and emoticons such as "<3", ":3"
// or ":D" that trimming would leave as a lone digit or letter.
func word(tok string) string {
	w := strings.ToLower(strings.ReplaceAll(tok, string(heldApostrophe), "'"))
	t := strings.TrimFunc(w, notWordRune)
	if strings.IndexFunc(t, isAlnum) < 0 { // punctuation, symbols, lone marks
		return ""
	}
	if t != w && (!hasLetter(t) && !isNumberLike(w) || utf8.RuneCountInString(t) == 1) {
		return ""
	}
	// Keep the period that ends a dotted abbreviation: "u.s" is not a word,
	// and stemming it would give "u.".
	if strings.Contains(t, ".") {
		if i := strings.Index(w, t) + len(t); i < len(w) && w[i] == '.' {
			t += "."
		}
	}
	return t
}

// isNumberLike reports whether a token made only of digits and the signs
// that go with numbers ("$100", "20%", "2:30", "-5") is a number rather than
// an emoticon.
func isNumberLike(s string) bool {
	for _, r := range s {
		if !unicode.IsDigit(r) && !strings.ContainsRune("$€£%.,:/+-", r) {
			return false
		}
	}
	return true
}

func hasLetter(s string) bool {
	return strings.IndexFunc(s, unicode.IsLetter) >= 0
}

// notWordRune reports whether r can be trimmed from the ends of a token.
// Combining marks stay: in decomposed text the accent of "café" is one.
func notWordRune(r rune) bool {
	return !unicode.IsLetter(r) && !unicode.IsNumber(r) && !unicode.IsMark(r)
}

// isContent reports whether a token of text in language lang may name a
// topic: it has a letter, more than one rune and is not a stop word of the
// language.
func isContent(lang, tok string) bool {
	return hasLetter(tok) && utf8.RuneCountInString(tok) > 1 && !IsStopWordIn(lang, tok)
}
