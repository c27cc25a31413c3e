package nlp

// This file holds the English Punkt sentence segmenter of
// github.com/jdkato/prose/v2 (segment.go, v2.0.0), built once instead of once
// per text.
//
// prose.NewDocument with segmentation on decodes the Punkt model's JSON
// training data on every call. Measured on the airline tweets that is about
// 15 ms per text, some 2,000 times the cost of prose's tokenizer, and it
// allocates megabytes per call. prose keeps its segmenter unexported (and the
// project is archived), so the few lines that configure it are copied here
// and the result reused. The model (gopkg.in/neurosnap/sentences.v1, English
// training data) and the rules are prose's own; TestSegmenterMatchesProse
// checks that both count the same sentences on real tweets.
//
// Copied code: Copyright (c) 2015 Eric Bower, Copyright (c) 2017-2018 Joseph
// Kato, MIT License (see github.com/jdkato/prose/v2 LICENSE).

import (
	"fmt"
	"regexp"
	"strings"

	"gopkg.in/neurosnap/sentences.v1"
	"gopkg.in/neurosnap/sentences.v1/data"
)

// segmenter counts sentences. It only reads its model after construction, so
// one segmenter is safe for concurrent use.
type segmenter struct {
	tokenizer *sentences.DefaultSentenceTokenizer
}

// newSegmenter loads the English Punkt model and configures it as prose does.
func newSegmenter() (*segmenter, error) {
	b, err := data.Asset("data/english.json")
	if err != nil {
		return nil, fmt.Errorf("load punkt english model: %w", err)
	}
	training, err := sentences.LoadTraining(b)
	if err != nil {
		return nil, fmt.Errorf("decode punkt english model: %w", err)
	}

	// Supervised abbreviations, as in prose.
	for _, abbr := range []string{"sgt", "gov", "no", "mt"} {
		training.AbbrevTypes.Add(abbr)
	}

	lang := sentences.NewPunctStrings()
	word := &proseWordTokenizer{}
	word.PunctStrings = lang
	annotations := sentences.NewAnnotations(training, lang, word)
	ortho := &sentences.OrthoContext{
		Storage:      training,
		PunctStrings: lang,
		TokenType:    word,
		TokenFirst:   word,
	}
	annotations = append(annotations, &multiPunctWordAnnotation{
		Storage:      training,
		TokenParser:  word,
		TokenGrouper: &sentences.DefaultTokenGrouper{},
		Ortho:        ortho,
	})
	return &segmenter{tokenizer: &sentences.DefaultSentenceTokenizer{
		Storage:       training,
		PunctStrings:  lang,
		WordTokenizer: word,
		Annotations:   annotations,
	}}, nil
}

// count returns the number of sentences in text, 0 for blank text.
//
// Punkt breaks a sentence only after a token with '.', '?' or '!' in it
// (a final period, an ellipsis, an abbreviation, prose's sentence-ending
// characters); text with none of them is one sentence, or none if blank,
// and is not tokenized (TestSentenceCountFastPath).
func (s *segmenter) count(text string) int {
	if !strings.ContainsAny(text, ".?!") {
		if strings.TrimSpace(text) == "" {
			return 0
		}
		return 1
	}
	return s.countPunkt(text)
}

// countPunkt counts the sentences Punkt finds in text.
func (s *segmenter) countPunkt(text string) int {
	n := 0
	for _, sent := range s.tokenizer.Tokenize(text) {
		// prose trims each sentence; a blank one is not a sentence.
		if strings.TrimSpace(sent.Text) != "" {
			n++
		}
	}
	return n
}

var (
	reAbbr              = regexp.MustCompile(`((?:[\w]\.)+[\w]*\.)`)
	reLooksLikeEllipsis = regexp.MustCompile(`(?:\.\s?){2,}\.`)
	reEntities          = regexp.MustCompile(`Yahoo!`)
)

// proseWordTokenizer is prose's wordTokenizer: Punkt's word tokenizer with
// prose's set of sentence-ending characters.
type proseWordTokenizer struct {
	sentences.DefaultWordTokenizer
}

