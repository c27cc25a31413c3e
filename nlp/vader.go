package nlp

import (
	"math"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/jonreiter/govader"
)

// lexScorer computes exactly what govader's PolarityScores computes, from
// govader's own lexicon, emoji descriptions, booster words and idioms, at a
// fraction of the cost.
//
// govader is a faithful port of Python's vaderSentiment, and the sentiment
// model reads its scores as features, so its results must not change by a
// bit. But it pays for every text in ways that have nothing to do with the
// algorithm: one string allocation per input character (to look the
// character up among the emoji), two regular expressions per word (to tell
// an ALL-CAPS word), a lowercased copy of every word made twice, an n-gram
// string built five times for every sentiment word, a gonum vector to add up
// a slice, and a fresh one-element slice for each negation check. Measured on
// the airline tweets and VADER's own corpora, that was a third of the whole
// sentiment path (BenchmarkLexScorer against BenchmarkGovader).
//
// lexScorer runs the same steps in the same order on the same data, with
// the same floating-point operations, so the scores are identical, not close:
// TestLexScorerMatchesGovader compares all four scores bit for bit on every
// text of the public datasets, and FuzzLexScorer on arbitrary strings.
//
// It only reads its tables after construction, so one lexScorer is safe for
// concurrent use.
type lexScorer struct {
	lexicon  map[string]float64
	boosters map[string]float64
	idioms   map[string]float64 // govader's special-case idioms
	negate   map[string]bool
	// emoji maps a single-rune emoji to its description. govader looks up
	// one rune at a time, so longer keys (flags, skin tones) never match.
	emoji map[rune]string
	// idiomWords are the words of the multi-word idioms and boosters. An
	// n-gram of words none of which is here cannot be one of them, so most
	// sentiment words skip building and looking up eight n-grams.
	idiomWords map[string]bool
	// entries holds, for every word of the lexicon, the boosters, the
	// negations and idiomWords, what the tables above say about it, so
	// that a word costs one lookup instead of four.
	entries map[string]lexEntry
}

// lexEntry is what VADER's tables say about one word.
type lexEntry struct {
	valence          float64 // in the lexicon with this valence, if inLex
	boost            float64 // a booster (or dampener) by this much, if booster
	inLex, booster   bool
	negates, inIdiom bool
}

// sharedLexScorer returns the lexScorer every Analyzer shares, built from
// govader's tables on first use.
var sharedLexScorer = sync.OnceValue(func() *lexScorer {
	return newLexScorer(govader.NewSentimentIntensityAnalyzer())
})

// newLexScorer builds a lexScorer from govader's tables.
func newLexScorer(v *govader.SentimentIntensityAnalyzer) *lexScorer {
	s := &lexScorer{
		lexicon:  v.Lexicon,
		boosters: v.Constants.BoosterDict,
		idioms:   v.Constants.SpecialCaseIdioms,
		negate:   make(map[string]bool, len(v.Constants.NegateList)),
		emoji:    make(map[rune]string),

		idiomWords: map[string]bool{},
	}
	for _, w := range v.Constants.NegateList {
		s.negate[w] = true
	}
	for _, m := range []map[string]float64{s.idioms, s.boosters} {
		for k := range m {
			if strings.Contains(k, " ") {
				for _, w := range strings.Split(k, " ") {
					s.idiomWords[w] = true
				}
			}
		}
	}
	s.entries = make(map[string]lexEntry, len(s.lexicon)+len(s.boosters))
	edit := func(w string, f func(*lexEntry)) {
		e := s.entries[w]
		f(&e)
		s.entries[w] = e
	}
	for w, v := range s.lexicon {
		edit(w, func(e *lexEntry) { e.valence, e.inLex = v, true })
	}
	for w, b := range s.boosters {
		edit(w, func(e *lexEntry) { e.boost, e.booster = b, true })
	}
	for w := range s.negate {
		edit(w, func(e *lexEntry) { e.negates = true })
	}
	for w := range s.idiomWords {
		edit(w, func(e *lexEntry) { e.inIdiom = true })
	}
	for k, d := range v.EmojiDict {
		// A key of one rune; an invalid byte decodes to U+FFFD too.
		if r, size := utf8.DecodeRuneInString(k); size == len(k) && !(r == utf8.RuneError && size == 1) {
			s.emoji[r] = d
		}
	}
	return s
}

