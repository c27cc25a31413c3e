package wordvec

import (
	"math"
	"strings"
	"sync"
)

// ggufContextLength is bert.context_length, the number of position
// embeddings. Ollama truncates an input to min(num_ctx, this) tokens and then
// adds [CLS] and [SEP], and a position beyond the table aborts the runner
// (GGML_ASSERT in get_rows), so it must be at least num_ctx, 2048 by default.
const ggufContextLength = 2048

// Model is a trained set of word vectors. It must not be modified or copied
// once Embed or WriteGGUF has been called; all methods are safe for
// concurrent use.
type Model struct {
	// Words is the vocabulary, most frequent first.
	Words []string
	// Counts holds each word's count in the training corpus.
	Counts []int
	// Dim is the trained dimensionality d.
	Dim int
	// Vectors holds len(Words) rows of Dim values: the word vectors with the
	// SIF weight and the common-component removal baked in, so that a text's
	// embedding is simply the normalised sum of its words' rows.
	Vectors []float32
	// Pieces are the subword fallback for words outside Words, in WordPiece
	// notation: "##ing" continues a word, "refu" starts one. The server
	// covers an unknown word greedily, longest piece first, starting with a
	// whole word or a starting piece; a word it cannot cover becomes [UNK],
	// which adds nothing. A starting piece is never also in Words.
	Pieces []string
	// PieceVectors holds len(Pieces) rows of Dim values, in the space of
	// Vectors: an unknown word's vector is the sum of its pieces' rows.
	PieceVectors []float32

	once  sync.Once
	index *tokenIndex
	err   error // why the exported fields cannot be used, if they cannot
}

// tokenIndex is the GGUF vocabulary as llama.cpp's WPM tokenizer sees it.
type tokenIndex struct {
	ids         map[string]int32 // token text → token id
	maxTokenLen int              // longest token text, in bytes
}

// ServedDim is the embedding dimension Ollama reports for the GGUF of m: the
// trained dimension plus three layout dimensions, rounded up to a multiple
// of 8. Only the first Dim dimensions of a served vector are ever non-zero.
func (m *Model) ServedDim() int { return ServedDimFor(m.Dim) }

// ServedDimFor is the served dimension of a model trained with dim
// dimensions.
func ServedDimFor(dim int) int { return (dim + layoutDims + 7) / 8 * 8 }

// layoutDims are the extra dimensions of each GGUF row that keep the
// server's LayerNorms exact identities (see WriteGGUF).
const layoutDims = 3

func (m *Model) tokens() (*tokenIndex, error) {
	m.once.Do(func() {
		if m.err = m.validate(); m.err != nil {
			return
		}
		ix := &tokenIndex{ids: make(map[string]int32, len(m.Words)+len(specialTokens))}
		add := func(text string, id int32) {
			ix.ids[text] = id
			ix.maxTokenLen = max(ix.maxTokenLen, len(text))
		}
		for i, s := range specialTokens {
			add(s, int32(i))
		}
		for i, w := range m.Words {
			add(wordPiecePrefix+w, int32(firstWordID+i))
		}
		for i, p := range m.Pieces {
			add(pieceToken(p), int32(firstWordID+len(m.Words)+i))
		}
		m.index = ix
	})
	return m.index, m.err
}

// tokenIDs returns the ids llama.cpp gives text (without the [CLS] and [SEP]
// it adds around them): special token texts are cut out first, then each
// word is matched greedily, longest piece first, as "▁"+word; a word that
// cannot be covered entirely becomes [UNK].
func (m *Model) tokenIDs(text string) ([]int32, error) {
	ix, err := m.tokens()
	if err != nil {
		return nil, err
	}
	var out []int32
	for {
		frag, special, rest := cutSpecial(text)
		for _, w := range Tokenize(frag) {
			out = ix.appendWord(out, wordPiecePrefix+w)
		}
		if special < 0 {
			return out, nil
		}
		out = append(out, special)
		text = rest
	}
}

// appendWord appends the pieces of word, which carries the "▁" prefix, as
// llm_tokenizer_wpm_session::tokenize does.
func (ix *tokenIndex) appendWord(out []int32, word string) []int32 {
	start := len(out)
	for i := 0; i < len(word); {
		matched := false
		for j := min(len(word), i+ix.maxTokenLen+1); j > i; j-- {
			if id, ok := ix.ids[word[i:j]]; ok {
				out = append(out, id)
				i, matched = j, true
				break
			}
		}
		if !matched {
			out = out[:start]
			break
		}
	}
	if len(out) == start {
		out = append(out, unkID)
	}
	return out
}

// pieceToken is the GGUF token text of a piece: a continuation piece is
// stored bare, a starting piece with the phantom space words carry.
func pieceToken(p string) string {
	if rest, ok := strings.CutPrefix(p, continuationMark); ok {
		return rest
	}
	return wordPiecePrefix + p
}

// continuationMark starts a continuation piece in Model.Pieces. No word of
// Tokenize contains '#', which is punctuation, so it cannot be confused with
// a word.
const continuationMark = "##"

// row returns the vector of token id, which must be a word or a piece.
func (m *Model) row(id int32) []float32 {
	i, d := int(id-firstWordID), m.Dim
	if i < len(m.Words) {
		return m.Vectors[i*d : (i+1)*d]
	}
	i -= len(m.Words)
	return m.PieceVectors[i*d : (i+1)*d]
}

// Tokens returns the token texts the served tokenizer gives text, without
// the [CLS] and [SEP] it adds: "▁word" for a known word, its pieces for a
// word the pieces cover, and "[UNK]" for any other word. It is for
// inspecting what the model sees, such as how often words are unknown.
func (m *Model) Tokens(text string) []string {
	ids, err := m.tokenIDs(text)
	if err != nil {
		return nil
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		switch {
		case id < firstWordID:
			out[i] = specialTokens[id]
		case int(id-firstWordID) < len(m.Words):
			out[i] = wordPiecePrefix + m.Words[id-firstWordID]
		default:
			out[i] = pieceToken(m.Pieces[int(id-firstWordID)-len(m.Words)])
		}
	}
	return out
}

// Embed returns what Ollama serves for text from the GGUF of m: a vector of
// ServedDim values, L2-normalised, whose first Dim values are the sum of the
// rows of the text's tokens (known words, and the pieces of the other words)
// and the rest zero. A text with no known word or piece gets the zero
// vector. Embed reads the m.Truncate(text) prefix only, which is what the
// server embeds whole. It returns nil if the exported fields of m are
// inconsistent, which no Model from Train or Load is.
func (m *Model) Embed(text string) []float32 {
	ids, err := m.tokenIDs(m.Truncate(text))
	if err != nil {
		return nil
	}
	out := make([]float32, m.ServedDim())
	d := m.Dim
	sum := make([]float64, d)
	for _, id := range ids {
		if id < firstWordID {
			continue // control tokens and [UNK] have zero vectors
		}
		for j, x := range m.row(id) {
			sum[j] += float64(x)
		}
	}
	var norm float64
	for _, x := range sum {
		norm += x * x
	}
	if norm == 0 {
		return out
	}
	norm = math.Sqrt(norm)
	for j, x := range sum {
		out[j] = float32(x / norm)
	}
	return out
}
