package wordvec

import (
	"sort"
	"strings"
	"unicode/utf8"
)

//go:generate go run gen_unicode.go

// llama.cpp code point flags (unicode.h, unicode_cpt_flags).
const (
	flagPunctuation = 0x0020
	flagSymbol      = 0x0040
	flagControl     = 0x0080
)

// asciiClass caches the pre-tokenizer's decision for the ASCII range, which
// is nearly all of the training text.
var asciiClass = func() (c [utf8.RuneSelf]uint8) {
	for r := range rune(utf8.RuneSelf) {
		c[r] = classify(r)
	}
	return c
}()

const (
	classAppend = iota // part of the current word
	classSpace         // ends the current word
	classDrop          // ignored: NUL, U+FFFD, control and format characters
	classAlone         // a word of its own: punctuation, ASCII symbols, CJK ideographs
)

// classify mirrors the branches of llm_tokenizer_wpm_session::preprocess for
// one code point that has already been through nfd.
func classify(r rune) uint8 {
	if isWhitespace(r) {
		return classSpace
	}
	f := cptFlags(r)
	if r == 0 || r == utf8.RuneError || f&flagControl != 0 {
		return classDrop
	}
	if f&flagPunctuation != 0 || (r < 0x7F && f&flagSymbol != 0) || isChineseChar(r) {
		return classAlone
	}
	return classAppend
}

// Tokenize splits text into the words llama.cpp's WordPiece (WPM) tokenizer
// looks up, in Ollama v0.6.5's bert models, so that the vocabulary trained
// here is the vocabulary the server can find:
//
//   - each code point goes through llama.cpp's "NFD", which maps a precomposed
//     character to its base character only ("é" becomes "e", so accents are in
//     effect stripped; combining marks already in the text are kept);
//   - then it is lowercased with llama.cpp's table;
//   - whitespace ends a word; NUL, U+FFFD (also what invalid UTF-8 decodes to)
//     and control or format characters (Unicode C*, such as U+200D) are dropped
//     without ending a word;
//   - every punctuation character (P*), ASCII symbol ($+<=>^`|~) and CJK
//     ideograph is a word of its own; other symbols, emoji included, stay
//     inside the word they touch.
//
// "I'm" gives i ' m and "£50" gives £50. Special tokens such as "[SEP]" are not
// recognised here; Model.Embed handles them as the server does.
func Tokenize(text string) []string {
	var words []string
	scanWords(text, func(word []byte, _ int) bool {
		words = append(words, string(word))
		return true
	})
	return words
}

// scanWords runs the pre-tokenizer Tokenize describes over text, calling fn
// with each word (valid only during the call) and the byte offset in text
// just past the word's last character. It stops early if fn returns false.
func scanWords(text string, fn func(word []byte, end int) bool) {
	var buf []byte
	wordEnd := 0
	for i, r := range text {
		var class uint8
		if r < utf8.RuneSelf {
			class = asciiClass[r]
			if class == classAppend && 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
		} else {
			r = nfd(r)
			class = classify(r)
			if class == classAppend || class == classAlone {
				r = toLower(r)
			}
		}
		switch class {
		case classSpace:
			if len(buf) > 0 {
				if !fn(buf, wordEnd) {
					return
				}
				buf = buf[:0]
			}
		case classAppend:
			buf = utf8.AppendRune(buf, r)
			_, size := utf8.DecodeRuneInString(text[i:])
			wordEnd = i + size
		case classAlone:
			if len(buf) > 0 {
				if !fn(buf, wordEnd) {
					return
				}
				buf = buf[:0]
			}
			_, size := utf8.DecodeRuneInString(text[i:])
			if !fn(utf8.AppendRune(buf, r), i+size) {
				return
			}
		}
	}
	if len(buf) > 0 {
		fn(buf, wordEnd)
	}
}

// MaxTokens is the most tokens of a text the served model embeds as a whole.
// Ollama v0.6.5 adds [CLS] and [SEP] and runs a BERT model in batches of 512
// tokens, pooling only the last batch, so a longer input comes back as the
// embedding of its tail. Truncate cuts texts to this length first.
const MaxTokens = 510

// Truncate returns the longest prefix of text that any model of this
// package turns into at most MaxTokens tokens, cut at the end of a word, so
// that the server embeds it whole. It does not know the vocabulary, so it
// counts each word as the most tokens it can become: one per character,
// which is what an unknown word covered by one-character pieces takes.
// Texts of at most MaxTokens bytes are returned unchanged; longer ones may
// be cut earlier than needed. [Model.Truncate] counts exactly.
func Truncate(text string) string {
	return truncate(text, func(word []byte) int { return utf8.RuneCount(word) })
}

// Truncate is the package's Truncate with the exact token count of m's
// vocabulary: the longest prefix of text, cut at the end of a token, that
// the served tokenizer turns into at most MaxTokens tokens.
func (m *Model) Truncate(text string) string {
	ix, err := m.tokens()
	if err != nil {
		return Truncate(text)
	}
	var scratch []int32
	var word []byte
	return truncate(text, func(w []byte) int {
		word = append(append(word[:0], wordPiecePrefix...), w...)
		scratch = ix.appendWord(scratch[:0], string(word))
		return len(scratch)
	})
}

