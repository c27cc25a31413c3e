package embed

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// DefaultMaxChunkChars is the longest piece of a text sent to a third-party
// model as one input: about 375 tokens of English, under the 512-token
// context of the smallest common embedding models. The project's own model
// counts its limit in words instead (wordvec.Split).
const DefaultMaxChunkChars = 1500

// SplitSentences cuts text into chunks of at most maxRunes characters,
// ending chunks at sentence ends (., !, ? or a line break followed by
// space) where it can, else at a space, and inside a word only for a word
// longer than maxRunes. A text that fits is returned whole; no character
// except the white space at a cut is lost.
func SplitSentences(text string, maxRunes int) []string {
	if maxRunes < 1 || utf8.RuneCountInString(text) <= maxRunes {
		return []string{text}
	}
	var chunks []string
	var cur strings.Builder
	curRunes := 0
	flush := func() {
		if s := strings.TrimSpace(cur.String()); s != "" {
			chunks = append(chunks, s)
		}
		cur.Reset()
		curRunes = 0
	}
	for _, sent := range sentences(text) {
		n := utf8.RuneCountInString(sent)
		if curRunes > 0 && curRunes+n > maxRunes {
			flush()
		}
		if n <= maxRunes {
			cur.WriteString(sent)
			curRunes += n
			continue
		}
		// A sentence longer than a chunk: cut it at spaces, and a word
		// longer than a chunk anywhere.
		for _, w := range strings.SplitAfter(sent, " ") {
			for utf8.RuneCountInString(w) > maxRunes {
				flush()
				cut := byteOffset(w, maxRunes)
				chunks = append(chunks, w[:cut])
				w = w[cut:]
			}
			m := utf8.RuneCountInString(w)
			if curRunes+m > maxRunes {
				flush()
			}
			cur.WriteString(w)
			curRunes += m
		}
	}
	flush()
	if len(chunks) == 0 {
		return []string{text}
	}
	return chunks
}

// sentences splits text after each sentence end, keeping every character.
func sentences(text string) []string {
	var out []string
	start := 0
	runes := []rune(text)
	pos := 0 // byte offset of runes[i]
	for i, r := range runes {
		size := utf8.RuneLen(r)
		end := r == '.' || r == '!' || r == '?' || r == '\n'
		if end && (i+1 == len(runes) || unicode.IsSpace(runes[i+1])) {
			out = append(out, text[start:pos+size])
			start = pos + size
		}
		pos += size
	}
	if start < len(text) {
		out = append(out, text[start:])
	}
	return out
}

// byteOffset returns the byte offset of the n-th rune of s.
func byteOffset(s string, n int) int {
	for i := range s {
		if n == 0 {
			return i
		}
		n--
	}
	return len(s)
}
