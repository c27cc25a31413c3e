package wordvec

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/ollama/ollama/fs/ggml"
)

// GGUF layout constants. The encoder block is an identity, so its sizes only
// need to be valid: F32 tensors whose byte sizes are multiples of 32, since
// ggml.WriteGGUF aligns data to 32 bytes but computes offsets without padding.
const (
	ffnDim    = 32
	headCount = 2
	ggufF32   = 0

	// ModelName is the general.name written into the GGUF.
	ModelName = "attune-wordvec"
)

// WriteGGUF writes m as a one-block BERT GGUF (F32) that Ollama v0.6.5
// serves through /api/embed with exactly Embed's result, up to float32
// rounding.
//
// The server computes mean(LayerNorm³(row of each token)), then normalises.
// LayerNorm would centre and rescale every token, losing the SIF weights, so
// each row of length H = ServedDim() is laid out to make it an identity:
//
//	[ λ·v (Dim values) | −Σλ·v | β | −β | 0 … ]
//
// with λ one scale for all words and β chosen per row so that every row sums
// to zero and has squared norm exactly H. Then a row's mean is 0 and its
// variance 1, and LayerNorm with weight 1 and bias 0 returns it unchanged.
// The last LayerNorm's weight is 0 beyond Dim, so the pooled vector is
// λ·Σv followed by zeros, which normalises to Embed's. The attention and
// feed-forward weights are zero, so the block adds nothing; special tokens
// and [UNK] have zero content. bos_token_id names [CLS]: llama.cpp
// otherwise prepends bert-base's id 101, a word of this vocabulary.
func (m *Model) WriteGGUF(w io.WriteSeeker) error {
	if _, err := m.tokens(); err != nil {
		return fmt.Errorf("write GGUF: %w", err)
	}
	h := m.ServedDim()
	nTok := firstWordID + len(m.Words) + len(m.Pieces)

	tokens := make([]string, 0, nTok)
	types := make([]int32, 0, nTok)
	for _, s := range specialTokens {
		tokens = append(tokens, s)
		types = append(types, 3) // control
	}
	for _, word := range m.Words {
		tokens = append(tokens, wordPiecePrefix+word)
		types = append(types, 1) // normal
	}
	for _, p := range m.Pieces {
		tokens = append(tokens, pieceToken(p))
		types = append(types, 1)
	}
	kv := ggml.KV{
		"general.architecture":              "bert",
		"general.name":                      ModelName,
		"general.file_type":                 uint32(0), // all F32
		"bert.block_count":                  uint32(1), // 0 aborts the runner
		"bert.context_length":               uint32(ggufContextLength),
		"bert.embedding_length":             uint32(h),
		"bert.feed_forward_length":          uint32(ffnDim),
		"bert.attention.head_count":         uint32(headCount),
		"bert.attention.layer_norm_epsilon": float32(1e-12),
		"bert.attention.causal":             false,
		"bert.pooling_type":                 uint32(1), // mean
		"tokenizer.ggml.model":              "bert",
		"tokenizer.ggml.tokens":             tokens,
		"tokenizer.ggml.token_type":         types,
		"tokenizer.ggml.token_type_count":   uint32(2),
		"tokenizer.ggml.bos_token_id":       uint32(clsID),
		"tokenizer.ggml.cls_token_id":       uint32(clsID),
		"tokenizer.ggml.seperator_token_id": uint32(sepID), // sic, the llama.cpp key
		"tokenizer.ggml.unknown_token_id":   uint32(unkID),
		"tokenizer.ggml.padding_token_id":   uint32(padID),
		"tokenizer.ggml.mask_token_id":      uint32(maskID),
	}

	ones := constant(h, 1)
	lastNorm := make([]float32, h)
	for j := range m.Dim {
		lastNorm[j] = 1
	}
	t := func(name string, data io.WriterTo, shape ...uint64) ggml.Tensor {
		return ggml.Tensor{Name: name, Kind: ggufF32, Shape: shape, WriterTo: data}
	}
	H, F := uint64(h), uint64(ffnDim)
	tensors := []ggml.Tensor{
		t("token_embd.weight", m.embeddingRows(), uint64(nTok), H),
		t("position_embd.weight", zeros(ggufContextLength*h), ggufContextLength, H),
		t("token_types.weight", zeros(2*h), 2, H),
		t("token_embd_norm.weight", ones, H),
		t("token_embd_norm.bias", zeros(h), H),
		t("blk.0.attn_q.weight", zeros(h*h), H, H),
		t("blk.0.attn_q.bias", zeros(h), H),
		t("blk.0.attn_k.weight", zeros(h*h), H, H),
		t("blk.0.attn_k.bias", zeros(h), H),
		t("blk.0.attn_v.weight", zeros(h*h), H, H),
		t("blk.0.attn_v.bias", zeros(h), H),
		t("blk.0.attn_output.weight", zeros(h*h), H, H),
		t("blk.0.attn_output.bias", zeros(h), H),
		t("blk.0.attn_output_norm.weight", ones, H),
		t("blk.0.attn_output_norm.bias", zeros(h), H),
		t("blk.0.ffn_up.weight", zeros(ffnDim*h), F, H),
		t("blk.0.ffn_up.bias", zeros(ffnDim), F),
		t("blk.0.ffn_down.weight", zeros(h*ffnDim), H, F),
		t("blk.0.ffn_down.bias", zeros(h), H),
		t("blk.0.layer_output_norm.weight", float32s(lastNorm), H),
		t("blk.0.layer_output_norm.bias", zeros(h), H),
	}

	bw, err := newBufferedWriteSeeker(w)
	if err != nil {
		return fmt.Errorf("write GGUF: %w", err)
	}
	if err := ggml.WriteGGUF(bw, kv, tensors); err != nil {
		return fmt.Errorf("write GGUF: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write GGUF: %w", err)
	}
	return nil
}

