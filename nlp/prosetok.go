package nlp

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// The tokenizer below is adapted from github.com/jdkato/prose/v2
// (tokenize.go, v2.0.0), Copyright (c) 2017-2018 Joseph Kato, MIT License.

// proseTokens appends to out the tokens that the word tokenizer of
// github.com/jdkato/prose/v2 (v2.0.0, iterTokenizer) gives for text, the
// same strings in the same order (TestProseTokensMatchProse), without what
// prose.NewDocument costs around it: a Document, a *Token per token, a
// regexp per split step and a fresh cache per text. prose splits the
// whitespace-free spans of its sanitized text one by one, and a span's
// tokens depend on the span alone, so they are cached here across texts
// (spans are mostly words, which recur), bounded as the stem cache is.
func proseTokens(text string, out []string) []string {
	clean := text
	// Every pattern of the sanitizer starts with '&' or 0xE2 (U+201C–U+2019).
	if strings.IndexByte(text, '&') >= 0 || strings.IndexByte(text, 0xE2) >= 0 {
		clean = proseSanitizer.Replace(text)
	}
	start := -1
	plain := true // clean[start:i] is letters and digits only
	for i, r := range clean {
		if r < utf8.RuneSelf && (r == ' ' || '\t' <= r && r <= '\r') || r >= utf8.RuneSelf && unicode.IsSpace(r) {
			if start >= 0 {
				out = appendSpan(out, clean[start:i], plain)
				start = -1
			}
			continue
		}
		if start < 0 {
			start, plain = i, true
		}
		if plain && !(r < utf8.RuneSelf && isASCIIAlnum(byte(r)) || r >= utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r))) {
			plain = false
		}
	}
	if start >= 0 {
		out = appendSpan(out, clean[start:], plain)
	}
	return out
}

// appendSpan appends the tokens of one whitespace-free span to out. A span
// of letters and digits alone is its one token: prose peels only
// punctuation, and the emoticons it keeps whole that have no punctuation
// ("8D", "xD") are words to it anyway. Only the rest need splitting, and
// the cache.
func appendSpan(out []string, span string, plain bool) []string {
	if plain {
		return append(out, span)
	}
	return append(out, proseSpans.split(span)...)
}

func isASCIIAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// proseSanitizer is prose's: curly quotes and &rsquo; become ASCII.
var proseSanitizer = strings.NewReplacer(
	"\u201c", `"`,
	"\u201d", `"`,
	"\u2018", "'",
	"\u2019", "'",
	"&rsquo;", "'")

// spanCache memoises proseSplit by span; safe for concurrent use.
type spanCache struct {
	mu sync.RWMutex
	m  map[string][]string
}

var proseSpans = &spanCache{m: map[string][]string{}}

// maxCachedSpans bounds the spans cached, as maxCachedStems bounds stems.
const maxCachedSpans = 1 << 17

// split returns the tokens of one whitespace-free span; the caller must
// not modify the slice.
func (c *spanCache) split(span string) []string {
	c.mu.RLock()
	toks, ok := c.m[span]
	c.mu.RUnlock()
	if ok {
		return toks
	}
	span = strings.Clone(span)
	toks = proseSplit(span)
	c.mu.Lock()
	if len(c.m) < maxCachedSpans {
		c.m[span] = toks
	}
	c.mu.Unlock()
	return toks
}

var (
	proseSuffixes = []string{",", ")", `"`, "]", "!", ";", ".", "?", ":", "'"}
	prosePrefixes = []string{"$", "(", `"`, "["}
	proseClitics  = []string{"'ll", "'s", "'re", "'m"}
	proseNegation = []string{"n't"}
)

