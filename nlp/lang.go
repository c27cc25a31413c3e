package nlp

import (
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

// stemmerFor returns the Snowball stemmer of a language, English for "en"
// or any language without one.
func stemmerFor(lang string) func(string) string {
	f, ok := snowballStemmers[lang]
	if !ok {
		return Stem
	}
	return func(w string) string {
		env := snowballstem.NewEnv(w)
		f(env)
		return env.Current()
	}
}

// StemIn returns the Snowball stem of a lowercased word in the language
// with ISO 639-1 code lang; English, and languages Snowball lacks, use
// [Stem].
func StemIn(lang, word string) string { return stemmerFor(lang)(word) }
