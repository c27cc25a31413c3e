// Package nlp is Attune's text stage: it turns the raw text of an event into
// an [attune.Analysis] — the cleaned text that is embedded, its sentence count,
// word tokens, content stems and a VADER sentiment score.
//
// Everything here is a pure function of the input text: no I/O, no logging,
// no global mutable state. The expensive resources (the VADER lexicon and the
// Punkt sentence model) are loaded once by [New], after which one [Analyzer]
// serves any number of goroutines.
//
// # Pipeline
//
//  1. [Clean] removes what says who was addressed rather than what about:
//     @handles, URLs and HTML tags. It decodes HTML entities, drops the '#'
//     of hashtags and collapses whitespace. Its output is what gets embedded.
//  2. Sentences are counted with the Punkt model and rules of
//     github.com/jdkato/prose/v2, built once rather than per text as
//     prose.NewDocument does (see segment.go).
//  3. Tokens come from the prose tokenizer, lowercased, with contractions
//     kept whole ("can't", where prose alone may give "ca"), words glued by
//     punctuation split ("iPad.don't"), and punctuation-only tokens and
//     emoticons dropped (see tokens.go).
//  4. Stems are the English Snowball stems ([Stem]) of the content tokens, in
//     text order: tokens that are stop words ([IsStopWord]), have no letter or
//     are one rune long are dropped, as are those whose stem is.
//  5. Sentiment is VADER's compound score of the cleaned text with its
//     hashtags intact, labelled with VADER's cut-offs of ±0.05 (see
//     sentiment.go for why VADER sees this text rather than the raw one).
//
// Extending the stage (aspects, redaction, better sentiment) means adding a
// step to [Analyzer.Analyze] and, if it needs a model, loading it in [New].
package nlp
