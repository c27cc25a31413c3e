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
	lex       *lexScorer
	segmenter *segmenter
	maxBytes  int
	// models are the sentiment models by language; nil when lexiconOnly.
	models map[string]*Model
	// indexes hold the weights of models arranged for scoring, by language.
	indexes     map[string]*modelIndex
	lexiconOnly bool
	// aspectSet finds aspects; nil finds none.
	aspectSet *AspectSet
	// aspectModel detects aspects beyond the phrases; nil detects none.
	aspectModel *AspectModel
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
	a := &Analyzer{
		lex:         sharedLexScorer(),
		segmenter:   seg,
		maxBytes:    cfg.maxBytes,
		lexiconOnly: cfg.lexiconOnly,
		aspectSet:   cfg.aspects,
		aspectModel: cfg.aspectModel,
	}
	if !cfg.lexiconOnly {
		if a.models, err = loadModels(); err != nil {
			return nil, err
		}
		if cfg.model != nil {
			a.models[cfg.model.Lang] = cfg.model
		}
		a.indexes = make(map[string]*modelIndex, len(a.models))
		for lang, m := range a.models {
			a.indexes[lang] = newModelIndex(m, stemmerFor(lang))
		}
	}
	return a, nil
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
	lang := DetectLanguage(clean)
	tokens := tokenize(clean)
	stem := stemmerFor(lang)
	var stems []string
	for _, t := range tokens {
		if !isContent(lang, t) {
			continue
		}
		// The stem is checked too: "a's" (the Oakland A's) stems to "a".
		if s := stem.stem(t); isContent(lang, s) {
			stems = append(stems, s)
		}
	}
	sentences := 0
	if clean != "" {
		sentences = a.segmenter.count(clean)
	}
	sentiment := a.score(forSentiment, lang)
	return attune.Analysis{
		Clean:     clean,
		Sentences: sentences,
		Tokens:    tokens,
		Stems:     stems,
		Sentiment: sentiment,
		Language:  lang,
		Aspects:   a.aspects(forSentiment, lang, &sentiment),
	}
}

// Aspects returns the aspects text mentions with the sentiment of the
// clauses that mention them, as [Analyzer.Analyze] does; nil without an
// aspect set ([WithAspects]) or for text not in English.
func (a *Analyzer) Aspects(text string) []attune.AspectSentiment {
	text = sentimentText(truncate(text, a.maxBytes))
	return a.aspects(text, DetectLanguage(dropHashes(text)), nil)
}

// Sentiment scores the sentiment of text alone, as [Analyzer.Analyze] does,
// without tokens, stems or aspects.
func (a *Analyzer) Sentiment(text string) attune.Sentiment {
	text = sentimentText(truncate(text, a.maxBytes))
	return a.score(text, DetectLanguage(dropHashes(text)))
}

// Classify returns the three-way class of text's sentiment: -1 negative,
// 0 neutral or unknown, +1 positive.
func (a *Analyzer) Classify(text string) int {
	switch a.Sentiment(text).Label {
	case attune.Negative:
		return -1
	case attune.Positive:
		return 1
	}
	return 0
}

// score scores text from sentimentText in language lang: with VADER alone
// when the Analyzer is lexicon-only, else with the language's model (which
// for English reads VADER's scores among its features). A language with no
// model gets [attune.Unknown] and a score of 0 rather than a wrong English
// score.
func (a *Analyzer) score(text, lang string) attune.Sentiment {
	if a.lexiconOnly {
		return sentiment(a.lex, text)
	}
	if lang == "" {
		lang = "en"
	}
	m, ok := a.models[lang]
	if !ok {
		return attune.Sentiment{Label: attune.Unknown}
	}
	if text == "" {
		return attune.Sentiment{Label: attune.Neutral}
	}
	var vs *govader.Sentiment
	if m.Vader {
		s := a.lex.polarity(text)
		vs = &s
	}
	p, words := a.indexes[lang].probsOf(text, vs)
	if words == 0 {
		// Punctuation alone ("?!?! ...") says nothing the model can read.
		return attune.Sentiment{Label: attune.Neutral}
	}
	compound, blend := 0.0, 0.0
	if vs != nil {
		compound, blend = vs.Compound, m.Blend
	}
	return BlendScore(p, compound, blend)
}

// BlendScore is the sentiment a model gives from its class probabilities
// p (negative, neutral, positive) and VADER's compound, read at weight
// blend: the label is the most probable class (neutral on a tie), the
// score blend·compound + (1−blend)·(p[2] − p[0]). The model decides the
// direction, VADER only grades it: a blend that crosses zero against the
// label is held at the label's side.
func BlendScore(p [3]float64, compound, blend float64) attune.Sentiment {
	l := attune.Neutral
	switch {
	case p[clsNeg] > p[clsNeu] && p[clsNeg] > p[clsPos]:
		l = attune.Negative
	case p[clsPos] > p[clsNeu] && p[clsPos] > p[clsNeg]:
		l = attune.Positive
	}
	score := p[clsPos] - p[clsNeg]
	if blend > 0 {
		score = blend*compound + (1-blend)*score
		switch {
		case l == attune.Positive && score < minPolar:
			score = minPolar
		case l == attune.Negative && score > -minPolar:
			score = -minPolar
		}
	}
	return attune.Sentiment{Score: score, Label: l}
}

// ScoreParts returns what the model score of text is made from: the
// class probabilities (negative, neutral, positive) of its language's
// model and, when that model reads VADER, VADER's compound (else 0). ok is
// false where the score comes from no model: a lexicon-only Analyzer, a
// language without a model, text without words. The sentiment is
// BlendScore(p, compound, the model's Blend). It lets calibration tools (nlp/internal/train -loso)
// try other score shapes on the same model outputs.
func (a *Analyzer) ScoreParts(text string) (p [3]float64, compound float64, ok bool) {
	if a.lexiconOnly {
		return p, 0, false
	}
	text = sentimentText(truncate(text, a.maxBytes))
	lang := DetectLanguage(dropHashes(text))
	if lang == "" {
		lang = "en"
	}
	m, ok := a.models[lang]
	if !ok || text == "" {
		return p, 0, false
	}
	var vs *govader.Sentiment
	if m.Vader {
		s := a.lex.polarity(text)
		vs = &s
		compound = s.Compound
	}
	p, words := a.indexes[lang].probsOf(text, vs)
	if words == 0 {
		return [3]float64{}, 0, false
	}
	return p, compound, true
}

// minPolar is the least score a blended positive text keeps (negative:
// its opposite), so that the score's sign agrees with the label.
const minPolar = 0.01

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