// HasSentEndChars reports whether t ends in punctuation that may end a
// sentence other than a bare period.
func (e *proseWordTokenizer) HasSentEndChars(t *sentences.Token) bool {
	enders := []string{
		`."`, `.)`, `.’`, `.”`,
		`?`, `?"`, `?'`, `?)`, `?’`, `?”`,
		`!`, `!"`, `!'`, `!)`, `!’`, `!”`,
	}
	for _, ender := range enders {
		if strings.HasSuffix(t.Tok, ender) && !reEntities.MatchString(t.Tok) {
			return true
		}
	}
	parens := []string{
		`.[`, `.(`, `."`,
		`?[`, `?(`,
		`![`, `!(`,
	}
	for _, paren := range parens {
		if strings.Contains(t.Tok, paren) {
			return true
		}
	}
	return false
}

// multiPunctWordAnnotation is prose's annotation that teases out
// abbreviations such as "F.B.I." and handles ellipses.
type multiPunctWordAnnotation struct {
	*sentences.Storage
	sentences.TokenParser
	sentences.TokenGrouper
	sentences.Ortho
}

func (a *multiPunctWordAnnotation) Annotate(tokens []*sentences.Token) []*sentences.Token {
	for _, tokPair := range a.TokenGrouper.Group(tokens) {
		if len(tokPair) < 2 || tokPair[1] == nil {
			tok := tokPair[0].Tok
			if strings.Contains(tok, "\n") && strings.Contains(tok, " ") {
				// Mislabeled because of an errant newline.
				tokPair[0].SentBreak = false
			}
			continue
		}
		a.tokenAnnotation(tokPair[0], tokPair[1])
	}
	return tokens
}

// looksInternal reports whether tok's punctuation could appear inside a
// sentence (parentheses, quotes).
func looksInternal(tok string) bool {
	for _, punc := range []string{")", `’`, `”`, `"`, `'`} {
		if strings.HasSuffix(tok, punc) {
			return true
		}
	}
	return false
}

func (a *multiPunctWordAnnotation) tokenAnnotation(tokOne, tokTwo *sentences.Token) {
	// TypeNoSentPeriod is expensive, so it is computed at most once.
	var nextTyp string

	// Two periods in a row: an ellipsis the word tokenizer split.
	if strings.HasSuffix(tokOne.Tok, ".") && tokTwo.Tok == "." {
		tokOne.SentBreak = false
		tokTwo.SentBreak = false
		return
	}

	isNonBreak := strings.HasSuffix(tokOne.Tok, ".") && !tokOne.SentBreak
	isEllipsis := reLooksLikeEllipsis.MatchString(tokOne.Tok)
	isInternal := tokOne.SentBreak && looksInternal(tokOne.Tok)

	if isNonBreak || isEllipsis || isInternal {
		nextTyp = a.TokenParser.TypeNoSentPeriod(tokTwo)
		isStarter := a.SentStarters[nextTyp]

		// An ellipsis followed by a capital or a frequent sentence starter
		// ends a sentence.
		if isEllipsis {
			if a.TokenParser.FirstUpper(tokTwo) || isStarter != 0 {
				tokOne.SentBreak = true
				return
			}
		}

		// Punctuation that can occur inside a sentence ends one only if the
		// next word is capitalised or a frequent sentence starter.
		if isInternal {
			if a.TokenParser.FirstLower(tokTwo) && isStarter == 0 {
				tokOne.SentBreak = false
				return
			}
		}

		// A period not marked as a break becomes one if the next word is
		// capitalised and is seen lowercase elsewhere (Punkt's _ORTHO_LC).
		if isNonBreak && a.TokenParser.FirstUpper(tokTwo) {
			if a.Storage.OrthoContext[nextTyp]&112 != 0 {
				tokOne.SentBreak = true
			}
		}
	}

	if len(reAbbr.FindAllString(tokOne.Tok, 1)) == 0 {
		return
	}
	if a.IsInitial(tokOne) {
		return
	}

	tokOne.Abbr = true
	tokOne.SentBreak = false

	// Punkt 4.1.1, orthographic heuristic: does the next word's casing
	// elsewhere say it starts a sentence?
	if a.Ortho.Heuristic(tokTwo) == 1 {
		tokOne.SentBreak = true
		return
	}

	if nextTyp == "" {
		nextTyp = a.TokenParser.TypeNoSentPeriod(tokTwo)
	}

	// Punkt 4.1.3, frequent sentence starter heuristic.
	if a.TokenParser.FirstUpper(tokTwo) && a.SentStarters[nextTyp] != 0 {
		tokOne.SentBreak = true
	}
}
