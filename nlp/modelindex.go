package nlp

import (
	"math"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/jonreiter/govader"
)

// modelIndex arranges a Model's weights for scoring: the same weights,
// found by word rather than by feature name.
//
// Scoring a text by feature names makes four lookups per word in large
// string-keyed maps (the stem, whether it negates, its unigram, its bigram
// with the word before), each some scattered cache lines, and they were most
// of the cost of the sentiment path. Here each token a unigram or bigram
// feature mentions ("delay", "!good", "^" for a clause start) gets an id;
// a word's ids, with and without negation, and whether it negates are
// cached by the word; a unigram's weights are found by id and a bigram's in
// a map keyed by two ids. A word the model never saw costs one lookup and no
// more. Feature names cannot be split two ways: tokens hold no '_' (words
// are letters, digits and apostrophes, or one symbol, never '_').
//
// probsOf adds the weights in the order the named features come, so the
// result is the same to the bit (TestModelIndexMatchesFeatures).
type modelIndex struct {
	m    *Model
	stem *stemmer
	ids  map[string]int32      // token → id
	uni  []*[3]float64         // by token id; nil if it has no unigram
	bi   map[uint64][3]float64 // (id before)<<32 | (id) → bigram weights, inline
	// named are the weights of the other features (bias, VADER's,
	// punctuation); the fields below are those that scoring reads, looked
	// up once here (nil where the model lacks one).
	named                                 map[string]*[3]float64
	bias, compound, compound3, vpos, vneg *[3]float64
	bins                                  [len(vaderBins)]*[3]float64
	exclaim, question, caps               *[3]float64
	start                                 int32 // id of "^", the clause start

	mu    sync.RWMutex
	words map[string]wordTokens // lowercased word without apostrophes → tokens
}

// wordTokens are a word's token ids (noID if the model has none) plain and
// negated, their unigram weights (held here so that a word costs one
// lookup), and whether it opens a negation scope.
type wordTokens struct {
	plain, negated       int32
	negator              bool
	hasPlain, hasNegated bool // the unigram weights below are the model's
	uniPlain, uniNegated [3]float64
}

const noID = -1

// maxCachedWords bounds the words a modelIndex caches, as maxCachedStems
// bounds the stems.
const maxCachedWords = 1 << 17

// newModelIndex indexes m's weights for text stemmed with stem.
func newModelIndex(m *Model, stem *stemmer) *modelIndex {
	x := &modelIndex{
		m: m, stem: stem,
		ids:   map[string]int32{},
		bi:    map[uint64][3]float64{},
		named: map[string]*[3]float64{},
		words: map[string]wordTokens{},
	}
	id := func(tok string) int32 {
		i, ok := x.ids[tok]
		if !ok {
			i = int32(len(x.uni))
			x.ids[tok] = i
			x.uni = append(x.uni, nil)
		}
		return i
	}
	for name, w := range m.W {
		switch {
		case strings.HasPrefix(name, "u:"):
			x.uni[id(name[2:])] = w
		case strings.HasPrefix(name, "b:") && strings.Contains(name[2:], "_"):
			a, b, _ := strings.Cut(name[2:], "_")
			ia := id(a)
			x.bi[uint64(ia)<<32|uint64(uint32(id(b)))] = *w
		default:
			x.named[name] = w
		}
	}
	x.bias, x.compound, x.compound3 = x.named["bias"], x.named["v:compound"], x.named["v:compound3"]
	x.vpos, x.vneg = x.named["v:pos"], x.named["v:neg"]
	for i, b := range vaderBins {
		x.bins[i] = x.named[b]
	}
	x.exclaim, x.question, x.caps = x.named["p:!"], x.named["p:?"], x.named["p:caps"]
	x.start = x.id("^")
	return x
}

// tokens returns the token ids of the lowercased word lw (without
// apostrophes).
func (x *modelIndex) tokens(lw []byte) wordTokens {
	x.mu.RLock()
	t, ok := x.words[string(lw)]
	x.mu.RUnlock()
	if ok {
		return t
	}
	w := string(lw)
	tok := w
	if utf8.RuneCountInString(w) > 2 {
		tok = x.stem.stem(w)
	}
	t = wordTokens{plain: x.id(tok), negated: x.id("!" + tok), negator: negators[w]}
	if t.plain != noID && x.uni[t.plain] != nil {
		t.hasPlain, t.uniPlain = true, *x.uni[t.plain]
	}
	if t.negated != noID && x.uni[t.negated] != nil {
		t.hasNegated, t.uniNegated = true, *x.uni[t.negated]
	}
	x.mu.Lock()
	if len(x.words) < maxCachedWords {
		x.words[w] = t
	}
	x.mu.Unlock()
	return t
}

func (x *modelIndex) id(tok string) int32 {
	if i, ok := x.ids[tok]; ok {
		return i
	}
	return noID
}

// probsOf returns the class probabilities of text (from sentimentText) and
// how many words it has, as m.probs(features(text, vs, stem)) would.
func (x *modelIndex) probsOf(text string, vs *govader.Sentiment) ([3]float64, int) {
	var z [3]float64
	add := func(w *[3]float64, v float64) {
		if w != nil {
			for k := range z {
				z[k] += w[k] * v
			}
		}
	}
	add(x.bias, 1)
	if vs != nil {
		c := vs.Compound
		add(x.compound, c)
		add(x.compound3, c*c*c)
		add(x.vpos, vs.Positive)
		add(x.vneg, vs.Negative)
		add(x.bins[int((c+1)*4.999)], 1)
	}
	var wordStack [64]string
	words, marks := splitWords(text, wordStack[:0])
	n := 0
	for _, w := range words {
		if w != "" {
			n++
		}
	}
	scale := 1.0
	if n > 0 {
		scale = 1 / math.Sqrt(float64(n))
	}
	start := x.start
	prev := start
	neg := false
	var lowBuf [64]byte
	for _, w := range words {
		if w == "" {
			neg = false
			prev = start
			continue
		}
		t := x.tokens(lowerNoApostrophe(lowBuf[:0], w))
		cur, has, uni := t.plain, t.hasPlain, &t.uniPlain
		if neg {
			cur, has, uni = t.negated, t.hasNegated, &t.uniNegated
		}
		if cur != noID {
			if has {
				add(uni, scale)
			}
			if prev != noID {
				if b, ok := x.bi[uint64(prev)<<32|uint64(uint32(cur))]; ok {
					add(&b, scale)
				}
			}
		}
		prev = cur
		if t.negator {
			neg = true
		}
	}
	if marks.exclaim > 0 {
		add(x.exclaim, 1)
	}
	if marks.question > 0 {
		add(x.question, 1)
	}
	if marks.caps > 0 {
		add(x.caps, 1)
	}
	return softmax(z), n
}
