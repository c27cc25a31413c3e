package nlp

import (
	"unicode/utf8"

	attune "github.com/attune-cx/attune"
	"github.com/jonreiter/govader"
)

// Analyzer derives an [attune.Analysis] from text. Build it with [New] (the
// zero value is not usable); it holds the VADER lexicon and the Punkt
// sentence model, loaded once, and only reads them afterwards, so one
// Analyzer is safe for concurrent use by several goroutines.
type Analyzer struct {
	vader     *govader.SentimentIntensityAnalyzer
	segmenter *segmenter
	maxBytes  int
}

// New loads the models and returns an Analyzer. It fails only if an option is
// invalid (the error wraps [ErrInvalidOption]) or an embedded model cannot be
// decoded.
func New(opts ...Option) (*Analyzer, error) {
	cfg := defaultConfig()
	for _, opt := range opts {
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	seg, err := newSegmenter()
	if err != nil {
		return nil, err
	}
	return &Analyzer{
		vader:     govader.NewSentimentIntensityAnalyzer(),
		segmenter: seg,
		maxBytes:  cfg.maxBytes,
	}, nil
}

// Analyze cleans, segments, tokenizes, stems and scores text. It accepts any
// string (empty, invalid UTF-8, control characters, huge) and never panics;
// text longer than the analyzer's byte bound (see [WithMaxBytes]) is cut
// there first. Text with nothing left after cleaning yields an empty Clean,
// 0 sentences, nil Tokens and Stems, and a neutral score of 0. Tokens and
// Stems are nil whenever they would be empty.
func (a *Analyzer) Analyze(text string) attune.Analysis {
	text = truncate(text, a.maxBytes)
	forSentiment := sentimentText(text)
	clean := dropHashes(forSentiment)
	tokens := tokenize(clean)
	var stems []string
	for _, t := range tokens {
		if !isContent(t) {
			continue
		}
		// The stem is checked too: "a's" (the Oakland A's) stems to "a".
		if s := Stem(t); isContent(s) {
			stems = append(stems, s)
		}
	}
	sentences := 0
	if clean != "" {
		sentences = a.segmenter.count(clean)
	}
	return attune.Analysis{
		Clean:     clean,
		Sentences: sentences,
		Tokens:    tokens,
		Stems:     stems,
		Sentiment: sentiment(a.vader, forSentiment),
	}
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence;
// n <= 0 means no bound.
func truncate(s string, n int) string {
	if n <= 0 || len(s) <= n {
		return s
	}
	// Back up over at most utf8.UTFMax-1 continuation bytes; invalid bytes
	// are left for Clean to drop.
	cut := n
	for i := 0; i < utf8.UTFMax-1 && cut > 0 && !utf8.RuneStart(s[cut]); i++ {
		cut--
	}
	return s[:cut]
}