// truncate cuts text after at most MaxTokens tokens, counting a word's
// tokens with count and a special token text as one.
func truncate(text string, count func(word []byte) int) string {
	if len(text) <= MaxTokens {
		return text // every token takes at least one byte
	}
	n, end, base := 0, 0, 0
	rest := text
	for {
		frag, special, after := cutSpecial(rest)
		full := false
		scanWords(frag, func(word []byte, wordEnd int) bool {
			c := count(word)
			if n+c > MaxTokens {
				full = true
				return false
			}
			n, end = n+c, base+wordEnd
			return true
		})
		if full || special < 0 {
			if !full {
				return text
			}
			return text[:end]
		}
		if n+1 > MaxTokens {
			return text[:end]
		}
		n++
		base += len(frag) + len(specialTokens[special])
		end = base
		rest = after
	}
}

// cptFlags returns llama.cpp's category flags for r.
func cptFlags(r rune) uint16 {
	if r < 0 || r >= 0x110000 {
		return 0x0001 // undefined
	}
	i := sort.Search(len(cptFlagRanges), func(i int) bool { return cptFlagRanges[i].start > uint32(r) }) - 1
	return cptFlagRanges[i].flags
}

func isWhitespace(r rune) bool {
	for _, w := range whitespaceCpts {
		if uint32(r) == w {
			return true
		}
	}
	return false
}

// nfd is llama.cpp's unicode_cpts_normalize_nfd for one code point: the
// first code point of the canonical decomposition, nothing else.
func nfd(r rune) rune {
	i := sort.Search(len(nfdRanges), func(i int) bool { return nfdRanges[i][0] > uint32(r) }) - 1
	if i >= 0 && nfdRanges[i][0] <= uint32(r) && uint32(r) <= nfdRanges[i][1] {
		return rune(nfdRanges[i][2])
	}
	return r
}

// toLower is llama.cpp's unicode_tolower.
func toLower(r rune) rune {
	i := sort.Search(len(lowercasePairs), func(i int) bool { return lowercasePairs[i][0] >= uint32(r) })
	if i < len(lowercasePairs) && lowercasePairs[i][0] == uint32(r) {
		return rune(lowercasePairs[i][1])
	}
	return r
}

// isChineseChar is llm_tokenizer_wpm_session::is_chinese_char, including its
// 0x2B920 lower bound that copies the Hugging Face tokenizer.
func isChineseChar(r rune) bool {
	return (r >= 0x04E00 && r <= 0x09FFF) ||
		(r >= 0x03400 && r <= 0x04DBF) ||
		(r >= 0x20000 && r <= 0x2A6DF) ||
		(r >= 0x2A700 && r <= 0x2B73F) ||
		(r >= 0x2B740 && r <= 0x2B81F) ||
		(r >= 0x2B920 && r <= 0x2CEAF) ||
		(r >= 0x0F900 && r <= 0x0FAFF) ||
		(r >= 0x2F800 && r <= 0x2FA1F)
}

// wordPiecePrefix is the "phantom space" llama.cpp puts in front of every word
// before looking it up; whole-word vocabulary entries carry it.
const wordPiecePrefix = "\u2581"

// specialTokens are the control tokens of the GGUF vocabulary, in id order.
// With parse_special (which Ollama always sets) llama.cpp cuts them out of the
// raw text before pre-tokenizing, case-sensitively.
var specialTokens = [...]string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}

const (
	padID = iota
	unkID
	clsID
	sepID
	maskID
	firstWordID
)

// cutSpecial splits text at its first special token text: the raw text
// before it, its id (-1 if there is none) and the text after it. No special
// token text can overlap another, so cutting leftmost first gives the
// fragments llama.cpp's token partition gives.
func cutSpecial(text string) (before string, id int32, after string) {
	first, firstID := len(text), int32(-1)
	for i, sp := range specialTokens {
		if p := strings.Index(text[:min(len(text), first+len(sp))], sp); p >= 0 && p < first {
			first, firstID = p, int32(i)
		}
	}
	if firstID < 0 {
		return text, -1, ""
	}
	return text[:first], firstID, text[first+len(specialTokens[firstID]):]
}

// Split cuts text into pieces that any model of this package embeds whole,
// counting words as Truncate does: at the last sentence end (., !, ? or a
// line break, then white space) that keeps a piece at least half full, else
// at a word boundary. A text that fits is returned whole, and the pieces
// together hold every token of text. Callers embed the pieces and combine
// their vectors instead of losing the tail. [Model.Split] cuts less often,
// counting exactly.
func Split(text string) []string { return split(text, Truncate) }

// Split is the package's Split with m's exact token count.
func (m *Model) Split(text string) []string { return split(text, m.Truncate) }

func split(text string, truncate func(string) string) []string {
	var out []string
	for {
		head := truncate(text)
		if len(head) == len(text) || len(head) == 0 {
			return append(out, text)
		}
		cut := len(head)
		if i := lastSentenceEnd(head); i >= len(head)/2 {
			cut = i
		}
		out = append(out, text[:cut])
		text = text[cut:]
	}
}

// lastSentenceEnd returns the offset just after the last sentence-ending
// character of s that is followed by white space, or -1.
func lastSentenceEnd(s string) int {
	for i := len(s) - 2; i >= 0; i-- {
		switch s[i] {
		case '.', '!', '?', '\n':
			if s[i+1] == ' ' || s[i+1] == '\n' || s[i+1] == '\t' || s[i+1] == '\r' {
				return i + 1
			}
		}
	}
	return -1
}
