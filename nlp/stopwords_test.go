package nlp

import (
	"slices"
	"testing"

	"github.com/attune-cx/attune/nlp/nlpdata"
)

func TestIsStopWordIn(t *testing.T) {
	for _, c := range []struct {
		lang, word string
		want       bool
	}{
		{"pt", "não", true}, {"pt", "nao", true}, {"pt", "muito", true}, {"pt", "você", true}, {"pt", "voce", true},
		{"pt", "está", true}, {"pt", "esta", true}, {"pt", "produto", false}, {"pt", "entrega", false}, {"pt", "atraso", false},
		{"es", "muy", true}, {"es", "entrega", false}, {"fr", "été", true}, {"fr", "ete", true}, {"fr", "livraison", false},
		{"de", "nicht", true}, {"de", "lieferung", false}, {"ru", "не", true},
		{"en", "the", true}, {"en", "can't", true}, {"en", "delay", false},
		{"", "the", true}, {"ja", "the", true}, // no list: English
		{"pt", "the", true}, {"es", "off", true}, // English counts everywhere
		{"en", "não", false}, {"es", "não", false}, // each language its own list
	} {
		if got := IsStopWordIn(c.lang, c.word); got != c.want {
			t.Errorf("IsStopWordIn(%q, %q) = %v, want %v", c.lang, c.word, got, c.want)
		}
	}
}

// TestAnalyzePortugueseStems checks on the held-out Olist reviews that the
// stems of Portuguese text carry no Portuguese stop word, the words that
// named segments "não-…": a review's stems are what segment naming reads.
func TestAnalyzePortugueseStems(t *testing.T) {
	d, err := nlpdata.Open(datasetsDir())
	if err != nil {
		t.Fatal(err)
	}
	_, ol, err := d.Olist()
	if err != nil {
		t.Fatal(err)
	}
	a := newAnalyzer(t)
	pt, withContent := 0, 0
	for _, r := range ol {
		an := a.Analyze(r.Text)
		if an.Language != "pt" {
			continue
		}
		pt++
		for _, s := range an.Stems {
			if IsStopWordIn("pt", s) {
				t.Errorf("%q: stem %q is a Portuguese stop word (stems %q)", r.Text, s, an.Stems)
			}
		}
		for _, w := range []string{"não", "nao", "muito", "que", "com"} {
			if slices.Contains(an.Stems, w) {
				t.Errorf("%q: stems %q hold %q", r.Text, an.Stems, w)
			}
		}
		if len(an.Stems) > 0 {
			withContent++
		}
	}
	// The check means something only if the reviews were read as
	// Portuguese and kept their content words.
	if pt < len(ol)*3/4 || withContent < pt*3/4 {
		t.Errorf("%d of %d reviews read as Portuguese, %d of them with stems", pt, len(ol), withContent)
	}
}
