package index

import (
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/registry"
	"github.com/blevesearch/snowballstem"
	"github.com/blevesearch/snowballstem/portuguese"
)

// stemmerPT is the token filter of analyzerPT: the Snowball Portuguese
// stemmer. Bleve's own "pt" analyzer uses a light stemmer that strips plural
// and gender endings but leaves verbs alone, so "entregue", "entregou" and
// "entrega" (delivered, delivery) stayed three different terms; Snowball
// conflates them, as it conflates delay/delayed in English. It comes from the
// snowballstem module Bleve already uses for English.
const stemmerPT = "attune_stemmer_pt"

type portugueseStemmer struct{}

func (portugueseStemmer) Filter(input analysis.TokenStream) analysis.TokenStream {
	for _, t := range input {
		if t.KeyWord {
			continue
		}
		env := snowballstem.NewEnv(string(t.Term))
		portuguese.Stem(env)
		t.Term = []byte(env.Current())
	}
	return input
}

func init() {
	// The mapping stored in an index names the filter; every process that
	// opens the index links this package, so the name always resolves.
	err := registry.RegisterTokenFilter(stemmerPT, func(map[string]any, *registry.Cache) (analysis.TokenFilter, error) {
		return portugueseStemmer{}, nil
	})
	if err != nil {
		panic(err)
	}
}