// validate checks that the exported fields are consistent.
func (m *Model) validate() error {
	switch {
	case m.Dim < 1:
		return fmt.Errorf("model dimension %d < 1", m.Dim)
	case len(m.Vectors) != len(m.Words)*m.Dim:
		return fmt.Errorf("model has %d vector values for %d words of %d dimensions", len(m.Vectors), len(m.Words), m.Dim)
	case m.Counts != nil && len(m.Counts) != len(m.Words):
		return fmt.Errorf("model has %d counts for %d words", len(m.Counts), len(m.Words))
	case len(m.PieceVectors) != len(m.Pieces)*m.Dim:
		return fmt.Errorf("model has %d piece vector values for %d pieces of %d dimensions", len(m.PieceVectors), len(m.Pieces), m.Dim)
	}
	// Token texts must be distinct: words and starting pieces carry the
	// phantom space, continuation pieces do not, and none may contain it
	// elsewhere or be empty.
	seen := make(map[string]bool, len(m.Words)+len(m.Pieces))
	for _, w := range m.Words {
		if w == "" || seen[wordPiecePrefix+w] {
			return fmt.Errorf("model vocabulary has an empty or repeated word %q", w)
		}
		seen[wordPiecePrefix+w] = true
	}
	for _, p := range m.Pieces {
		tok := pieceToken(p)
		if tok == "" || tok == wordPiecePrefix || strings.Contains(strings.TrimPrefix(tok, wordPiecePrefix), wordPiecePrefix) || seen[tok] {
			return fmt.Errorf("model has an empty, repeated or malformed piece %q", p)
		}
		seen[tok] = true
	}
	for _, v := range [][]float32{m.Vectors, m.PieceVectors} {
		for _, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return errors.New("model has a non-finite vector value")
			}
		}
	}
	return nil
}

