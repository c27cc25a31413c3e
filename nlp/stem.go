package nlp

import (
	"github.com/kljensen/snowball/english"
)

// Stem returns the English Snowball (Porter2) stem of one lowercased word:
// "delayed" → "delay", "cancelled" → "cancel", "flights" → "flight". Stop
// words are stemmed like any other word; it is [Analyzer.Analyze] that drops
// them.
func Stem(word string) string {
	return english.Stem(word, true)
}

// IsStopWord reports whether a lowercased word carries too little meaning to
// name a segment or rank as a top term.
//
// The list is the Snowball project's English stop-word list: the part of it
// that github.com/kljensen/snowball exports (english.IsStopWord, which lacks
// the contractions) plus the rest of the published list (contractions such as
// "can't" and "it's", and "would", "could", "ought"). To it are added a few
// fillers of social text that name no topic: "rt" (retweet), "amp" (an
// undecoded &amp;) and "via". Negations are stop words here; the sentiment
// score, not the stems, is what carries them.
func IsStopWord(word string) bool {
	if english.IsStopWord(word) {
		return true
	}
	_, ok := extraStopWords[word]
	return ok
}

// extraStopWords completes english.IsStopWord to the Snowball project's
// published English list (snowballstem.org/algorithms/english/stop.txt) and
// adds social-text fillers.
var extraStopWords = map[string]struct{}{
	// In the Snowball list but not in english.IsStopWord.
	"would": {}, "could": {}, "ought": {},
	"i'm": {}, "you're": {}, "he's": {}, "she's": {}, "it's": {}, "we're": {}, "they're": {},
	"i've": {}, "you've": {}, "we've": {}, "they've": {},
	"i'd": {}, "you'd": {}, "he'd": {}, "she'd": {}, "we'd": {}, "they'd": {},
	"i'll": {}, "you'll": {}, "he'll": {}, "she'll": {}, "we'll": {}, "they'll": {},
	"isn't": {}, "aren't": {}, "wasn't": {}, "weren't": {}, "hasn't": {}, "haven't": {}, "hadn't": {},
	"doesn't": {}, "don't": {}, "didn't": {}, "won't": {}, "wouldn't": {}, "shan't": {}, "shouldn't": {},
	"can't": {}, "cannot": {}, "couldn't": {}, "mustn't": {},
	"let's": {}, "that's": {}, "who's": {}, "what's": {}, "here's": {}, "there's": {},
	"when's": {}, "where's": {}, "why's": {}, "how's": {},
	// Social-text fillers.
	"rt": {}, "amp": {}, "via": {},
}
