package nlp

import (
	"strings"
	"unicode"
)

// langWords are frequent function words of each language, chosen to be rare
// in the others (no "a", "de", "en", "la" shared across Romance languages
// get counted for only one of them). A text's language is the one whose
// words it uses most.
var langWords = map[string][]string{
	"en": {"the", "and", "is", "was", "to", "of", "it", "i", "my", "you", "for", "this", "that", "with", "not", "have", "but", "on", "are", "be", "they", "we", "your", "at", "just", "so", "me", "can", "will", "get", "an", "what", "been", "thanks", "please", "would", "there", "from", "all", "very", "no", "good", "great", "flight"},
	"pt": {"não", "nao", "que", "o", "os", "um", "uma", "é", "com", "para", "do", "da", "dos", "das", "no", "na", "foi", "mas", "muito", "produto", "entrega", "eu", "ainda", "recebi", "chegou", "prazo", "bom", "ótimo", "otimo", "você", "está", "esta", "pelo", "pela", "mais", "já", "então"},
	"es": {"que", "el", "los", "las", "una", "es", "por", "con", "para", "del", "pero", "muy", "está", "fue", "yo", "mi", "lo", "como", "más", "gracias", "bueno", "también", "hay", "todo", "nada"},
	"fr": {"le", "les", "et", "est", "une", "des", "pas", "je", "vous", "pour", "avec", "dans", "sur", "mais", "très", "c'est", "j'ai", "du", "au", "il", "merci", "bien", "tout", "qui"},
	"de": {"der", "die", "und", "ist", "nicht", "ich", "das", "es", "mit", "ein", "eine", "sehr", "aber", "auch", "war", "für", "auf", "sie", "wir", "zu", "den", "dem", "gut", "danke"},
	"it": {"il", "che", "è", "non", "di", "per", "una", "sono", "con", "della", "molto", "ma", "ho", "anche", "questo", "gli", "grazie", "tutto", "buono"},
	"nl": {"de", "het", "een", "en", "niet", "ik", "van", "is", "dat", "op", "zijn", "met", "voor", "maar", "heel", "ook", "wij", "bedankt", "goed"},
}

var langIndex = func() map[string][]string {
	idx := map[string][]string{}
	for lang, ws := range langWords {
		for _, w := range ws {
			idx[w] = append(idx[w], lang)
		}
	}
	return idx
}()

// DetectLanguage returns the ISO 639-1 code of the language text is most
// likely written in, from its script and its function words; "" when it
// cannot tell. Text in the Latin script with no telling words is taken for
// English, the stage's default, as short English posts ("thanks!!") often
// have none. Scripts other than Latin name their language where one
// dominates (Cyrillic → "ru", Greek → "el", Arabic → "ar", Hebrew → "he",
// Han → "zh", Hiragana/Katakana → "ja", Hangul → "ko", Devanagari → "hi",
// Thai → "th").
func DetectLanguage(text string) string {
	scripts := map[string]int{}
	latin := 0
	for _, r := range text {
		switch {
		case r < 0x80:
			if unicode.IsLetter(r) {
				latin++
			}
		case unicode.Is(unicode.Latin, r):
			latin++
		case unicode.Is(unicode.Cyrillic, r):
			scripts["ru"]++
		case unicode.Is(unicode.Greek, r):
			scripts["el"]++
		case unicode.Is(unicode.Arabic, r):
			scripts["ar"]++
		case unicode.Is(unicode.Hebrew, r):
			scripts["he"]++
		case unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r):
			scripts["ja"] += 2 // kana are the telling sign among Han characters
		case unicode.Is(unicode.Han, r):
			scripts["zh"]++
		case unicode.Is(unicode.Hangul, r):
			scripts["ko"]++
		case unicode.Is(unicode.Devanagari, r):
			scripts["hi"]++
		case unicode.Is(unicode.Thai, r):
			scripts["th"]++
		}
	}
	best, bestN := "", 0
	for s, n := range scripts {
		if n > bestN || n == bestN && s < best {
			best, bestN = s, n
		}
	}
	if bestN > latin {
		if best == "zh" && scripts["ja"] > 0 {
			return "ja"
		}
		return best
	}
	if latin == 0 {
		return ""
	}
	counts := map[string]int{}
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && r != '\''
	}) {
		for _, l := range langIndex[w] {
			counts[l]++
		}
	}
	// Another language needs two telling words and more than English has:
	// one "de" or "no" in an English tweet is not Dutch or Portuguese.
	lang, n := "en", counts["en"]
	for _, l := range []string{"pt", "es", "fr", "de", "it", "nl"} {
		if counts[l] >= 2 && counts[l] > n {
			lang, n = l, counts[l]
		}
	}
	return lang
}