// VADER's constants, as govader (and vaderSentiment) define them.
const (
	vaderCIncr      = 0.733 // ALL-CAPS emphasis
	vaderNScalar    = -0.74 // negation
	vaderAlpha      = 15    // normalisation of the compound score
	vaderScale1     = 0.95  // booster two words back
	vaderScale2     = 0.9   // booster three words back
	vaderEPScale    = 0.292 // per '!'
	vaderQMScale    = 0.18  // per '?'
	vaderMaxEP      = 4
	vaderMaxQM      = 0.96
	vaderNegScale   = 1.25 // "never so …"
	vaderButScale   = 0.5
	vaderPunctChars = "\"!#$%&'()*+,-./:;<=>?@[\\]^_`{|}~" // Python's string.punctuation
)

// lexWord is one whitespace-separated word of a text as VADER reads it.
type lexWord struct {
	w, lower string
	// upper: Python's str.isupper, an upper-case ASCII letter and no
	// lower-case one.
	upper bool
	// inLex says whether w itself (not lowercased) is in the lexicon, the
	// test govader applies to the words before a sentiment word.
	inLex bool
	// lowerInLex and valence: whether lower is in the lexicon, with what
	// valence.
	lowerInLex bool
	valence    float64
	// idiom: lower is a word of a multi-word idiom or booster.
	idiom bool
	// booster, boost: lower is a booster word, by boost.
	booster bool
	boost   float64
	// negates: lower negates what follows (VADER's list, or "n't" in it).
	negates bool
}

// polarity returns what govader's PolarityScores returns for text.
func (s *lexScorer) polarity(text string) govader.Sentiment {
	text = s.withEmojiDescribed(text)
	text = strings.TrimSpace(text)

	var stack [64]lexWord
	words := stack[:0]
	for rest := text; ; {
		tok, after, more := strings.Cut(rest, " ")
		// Strip punctuation from both ends unless fewer than three bytes
		// would be left (emoticons such as ":)" and ":-(" stay whole).
		if t := trimPunct(tok); len(t) >= 3 {
			tok = t
		}
		w := lexWord{w: tok, lower: strings.ToLower(tok), upper: isUpperASCII(tok)}
		e := s.entries[w.lower]
		w.valence, w.lowerInLex = e.valence, e.inLex
		w.booster, w.boost, w.idiom = e.booster, e.boost, e.inIdiom
		w.negates = e.negates || strings.Contains(w.lower, "n't")
		if w.lower == tok { // most words: one lookup serves both
			w.inLex = w.lowerInLex
		} else {
			w.inLex = s.entries[tok].inLex
		}
		words = append(words, w)
		if !more {
			break
		}
		rest = after
	}
	capDiff := false
	{
		caps := 0
		for _, w := range words {
			if w.upper {
				caps++
			}
		}
		diff := len(words) - caps
		capDiff = 0 < diff && diff < len(words)
	}

	var sstack [64]float64
	sentiments := sstack[:0]
	var buf [128]byte
	for i, w := range words {
		if w.booster {
			sentiments = append(sentiments, 0)
			continue
		}
		if i < len(words)-1 && w.lower == "kind" && words[i+1].lower == "of" {
			sentiments = append(sentiments, 0)
			continue
		}
		sentiments = append(sentiments, s.valence(words, i, capDiff, buf[:0]))
	}

	// "but" shifts the weight to what follows it.
	for bi, w := range words {
		if w.lower != "but" {
			continue
		}
		for i := range sentiments {
			if i < bi {
				sentiments[i] = (1 - vaderButScale) * sentiments[i]
			}
			if i > bi {
				sentiments[i] = (1 + vaderButScale) * sentiments[i]
			}
		}
		break
	}
	return scoreValence(sentiments, text)
}

