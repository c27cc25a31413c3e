package nlp

import (
	"strings"
	"sync"

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

// stemmers are the cached stemmers by language.
var stemmers = func() map[string]*stemmer {
	m := map[string]*stemmer{"en": newStemmer(Stem)}
	for lang, f := range snowballStemmers {
		m[lang] = newStemmer(func(w string) string {
			env := snowballstem.NewEnv(w)
			f(env)
			return env.Current()
		})
	}
	return m
}()

// stemmerFor returns the Snowball stemmer of a language, English for "en"
// or any language without one.
func stemmerFor(lang string) *stemmer {
	if s, ok := stemmers[lang]; ok {
		return s
	}
	return stemmers["en"]
}

// maxCachedStems bounds each language's stem cache; customer text has a
// vocabulary of some tens of thousands of words, and past the bound words
// are stemmed afresh.
const maxCachedStems = 1 << 17

// stemmer memoises a stemmer: Snowball costs more per word than everything
// else the sentiment model does, and the same words recur endlessly. It is
// safe for concurrent use.
type stemmer struct {
	f  func(string) string
	mu sync.RWMutex
	m  map[string]string
}

func newStemmer(f func(string) string) *stemmer {
	return &stemmer{f: f, m: map[string]string{}}
}

// stem returns the stem of the lowercased word w.
func (s *stemmer) stem(w string) string {
	s.mu.RLock()
	st, ok := s.m[w]
	s.mu.RUnlock()
	if ok {
		return st
	}
	return s.add(strings.Clone(w))
}

// stemBytes is stem for a word held in bytes; it allocates only for words
// not seen before.
func (s *stemmer) stemBytes(w []byte) string {
	s.mu.RLock()
	st, ok := s.m[string(w)] // no allocation for a map lookup
	s.mu.RUnlock()
	if ok {
		return st
	}
	return s.add(string(w))
}

// add stems w and caches the result while the cache has room.
func (s *stemmer) add(w string) string {
	st := s.f(w)
	s.mu.Lock()
	if len(s.m) < maxCachedStems {
		s.m[w] = st
	}
	s.mu.Unlock()
	return st
}

// StemIn returns the Snowball stem of a lowercased word in the language
// with ISO 639-1 code lang; English, and languages Snowball lacks, use
// [Stem].
func StemIn(lang, word string) string { return stemmerFor(lang).stem(word) }
