package nlp

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/blevesearch/snowballstem"
	"github.com/blevesearch/snowballstem/danish"
	"github.com/blevesearch/snowballstem/dutch"
	"github.com/blevesearch/snowballstem/finnish"
	"github.com/blevesearch/snowballstem/french"
	"github.com/blevesearch/snowballstem/german"
	"github.com/blevesearch/snowballstem/italian"
	"github.com/blevesearch/snowballstem/norwegian"
	"github.com/blevesearch/snowballstem/portuguese"
	"github.com/blevesearch/snowballstem/romanian"
	"github.com/blevesearch/snowballstem/russian"
	"github.com/blevesearch/snowballstem/spanish"
	"github.com/blevesearch/snowballstem/swedish"
	"github.com/blevesearch/snowballstem/turkish"
)

// snowballStemmers are the Snowball stemmers by ISO 639-1 code, for the
// languages [DetectLanguage] can name. English uses [Stem].
var snowballStemmers = map[string]func(*snowballstem.Env) bool{
	"pt": portuguese.Stem, "es": spanish.Stem, "fr": french.Stem, "de": german.Stem,
	"it": italian.Stem, "nl": dutch.Stem, "sv": swedish.Stem, "da": danish.Stem,
	"no": norwegian.Stem, "fi": finnish.Stem, "ro": romanian.Stem, "ru": russian.Stem,
	"tr": turkish.Stem,
}

// stemmers caches one stemmer function per language.
var stemmers = func() map[string]func(string) string {
	m := map[string]func(string) string{"en": cached(Stem)}
	for lang, f := range snowballStemmers {
		m[lang] = cached(func(w string) string {
			env := snowballstem.NewEnv(w)
			f(env)
			return env.Current()
		})
	}
	return m
}()

// stemmerFor returns the Snowball stemmer of a language, English for "en"
// or any language without one.
func stemmerFor(lang string) func(string) string {
	if f, ok := stemmers[lang]; ok {
		return f
	}
	return stemmers["en"]
}

// maxCachedStems bounds each language's stem cache; customer text has a
// vocabulary of some tens of thousands of words, and past the bound words
// are stemmed afresh.
const maxCachedStems = 1 << 17

// cached memoises a stemmer: Snowball costs more per word than everything
// else the sentiment model does, and the same words recur endlessly.
func cached(stem func(string) string) func(string) string {
	var (
		m sync.Map
		n atomic.Int64
	)
	return func(w string) string {
		if s, ok := m.Load(w); ok {
			return s.(string)
		}
		s := stem(w)
		if n.Load() < maxCachedStems {
			n.Add(1)
			m.Store(strings.Clone(w), s)
		}
		return s
	}
}

// StemIn returns the Snowball stem of a lowercased word in the language
// with ISO 639-1 code lang; English, and languages Snowball lacks, use
// [Stem].
func StemIn(lang, word string) string { return stemmerFor(lang)(word) }
