package wordvec

import (
	"slices"
	"strings"
	"testing"
)

func TestTokenize(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"lowercase and whitespace", "  My FLIGHT\twas\r\nlate ", []string{"my", "flight", "was", "late"}},
		{"apostrophe splits", "I'm sure it's", []string{"i", "'", "m", "sure", "it", "'", "s"}},
		{"each punctuation char is a word", "LATE, Delivery!!", []string{"late", ",", "delivery", "!", "!"}},
		{"hyphen, period, underscore", "e-mail 3.5 a_b", []string{"e", "-", "mail", "3", ".", "5", "a", "_", "b"}},
		{"ASCII symbols split", "$50 a+b x<y a|b ~ok `q` ^", []string{"$", "50", "a", "+", "b", "x", "<", "y", "a", "|", "b", "~", "ok", "`", "q", "`", "^"}},
		{"non-ASCII symbols stay in the word", "£50 5€ 10°C", []string{"£50", "5€", "10°c"}},
		{"precomposed accents map to the base letter", "Café NÃO à İstanbul", []string{"cafe", "nao", "a", "istanbul"}},
		{"combining marks are kept", "cafe\u0301", []string{"cafe\u0301"}},
		{"non-ASCII punctuation splits", "¿Qué? «oui» — “quoted”…", []string{"¿", "que", "?", "«", "oui", "»", "—", "“", "quoted", "”", "…"}},
		{"emoji join the word they touch", "great😀 service 👍🏽!", []string{"great😀", "service", "👍🏽", "!"}},
		{"zero-width joiner and space are dropped", "a\u200db c\u200bd \ufeffe", []string{"ab", "cd", "e"}},
		{"control characters are dropped", "late\x00r\x07flight\x1b", []string{"laterflight"}},
		{"unicode whitespace splits", "a\u00a0b\u0085c\u2003d\u3000e", []string{"a", "b", "c", "d", "e"}},
		{"CJK ideographs are single words", "中文abc", []string{"中", "文", "abc"}},
		{"invalid UTF-8 is dropped", "ab\xffcd", []string{"abcd"}},
		{"special token text is not special here", "[SEP]", []string{"[", "sep", "]"}},
		{"empty", "", nil},
		{"only spaces", " \t\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Tokenize(tt.in); !slices.Equal(got, tt.want) {
				t.Errorf("Tokenize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestCutSpecial(t *testing.T) {
	tests := []struct {
		in, before, after string
		id                int32
	}{
		{"no special", "no special", "", -1},
		{"a[SEP]b[CLS]c", "a", "b[CLS]c", sepID},
		{"x[CLS]y[SEP]", "x", "y[SEP]", clsID},
		{"[MASK]", "", "", maskID},
		{"[sep] is case-sensitive", "[sep] is case-sensitive", "", -1},
	}
	for _, tt := range tests {
		before, id, after := cutSpecial(tt.in)
		if before != tt.before || id != tt.id || after != tt.after {
			t.Errorf("cutSpecial(%q) = %q, %d, %q; want %q, %d, %q", tt.in, before, id, after, tt.before, tt.id, tt.after)
		}
	}
}

func TestTokenIDs(t *testing.T) {
	m := &Model{Words: []string{"late", "a", "b", "flight"}, Dim: 1, Vectors: make([]float32, 4)}
	word := func(w string) int32 { return int32(firstWordID + slices.Index(m.Words, w)) }
	tests := []struct {
		in   string
		want []int32
	}{
		{"Late flight", []int32{word("late"), word("flight")}},
		{"flights", []int32{unkID}},                 // "▁flight" matches but "s" does not: the whole word is [UNK]
		{"a\u2581b", []int32{word("a"), word("b")}}, // a U+2581 inside a word starts a new piece
		{"x\u2581b", []int32{unkID}},
		{"late[SEP]flight", []int32{word("late"), sepID, word("flight")}},
		{"[UNK]", []int32{unkID}},
		{"", nil},
	}
	for _, tt := range tests {
		if got, err := m.tokenIDs(tt.in); err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("tokenIDs(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// wordModel is a model of the given words and no pieces, with one-value
// vectors: its token count is one per known word.
func wordModel(words ...string) *Model {
	m := &Model{Dim: 1, Words: words, Vectors: make([]float32, len(words))}
	for i := range m.Vectors {
		m.Vectors[i] = 1
	}
	return m
}

func TestTruncate(t *testing.T) {
	long := strings.Repeat("the flight, late again! ", 200) // 5 words each, 1000 in all
	m := wordModel("the", "flight", ",", "late", "again", "!", "a", "b")
	tests := []struct {
		name       string
		in         string
		wantTokens int
	}{
		{"short text unchanged", "my flight was late", 4},
		{"long text cut to MaxTokens", long, MaxTokens},
		{"specials count", strings.Repeat("[SEP]", 600), MaxTokens},
		{"exactly MaxTokens", strings.Repeat("a ", MaxTokens), MaxTokens},
		{"U+2581 starts another word token", strings.Repeat("a\u2581b ", 300), MaxTokens / 2 * 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := m.Truncate(tt.in)
			if !strings.HasPrefix(tt.in, got) {
				t.Fatalf("Model.Truncate returned a non-prefix")
			}
			if n := len(m.Tokens(got)); n != tt.wantTokens {
				t.Errorf("Model.Truncate kept %d tokens, want %d", n, tt.wantTokens)
			}
			if len(got) < len(tt.in) {
				// Cut at a token end: the next token must not fit.
				if next := m.Tokens(tt.in[:len(got)+strings.IndexFunc(tt.in[len(got):], func(r rune) bool { return r != ' ' })+1]); len(next) <= MaxTokens && len(next) > len(m.Tokens(got)) {
					t.Errorf("Model.Truncate cut %q before a token that fits", tt.in[len(got):len(got)+10])
				}
			}
			// Without the vocabulary, Truncate may cut earlier, never later.
			safe := Truncate(tt.in)
			if !strings.HasPrefix(got, safe) {
				t.Errorf("Truncate keeps more than Model.Truncate")
			}
			if len(safe) == 0 && len(got) > 0 {
				t.Errorf("Truncate keeps nothing")
			}
		})
	}
	// The vocabulary-free count holds for any model: a word of unknown
	// letters covered by one-letter pieces takes one token per letter.
	pieces := &Model{Dim: 1, Words: []string{"x"}, Vectors: []float32{1},
		Pieces: []string{"q", "##q", "##x"}, PieceVectors: []float32{1, 1, 1}}
	text := strings.Repeat("qqxqx ", 300)
	if n := len(pieces.Tokens(Truncate(text))); n > MaxTokens || n < MaxTokens-5 {
		t.Errorf("Truncate of unknown words keeps %d tokens, want at most %d and close", n, MaxTokens)
	}
	if n := len(pieces.Tokens(pieces.Truncate(text))); n != MaxTokens {
		t.Errorf("Model.Truncate of unknown words keeps %d tokens, want %d", n, MaxTokens)
	}
}

func TestSplit(t *testing.T) {
	sentence := "The flight was delayed again and nobody at the gate could tell us why it happened. "
	long := strings.Repeat(sentence, 50) // 850 tokens
	words := Tokenize(sentence + " late my card charged twice")
	slices.Sort(words)
	m := wordModel(slices.Compact(words)...)
	tests := []struct {
		name      string
		text      string
		wantParts int
	}{
		{"short text whole", "my card was charged twice", 1},
		{"empty", "", 1},
		{"two pieces on sentences", long, 2},
		{"no sentence ends", strings.Repeat("late ", 1200), 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, exact := range []bool{true, false} {
				parts := Split(tt.text)
				if exact {
					parts = m.Split(tt.text)
					if len(parts) != tt.wantParts {
						t.Fatalf("Model.Split: %d parts, want %d", len(parts), tt.wantParts)
					}
				} else if len(parts) < tt.wantParts {
					t.Fatalf("Split: %d parts, fewer than Model.Split's %d", len(parts), tt.wantParts)
				}
				if strings.Join(parts, "") != tt.text {
					t.Error("parts do not add up to the text")
				}
				var words int
				for i, p := range parts {
					if m.Truncate(p) != p {
						t.Errorf("part %d has more than %d tokens", i, MaxTokens)
					}
					if i < len(parts)-1 && strings.Contains(tt.text, ". ") && !strings.HasSuffix(p, ".") {
						t.Errorf("part %d does not end a sentence: ...%q", i, p[max(0, len(p)-20):])
					}
					words += len(Tokenize(p))
				}
				if want := len(Tokenize(tt.text)); words != want {
					t.Errorf("parts hold %d tokens, text %d", words, want)
				}
			}
		})
	}
}
