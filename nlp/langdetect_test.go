package nlp

import (
	"strings"
	"testing"
	"unicode"
)

// detectLanguageRef is DetectLanguage as first written, with maps and
// strings.FieldsFunc: the specification the allocation-free DetectLanguage
// is held to.
func detectLanguageRef(text string) string {
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
			scripts["ja"] += 2
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
	idx := map[string][]string{}
	for lang, ws := range langWords {
		for _, w := range ws {
			idx[w] = append(idx[w], lang)
		}
	}
	counts := map[string]int{}
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && r != '\''
	}) {
		for _, l := range idx[w] {
			counts[l]++
		}
	}
	for _, r := range text {
		switch r {
		case 'ã', 'õ', 'ç', 'Ã', 'Õ', 'Ç':
			counts["pt"]++
		case 'ñ', 'Ñ', '¿', '¡':
			counts["es"]++
		case 'ß', 'ä', 'ö', 'ü':
			counts["de"]++
		}
	}
	lang, n := "en", counts["en"]
	for _, l := range []string{"pt", "es", "fr", "de", "it", "nl"} {
		if counts[l] > n && (counts[l] >= 2 || counts["en"] == 0) {
			lang, n = l, counts[l]
		}
	}
	return lang
}

// TestDetectLanguageMatchesRef holds DetectLanguage to its reference on
// every dataset text and on texts that tie scripts or mix languages.
func TestDetectLanguageMatchesRef(t *testing.T) {
	texts := append(allTexts(t),
		"", "123", "Привет мир", "Γειά σου", "日本語のテキスト", "中文", "한국어", "नमस्ते", "สวัสดี", "שלום", "مرحبا",
		"ab Пр", "Пр Γε", "Γε Пр", "中文 カ", "¿Qué tal? ¡Muy bien!", "ÄÖÜ straße", "não é bom, prazo prazo", "de de de",
		"O PRODUTO NÃO CHEGOU", "the flight was late", "İstanbul", "l'été est très beau", "\xffnão\xff",
	)
	for _, s := range texts {
		if got, want := DetectLanguage(s), detectLanguageRef(s); got != want {
			t.Errorf("DetectLanguage(%q) = %q, reference %q", s, got, want)
		}
	}
}

// FuzzDetectLanguage holds DetectLanguage to its reference on arbitrary
// strings.
func FuzzDetectLanguage(f *testing.F) {
	for _, s := range []string{"não é", "Пр Γε", "中文 カ", "¡de de!"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := DetectLanguage(s), detectLanguageRef(s); got != want {
			t.Errorf("DetectLanguage(%q) = %q, reference %q", s, got, want)
		}
	})
}