// valence is govader's sentimentValence for the word at i.
func (s *lexScorer) valence(words []lexWord, i int, capDiff bool, buf []byte) float64 {
	w := words[i]
	if !w.lowerInLex {
		return 0
	}
	base := w.valence
	v := base
	if w.lower == "no" && i+1 < len(words) && words[i+1].lowerInLex {
		v = 0
	}
	if (i > 0 && words[i-1].lower == "no") ||
		(i > 1 && words[i-2].lower == "no") ||
		(i > 2 && words[i-3].lower == "no" && (words[i-1].lower == "or" || words[i-1].lower == "nor")) {
		v = base * vaderNScalar
	}
	if w.upper && capDiff {
		if v > 0 {
			v += vaderCIncr
		} else {
			v -= vaderCIncr
		}
	}
	for start := 0; start < 3; start++ {
		if i <= start || words[i-(start+1)].inLex {
			continue
		}
		prev := words[i-(start+1)]
		sc := s.scalarIncDec(prev, v, capDiff)
		if start == 1 && sc != 0 {
			sc = sc * vaderScale1
		}
		if start == 2 && sc != 0 {
			sc = sc * vaderScale2
		}
		v = v + sc
		v = s.negationCheck(v, words, start, i)
		if start == 2 {
			v = s.specialIdioms(v, words, i, buf)
		}
	}
	return leastCheck(v, words, i)
}

// scalarIncDec is how much a booster word before a sentiment word changes
// its valence.
func (s *lexScorer) scalarIncDec(prev lexWord, valence float64, capDiff bool) float64 {
	if !prev.booster {
		return 0
	}
	scalar := prev.boost
	if valence < 0 {
		scalar *= -1
	}
	if prev.upper && capDiff {
		if valence > 0 {
			scalar += vaderCIncr
		} else {
			scalar -= vaderCIncr
		}
	}
	return scalar
}

// negationCheck is govader's negationCheck, start words before i.
func (s *lexScorer) negationCheck(v float64, words []lexWord, start, i int) float64 {
	switch start {
	case 0:
		if words[i-1].negates {
			return v * vaderNScalar
		}
	case 1:
		switch {
		case words[i-2].lower == "never" && (words[i-1].lower == "so" || words[i-1].lower == "this"):
			return v * vaderNegScale
		case words[i-2].lower == "without" && words[i-1].lower == "doubt":
			return v
		case words[i-2].negates:
			return v * vaderNScalar
		}
	case 2:
		switch {
		case words[i-3].lower == "never" &&
			(words[i-2].lower == "so" || words[i-2].lower == "this" ||
				words[i-1].lower == "so" || words[i-1].lower == "this"):
			return v * vaderNegScale
		case words[i-3].lower == "without" && (words[i-2].lower == "doubt" || words[i-1].lower == "doubt"):
			return v
		case words[i-3].negates:
			return v * vaderNScalar
		}
	}
	return v
}

// specialIdioms is govader's specialIdiomsCheck: idioms ending at, around
// or starting at word i (i ≥ 3) replace its valence, and booster n-grams
// before it add to it. buf is scratch space for the n-grams; the map
// lookups convert it without allocating.
func (s *lexScorer) specialIdioms(v float64, words []lexWord, i int, buf []byte) float64 {
	// Every n-gram below is made of words i-3 … i+2; keys hold no word with
	// a space, so an n-gram matches a key only if all its words are words of
	// the key.
	near := false
	for j := i - 3; j <= i+2 && j < len(words); j++ {
		near = near || words[j].idiom
	}
	if !near {
		return v
	}
	for _, seq := range [...][3]int{{i - 1, i, -1}, {i - 2, i - 1, i}, {i - 2, i - 1, -1}, {i - 3, i - 2, i - 1}, {i - 3, i - 2, -1}} {
		buf = joinWords(buf[:0], words, seq)
		if x, ok := s.idioms[string(buf)]; ok {
			v = x
			break
		}
	}
	if len(words)-1 > i {
		buf = joinWords(buf[:0], words, [3]int{i, i + 1, -1})
		if x, ok := s.idioms[string(buf)]; ok {
			v = x
		}
	}
	if len(words)-1 > i+1 {
		buf = joinWords(buf[:0], words, [3]int{i, i + 1, i + 2})
		if x, ok := s.idioms[string(buf)]; ok {
			v = x
		}
	}
	for _, seq := range [...][3]int{{i - 3, i - 2, i - 1}, {i - 3, i - 2, -1}, {i - 2, i - 1, -1}} {
		buf = joinWords(buf[:0], words, seq)
		if x, ok := s.boosters[string(buf)]; ok {
			v = v + x
		}
	}
	return v
}

