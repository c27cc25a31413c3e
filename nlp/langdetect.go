package nlp

import (
	"unicode"
	"unicode/utf8"
)

// langWords are frequent function words of each language, chosen to be rare
// in the others (no "a", "de", "en", "la" shared across Romance languages
// get counted for only one of them). A text's language is the one whose
// words it uses most.
var langWords = map[string][]string{
	"en": {"the", "and", "is", "was", "to", "of", "it", "i", "my", "you", "for", "this", "that", "with", "not", "have", "but", "on", "are", "be", "they", "we", "your", "at", "just", "so", "me", "can", "will", "get", "an", "what", "been", "thanks", "please", "would", "there", "from", "all", "very", "good", "great", "flight", "our", "us", "we've", "i'm", "it's", "don't", "can't", "didn't", "need", "needs", "had", "has", "were", "how", "when", "why", "who", "now", "still", "again", "thank", "love", "time", "hours", "bag", "service", "customer", "did", "do", "does", "if", "or", "by", "about", "like", "got", "one", "any", "out", "up", "he", "she", "them", "their", "her", "his", "could", "should", "really", "never", "after", "because", "which", "some", "only", "well", "too", "here", "these", "those", "than", "then", "into", "over", "way", "want", "know", "help", "back", "fly", "plane", "waiting", "today", "tomorrow", "cancelled", "delayed", "late", "phone", "call"},
	"pt": {"de", "em", "meu", "minha", "volta", "dinheiro", "sempre", "nunca", "palavras", "frete", "caro", "site", "apenas", "porem", "td", "muitos", "nas", "nos", "ao", "às", "sua", "seu", "ele", "ela", "tem", "ter", "vou", "estou", "fiquei", "não", "nao", "que", "o", "os", "um", "uma", "é", "com", "para", "do", "da", "dos", "das", "na", "foi", "mas", "muito", "produto", "entrega", "eu", "ainda", "recebi", "chegou", "prazo", "bom", "ótimo", "otimo", "você", "está", "esta", "pelo", "pela", "mais", "já", "então", "recomendo", "excelente", "rápida", "rapida", "entregue", "antes", "bem", "veio", "pedido", "comprei", "loja", "qualidade", "gostei", "tudo", "certo", "ok", "ruim", "péssimo", "pessimo", "super", "dentro", "compra", "obrigado", "obrigada", "satisfeito", "satisfeita", "aguardando", "prazo", "lannister", "até", "ate", "agora", "nada", "nem", "porém", "só", "também", "vendedor", "perfeito", "adorei", "amei", "funciona", "atendimento", "boa", "ótima", "otima", "rápido", "rapido", "correto", "conforme", "esperado", "parabéns", "parabens", "chegaram", "faltou", "recebido", "ainda", "dia", "dias"},
	"es": {"el", "los", "las", "es", "con", "del", "pero", "muy", "fue", "yo", "mi", "lo", "más", "gracias", "bueno", "también", "hay", "todo", "nada"},
	"fr": {"le", "les", "et", "est", "une", "des", "pas", "je", "vous", "pour", "avec", "dans", "sur", "mais", "très", "c'est", "j'ai", "du", "au", "il", "merci", "bien", "tout", "qui"},
	"de": {"der", "die", "und", "ist", "nicht", "ich", "das", "es", "mit", "ein", "eine", "sehr", "aber", "auch", "war", "für", "auf", "sie", "wir", "zu", "den", "dem", "gut", "danke"},
	"it": {"il", "che", "è", "non", "di", "per", "una", "sono", "con", "della", "molto", "ma", "ho", "anche", "questo", "gli", "grazie", "tutto", "buono"},
	"nl": {"het", "een", "en", "niet", "ik", "van", "is", "dat", "op", "zijn", "met", "voor", "maar", "heel", "ook", "wij", "bedankt", "goed"},
}

// detectLangs are the languages DetectLanguage tells apart by their words,
// English first: the order in which a later one must beat an earlier one.
var detectLangs = [...]string{"en", "pt", "es", "fr", "de", "it", "nl"}

