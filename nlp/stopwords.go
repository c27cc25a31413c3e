package nlp

import (
	"strings"
	"sync"
	"unicode"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/lang/da"
	"github.com/blevesearch/bleve/v2/analysis/lang/de"
	"github.com/blevesearch/bleve/v2/analysis/lang/es"
	"github.com/blevesearch/bleve/v2/analysis/lang/fi"
	"github.com/blevesearch/bleve/v2/analysis/lang/fr"
	"github.com/blevesearch/bleve/v2/analysis/lang/it"
	"github.com/blevesearch/bleve/v2/analysis/lang/nl"
	"github.com/blevesearch/bleve/v2/analysis/lang/no"
	"github.com/blevesearch/bleve/v2/analysis/lang/pt"
	"github.com/blevesearch/bleve/v2/analysis/lang/ro"
	"github.com/blevesearch/bleve/v2/analysis/lang/ru"
	"github.com/blevesearch/bleve/v2/analysis/lang/sv"
	"github.com/blevesearch/bleve/v2/analysis/lang/tr"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// stopLists are the stop-word lists, by ISO 639-1 code, of the languages
// other than English that have a Snowball stemmer here (see lang.go): the
// lists Bleve ships, which are the Snowball project's (Romanian: Jacques
// Savoy's; Turkish: Lucene's), in Snowball's format.
var stopLists = map[string][]byte{
	"pt": pt.PortugueseStopWords, "es": es.SpanishStopWords, "fr": fr.FrenchStopWords,
	"de": de.GermanStopWords, "it": it.ItalianStopWords, "nl": nl.DutchStopWords,
	"sv": sv.SwedishStopWords, "da": da.DanishStopWords, "no": no.NorwegianStopWords,
	"fi": fi.FinnishStopWords, "ro": ro.RomanianStopWords, "ru": ru.RussianStopWords,
	"tr": tr.TurkishStopWords,
}

// stopWords holds the parsed lists, built on first use.
var stopWords = sync.OnceValue(func() map[string]map[string]bool {
	out := make(map[string]map[string]bool, len(stopLists))
	unaccent := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	for lang, b := range stopLists {
		tm := analysis.NewTokenMap()
		if err := tm.LoadBytes(b); err != nil {
			panic("nlp: stop words of " + lang + ": " + err.Error()) // compiled-in data
		}
		set := make(map[string]bool, 2*len(tm))
		for w := range tm {
			w = strings.ToLower(w)
			set[w] = true
			// Customers often type without accents ("nao", "voce"): the
			// bare spelling of a stop word is one too. Only for the Latin
			// script, where that is a spelling and not another word.
			if lang != "ru" {
				if bare, _, err := transform.String(unaccent, w); err == nil {
					set[bare] = true
				}
			}
		}
		out[lang] = set
	}
	return out
})

// IsStopWordIn reports whether a lowercased word is a stop word of text in
// the language with ISO 639-1 code lang (as [DetectLanguage] names it): too
// common to name a segment or rank as a top term. That is a stop word of
// English ([IsStopWord]) or of the language: Portuguese, Spanish, French,
// German, Italian, Dutch, Swedish, Danish, Norwegian, Finnish, Romanian,
// Russian and Turkish have the Snowball project's lists (via Bleve), each
// word also without its accents ("não" and "nao"). English counts for
// every language because customers mix it in, and because a short English
// text can be taken for another language ("finally taking off las-fll"
// reads as Spanish). Negations ("não", "no", "nicht") are stop words, as in
// English: the sentiment score carries them.
//
// Segment naming should check each segment's words against the segment's
// language here, so that Portuguese segments are not named "não-…" or
// "muito-…".
func IsStopWordIn(lang, word string) bool {
	if IsStopWord(word) {
		return true
	}
	return stopWords()[lang][word]
}