// joinWords appends the lowercased words at the indices in seq (up to -1)
// to b, separated by spaces.
func joinWords(b []byte, words []lexWord, seq [3]int) []byte {
	for k, j := range seq {
		if j < 0 {
			break
		}
		if k > 0 {
			b = append(b, ' ')
		}
		b = append(b, words[j].lower...)
	}
	return b
}

// leastCheck is govader's leastCheck. govader hands it the words as written,
// not lowercased, so "Least" does not count; neither does it here.
func leastCheck(v float64, words []lexWord, i int) float64 {
	if i > 1 && !words[i-1].inLex && words[i-1].w == "least" {
		if words[i-2].w != "at" && words[i-2].w != "very" {
			v = v * vaderNScalar
		}
	} else if i > 0 && !words[i-1].inLex && words[i-1].w == "least" {
		v = v * vaderNScalar
	}
	return v
}

// scoreValence is govader's scoreValence: the compound score and the
// positive, negative and neutral proportions.
func scoreValence(sentiments []float64, text string) govader.Sentiment {
	var out govader.Sentiment
	if len(sentiments) == 0 {
		return out
	}
	sum := 0.0
	for _, v := range sentiments {
		sum += v
	}
	ep := strings.Count(text, "!")
	if ep > vaderMaxEP {
		ep = vaderMaxEP
	}
	qm := 0.0
	if n := strings.Count(text, "?"); n > 1 {
		if n <= 3 {
			qm = float64(n) * vaderQMScale
		} else {
			qm = vaderMaxQM
		}
	}
	emph := float64(ep)*vaderEPScale + qm
	if sum > 0 {
		sum += emph
	} else if sum < 0 {
		sum -= emph
	}
	c := sum / math.Sqrt(sum*sum+vaderAlpha)
	if c < -1 {
		c = -1
	} else if c > 1 {
		c = 1
	}
	out.Compound = c

	pos, neg, neu := 0.0, 0.0, 0
	for _, v := range sentiments {
		if v > 0 {
			pos += v + 1
		}
		if v < 0 {
			neg += v - 1
		}
		if v == 0 {
			neu++
		}
	}
	if pos > math.Abs(neg) {
		pos += emph
	} else if pos < math.Abs(neg) {
		neg -= emph
	}
	total := pos + math.Abs(neg) + float64(neu)
	out.Positive = math.Abs(pos / total)
	out.Negative = math.Abs(neg / total)
	out.Neutral = math.Abs(float64(neu) / total)
	return out
}

// withEmojiDescribed replaces each emoji with its description, set off by a
// space from the word before it, as govader does; invalid UTF-8 becomes
// U+FFFD, as it does there. Text with neither comes back unchanged.
func (s *lexScorer) withEmojiDescribed(text string) string {
	i := 0
	for i < len(text) {
		if text[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		if _, ok := s.emoji[r]; ok || r == utf8.RuneError {
			break
		}
		i += size
	}
	if i == len(text) {
		return text
	}
	var b strings.Builder
	b.Grow(len(text) * 2)
	b.WriteString(text[:i])
	prevSpace := i == 0 || text[i-1] == ' '
	for _, r := range text[i:] {
		if d, ok := s.emoji[r]; ok {
			if !prevSpace {
				b.WriteByte(' ')
			}
			b.WriteString(d)
			prevSpace = false
			continue
		}
		b.WriteRune(r)
		prevSpace = r == ' '
	}
	return b.String()
}

// isVaderPunct marks the bytes of vaderPunctChars.
var isVaderPunct = func() (set [256]bool) {
	for i := 0; i < len(vaderPunctChars); i++ {
		set[vaderPunctChars[i]] = true
	}
	return set
}()

// trimPunct is strings.Trim(w, vaderPunctChars) without building the
// character set on every call.
func trimPunct(w string) string {
	i, j := 0, len(w)
	for i < j && isVaderPunct[w[i]] {
		i++
	}
	for j > i && isVaderPunct[w[j-1]] {
		j--
	}
	return w[i:j]
}

// isUpperASCII is govader's test for an ALL-CAPS word: an ASCII capital and
// no ASCII small letter.
func isUpperASCII(w string) bool {
	upper := false
	for i := 0; i < len(w); i++ {
		c := w[i]
		if 'a' <= c && c <= 'z' {
			return false
		}
		if 'A' <= c && c <= 'Z' {
			upper = true
		}
	}
	return upper
}