// embeddingRows streams token_embd.weight in the layout WriteGGUF describes.
func (m *Model) embeddingRows() io.WriterTo {
	h, d := m.ServedDim(), m.Dim
	// One scale for all rows keeps the SIF weights; the largest row uses half
	// of the squared norm H, so every β is real and well away from zero.
	var maxQ float64
	nRows := len(m.Words) + len(m.Pieces)
	for i := range nRows {
		var sq, sum float64
		for _, x := range m.row(int32(firstWordID + i)) {
			sq += float64(x) * float64(x)
			sum += float64(x)
		}
		maxQ = max(maxQ, sq+sum*sum)
	}
	lambda := 1.0
	if maxQ > 0 {
		lambda = math.Sqrt(float64(h) / 2 / maxQ)
	}
	return writerFunc(func(w io.Writer) (int64, error) {
		row := make([]float32, h)
		var n int64
		emit := func() error {
			k, err := float32s(row).WriteTo(w)
			n += k
			return err
		}
		// Special tokens: no content, all of the norm in the β pair.
		clear(row)
		row[d+1] = float32(math.Sqrt(float64(h) / 2))
		row[d+2] = -row[d+1]
		for range specialTokens {
			if err := emit(); err != nil {
				return n, err
			}
		}
		for i := range nRows {
			clear(row)
			var sq, sum float64
			for j, x := range m.row(int32(firstWordID + i)) {
				v := float32(lambda * float64(x))
				row[j] = v
				sq += float64(v) * float64(v)
				sum += float64(v)
			}
			row[d] = float32(-sum)
			sq += float64(row[d]) * float64(row[d])
			beta := math.Sqrt(max(0, float64(h)-sq) / 2)
			row[d+1], row[d+2] = float32(beta), float32(-beta)
			if err := emit(); err != nil {
				return n, err
			}
		}
		return n, nil
	})
}

type writerFunc func(io.Writer) (int64, error)

func (f writerFunc) WriteTo(w io.Writer) (int64, error) { return f(w) }

// float32s writes its values little-endian.
type float32s []float32

func (s float32s) WriteTo(w io.Writer) (int64, error) {
	var buf [4 * 1024]byte
	var n int64
	for len(s) > 0 {
		c := min(len(s), len(buf)/4)
		for i, x := range s[:c] {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(x))
		}
		k, err := w.Write(buf[:4*c])
		n += int64(k)
		if err != nil {
			return n, err
		}
		s = s[c:]
	}
	return n, nil
}

func constant(n int, x float32) float32s {
	s := make(float32s, n)
	for i := range s {
		s[i] = x
	}
	return s
}

// zeros writes n float32 zeros without allocating them.
type zeros int

func (z zeros) WriteTo(w io.Writer) (int64, error) {
	var buf [4 * 1024]byte
	var n int64
	for left := 4 * int64(z); left > 0; {
		k, err := w.Write(buf[:min(left, int64(len(buf)))])
		n += int64(k)
		left -= int64(k)
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// bufferedWriteSeeker buffers writes to an io.WriteSeeker. ggml.WriteGGUF
// issues one small write per field and only seeks to ask for the current
// offset, which the buffer answers without flushing.
type bufferedWriteSeeker struct {
	buf *bufio.Writer
	ws  io.WriteSeeker
	pos int64 // logical offset, buffered bytes included
}

func newBufferedWriteSeeker(ws io.WriteSeeker) (*bufferedWriteSeeker, error) {
	pos, err := ws.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, err
	}
	return &bufferedWriteSeeker{buf: bufio.NewWriterSize(ws, 1<<20), ws: ws, pos: pos}, nil
}

func (b *bufferedWriteSeeker) Write(p []byte) (int, error) {
	n, err := b.buf.Write(p)
	b.pos += int64(n)
	return n, err
}

func (b *bufferedWriteSeeker) Seek(offset int64, whence int) (int64, error) {
	if offset == 0 && whence == io.SeekCurrent {
		return b.pos, nil
	}
	if err := b.buf.Flush(); err != nil {
		return 0, err
	}
	pos, err := b.ws.Seek(offset, whence)
	if err == nil {
		b.pos = pos
	}
	return pos, err
}

func (b *bufferedWriteSeeker) Flush() error { return b.buf.Flush() }
