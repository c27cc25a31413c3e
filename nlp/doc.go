// Package nlp is Attune's text stage: it turns the raw text of an event into
// an [attune.Analysis] — the cleaned text that is embedded, its sentence count,
// language, word tokens, content stems, a sentiment score and the aspects it
// talks about — and redacts personal data ([Redactor]).
//
// Everything here is a pure function of the input text: no I/O, no logging;
// the only global mutable state is a bounded, concurrency-safe stem cache.
// The expensive resources (the VADER lexicon, the Punkt sentence model, the
// embedded sentiment models) are loaded once by [New], after which one
// [Analyzer] serves any number of goroutines.
//
// # Pipeline
//
//  1. [Clean] removes what says who was addressed rather than what about:
//     @handles, URLs and HTML tags. It decodes HTML entities, drops the '#'
//     of hashtags and collapses whitespace. Its output is what gets embedded.
//  2. Sentences are counted with the Punkt model and rules of
//     github.com/jdkato/prose/v2, built once rather than per text as
//     prose.NewDocument does (see segment.go).
//  3. Tokens come from prose's tokenizer (ported in prosetok.go),
//     lowercased, with contractions kept whole ("can't", where prose alone
//     may give "ca"), words glued by punctuation split ("iPad.don't"), and
//     punctuation-only tokens and emoticons dropped (see tokens.go).
//  4. The language is detected from script and function words
//     ([DetectLanguage]); Latin text with no telling words counts as English.
//  5. Stems are the Snowball stems of the content tokens in the text's
//     language ([StemIn]; English [Stem]), in text order: tokens that are
//     stop words of that language or of English ([IsStopWordIn]), have no
//     letter or are one rune long are dropped, as are those whose stem is.
//  6. Sentiment comes from a learned [Model]: a three-class logistic
//     regression over VADER's scores (English), stems and stem bigrams with
//     negation scope marked. Its label is the likeliest class and its score
//     P(positive) − P(negative), for English blended with VADER's compound
//     (Model.Blend, 0.2, chosen leave-one-source-out on training data) and
//     kept on the label's side of zero. It learns what VADER's lexicon scores
//     neutral on customer text ("delayed", "still waiting", "on hold",
//     "refund"). Models for English and Portuguese are embedded, trained by
//     `go generate` (./internal/train) on training splits only; text in any
//     other language gets [attune.Unknown]. [WithLexiconOnly] restores plain
//     VADER.
//  7. Aspects ([WithAspects], configs/aspects.yaml; [WithAspectModel]) are
//     matched on stems and multi-word phrases, and each is scored on the
//     clauses that mention it, clauses being split at punctuation and
//     before contrast words ("but", "although").
//
// Redaction is a separate step ([NewRedactor]) the caller runs before the
// text is analysed, embedded or stored, so the original never leaves it.
//
// `attune bench nlp` measures all of it against plain VADER on the public
// datasets (package nlpdata), with held-out splits no model is trained on.
package nlp