// langIndex maps each word of langWords to the languages it counts for, as
// indexes into detectLangs, once per time the word is listed.
var langIndex = func() map[string][]uint8 {
	idx := map[string][]uint8{}
	for i, lang := range detectLangs {
		for _, w := range langWords[lang] {
			idx[w] = append(idx[w], uint8(i))
		}
	}
	return idx
}()

// Scripts other than Latin that DetectLanguage names, in the order it
// breaks ties between them (by code).
const (
	scriptAR = iota
	scriptEL
	scriptHE
	scriptHI
	scriptJA
	scriptKO
	scriptRU
	scriptTH
	scriptZH
	numScripts
)

var scriptCodes = [numScripts]string{"ar", "el", "he", "hi", "ja", "ko", "ru", "th", "zh"}

// DetectLanguage returns the ISO 639-1 code of the language text is most
// likely written in, from its script and its function words; "" when it
// cannot tell. Text in the Latin script with no telling words is taken for
// English, the stage's default, as short English posts ("thanks!!") often
// have none. Scripts other than Latin name their language where one
// dominates (Cyrillic → "ru", Greek → "el", Arabic → "ar", Hebrew → "he",
// Han → "zh", Hiragana/Katakana → "ja", Hangul → "ko", Devanagari → "hi",
// Thai → "th").
func DetectLanguage(text string) string {
	var scripts [numScripts]int
	latin := 0
	for _, r := range text {
		switch {
		case r < 0x80:
			if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' {
				latin++
			}
		case unicode.Is(unicode.Latin, r):
			latin++
		case unicode.Is(unicode.Cyrillic, r):
			scripts[scriptRU]++
		case unicode.Is(unicode.Greek, r):
			scripts[scriptEL]++
		case unicode.Is(unicode.Arabic, r):
			scripts[scriptAR]++
		case unicode.Is(unicode.Hebrew, r):
			scripts[scriptHE]++
		case unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r):
			scripts[scriptJA] += 2 // kana are the telling sign among Han characters
		case unicode.Is(unicode.Han, r):
			scripts[scriptZH]++
		case unicode.Is(unicode.Hangul, r):
			scripts[scriptKO]++
		case unicode.Is(unicode.Devanagari, r):
			scripts[scriptHI]++
		case unicode.Is(unicode.Thai, r):
			scripts[scriptTH]++
		}
	}
	best, bestN := 0, 0
	for s, n := range scripts {
		if n > bestN { // ties go to the first code in order
			best, bestN = s, n
		}
	}
	if bestN > latin {
		if best == scriptZH && scripts[scriptJA] > 0 {
			return "ja"
		}
		return scriptCodes[best]
	}
	if latin == 0 {
		return ""
	}
	var counts [len(detectLangs)]int
	// Words are runs of letters and apostrophes, lowercased.
	var buf [32]byte
	w := buf[:0]
	count := func() {
		if len(w) > 0 {
			for _, l := range langIndex[string(w)] {
				counts[l]++
			}
			w = w[:0]
		}
	}
	for _, r := range text {
		// Letters one language has and English lacks count as telling
		// words.
		switch r {
		case 'ã', 'õ', 'ç', 'Ã', 'Õ', 'Ç':
			counts[1]++ // pt
		case 'ñ', 'Ñ', '¿', '¡':
			counts[2]++ // es
		case 'ß', 'ä', 'ö', 'ü':
			counts[4]++ // de
		}
		r = unicode.ToLower(r)
		if r != '\'' && !unicode.IsLetter(r) {
			count()
			continue
		}
		w = utf8.AppendRune(w, r)
	}
	count()
	// Another language needs more telling words than English has, and two
	// of them when English has any: one "de" in an English tweet is not
	// Dutch.
	lang, n := 0, counts[0]
	for l := 1; l < len(detectLangs); l++ {
		if counts[l] > n && (counts[l] >= 2 || counts[0] == 0) {
			lang, n = l, counts[l]
		}
	}
	return detectLangs[lang]
}