// proseSplit is prose's doSplit: it peels prefixes, clitics and suffixes
// off a whitespace-free span, step by step, until a step changes nothing,
// keeping emoticons and abbreviations ("U.S.", "Dr.") whole. Its quirks
// are prose's and kept: a clitic at the start of what is left ends the
// span there, dropping the rest ("can't." gives only "ca"). One is not:
// where lowercasing changes a span's length, clitics are looked for in
// the span itself, where prose would cut at the wrong place or panic.
func proseSplit(token string) []string {
	var tokens, suffs []string
	add := func(s string) {
		if strings.TrimSpace(s) != "" {
			tokens = append(tokens, s)
		}
	}
	last := 0
	for token != "" && utf8.RuneCountInString(token) != last {
		if proseSpecial(token) {
			add(token)
			break
		}
		last = utf8.RuneCountInString(token)
		lower := strings.ToLower(token)
		if len(lower) != len(token) {
			// prose cuts token at indexes found in lower, which is wrong
			// when lowercasing changed lengths ("Ⱥ" → "ⱥ" grows a byte;
			// an invalid byte becomes U+FFFD) and panics when the index
			// falls past the end ("ȺȺȺȺ.'s"). The clitics are ASCII, so
			// lowercasing ASCII alone finds them at token's own indexes.
			lower = asciiLower(token)
		}
		if hasAnyPrefix(token, prosePrefixes) {
			add(token[:1])
			token = token[1:]
		} else if idx := hasAnyIndex(lower, proseClitics); idx > -1 {
			add(token[:idx])
			token = token[idx:]
		} else if idx := hasAnyIndex(lower, proseNegation); idx > -1 {
			add(token[:idx])
			token = token[idx:]
		} else if hasAnySuffix(token, proseSuffixes) {
			suffs = append(suffs, token[len(token)-1:])
			token = token[:len(token)-1]
		} else {
			add(token)
		}
	}
	// Suffixes were peeled from the end inwards.
	for i := len(suffs) - 1; i >= 0; i-- {
		tokens = append(tokens, suffs[i])
	}
	return tokens
}

// asciiLower lowercases the ASCII letters of s and keeps every other byte.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if len(s) > len(p) && strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func hasAnySuffix(s string, suffixes []string) bool {
	for _, p := range suffixes {
		if len(s) > len(p) && strings.HasSuffix(s, p) {
			return true
		}
	}
	return false
}

// hasAnyIndex returns where in s the first of subs (in their order) that
// occurs does, if s is longer than it; else -1.
func hasAnyIndex(s string, subs []string) int {
	for _, p := range subs {
		if idx := strings.Index(s, p); idx >= 0 && len(s) > len(p) {
			return idx
		}
	}
	return -1
}

// proseSpecial is prose's isSpecial: one of its emoticons, or a match of
// ^(?:[A-Za-z]\.){2,}$|^[A-Z][a-z]{1,2}\.$ ("U.S.", "a.m.", "Dr.", "Mrs.").
func proseSpecial(t string) bool {
	if _, ok := proseEmoticons[t]; ok {
		return true
	}
	isLetter := func(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
	if n := len(t); n >= 4 && n%2 == 0 {
		dotted := true
		for i := 0; i < n; i += 2 {
			if !isLetter(t[i]) || t[i+1] != '.' {
				dotted = false
				break
			}
		}
		if dotted {
			return true
		}
	}
	if n := len(t); (n == 3 || n == 4) && 'A' <= t[0] && t[0] <= 'Z' && t[n-1] == '.' {
		for i := 1; i < n-1; i++ {
			if t[i] < 'a' || t[i] > 'z' {
				return false
			}
		}
		return true
	}
	return false
}

// proseEmoticons are prose's emoticons, kept whole.
var proseEmoticons = map[string]bool{
	"(-8": true, "(-;": true, "(-_-)": true, "(._.)": true, "(:": true, "(=": true,
	"(o:": true, "(¬_¬)": true, "(ಠ_ಠ)": true, "(╯°□°）╯︵┻━┻": true, "-__-": true,
	"8-)": true, "8-D": true, "8D": true, ":(": true, ":((": true, ":(((": true,
	":()": true, ":)))": true, ":-)": true, ":-))": true, ":-)))": true, ":-*": true,
	":-/": true, ":-X": true, ":-]": true, ":-o": true, ":-p": true, ":-x": true,
	":-|": true, ":-}": true, ":0": true, ":3": true, ":P": true, ":]": true,
	":`(": true, ":`)": true, ":`-(": true, ":o": true, ":o)": true, "=(": true,
	"=)": true, "=D": true, "=|": true, "@_@": true, "O.o": true, "O_o": true,
	"V_V": true, "XDD": true, "[-:": true, "^___^": true, "o_0": true, "o_O": true,
	"o_o": true, "v_v": true, "xD": true, "xDD": true, "¯\\(ツ)/¯": true,
}
