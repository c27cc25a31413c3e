package wordvec

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
)

// The Save format, little-endian: magic, version, dim and word count as
// uint32; each word as a uvarint byte length and its bytes; each count as a
// uvarint; the vectors as float32; from version 2 the piece count as a
// uint32, each piece as a word is, and the piece vectors as float32; and a
// CRC-32 (IEEE) of everything before. Load reads versions 1 and 2.
const (
	saveMagic   = "ATTUNEWV"
	saveVersion = 2

	// maxLoadWords and maxLoadDim bound what Load accepts, so that a corrupt
	// header cannot make it allocate without limit.
	maxLoadWords = 1 << 24
	maxLoadDim   = 1 << 14
	maxWordLen   = 1 << 16
)

// ErrBadModelFile is wrapped by Load when its input is not a model Save wrote.
var ErrBadModelFile = errors.New("not a word vector model file")

// Save writes m in a compact binary form that Load reads back exactly.
func (m *Model) Save(w io.Writer) error {
	if err := m.validate(); err != nil {
		return fmt.Errorf("save word vectors: %w", err)
	}
	crc := crc32.NewIEEE()
	bw := bufio.NewWriter(io.MultiWriter(w, crc))
	var scratch [binary.MaxVarintLen64]byte
	bw.WriteString(saveMagic)
	for _, v := range []uint32{saveVersion, uint32(m.Dim), uint32(len(m.Words))} {
		binary.Write(bw, binary.LittleEndian, v)
	}
	for _, word := range m.Words {
		bw.Write(binary.AppendUvarint(scratch[:0], uint64(len(word))))
		bw.WriteString(word)
	}
	for i := range m.Words {
		c := 0
		if m.Counts != nil {
			c = m.Counts[i]
		}
		bw.Write(binary.AppendUvarint(scratch[:0], uint64(c)))
	}
	if _, err := float32s(m.Vectors).WriteTo(bw); err != nil {
		return fmt.Errorf("save word vectors: %w", err)
	}
	binary.Write(bw, binary.LittleEndian, uint32(len(m.Pieces)))
	for _, p := range m.Pieces {
		bw.Write(binary.AppendUvarint(scratch[:0], uint64(len(p))))
		bw.WriteString(p)
	}
	if _, err := float32s(m.PieceVectors).WriteTo(bw); err != nil {
		return fmt.Errorf("save word vectors: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("save word vectors: %w", err)
	}
	if err := binary.Write(w, binary.LittleEndian, crc.Sum32()); err != nil {
		return fmt.Errorf("save word vectors: %w", err)
	}
	return nil
}

// Load reads a model written by Save. It fails, wrapping ErrBadModelFile,
// on anything else, including a truncated or altered file.
func Load(r io.Reader) (*Model, error) {
	crc := crc32.NewIEEE()
	br := bufio.NewReader(r)
	tr := io.TeeReader(br, crc)
	bad := func(format string, args ...any) error {
		return fmt.Errorf("load word vectors: %w: "+format, append([]any{ErrBadModelFile}, args...)...)
	}
	magic := make([]byte, len(saveMagic))
	if _, err := io.ReadFull(tr, magic); err != nil || string(magic) != saveMagic {
		return nil, bad("missing magic")
	}
	var hdr [3]uint32
	if err := binary.Read(tr, binary.LittleEndian, &hdr); err != nil {
		return nil, bad("short header")
	}
	if hdr[0] != 1 && hdr[0] != saveVersion {
		return nil, bad("version %d, want 1 or %d", hdr[0], saveVersion)
	}
	dim, n := int(hdr[1]), int(hdr[2])
	if dim < 1 || dim > maxLoadDim || n > maxLoadWords {
		return nil, bad("implausible size %d words × %d", n, dim)
	}
	byteReader := &teeByteReader{br: br, w: crc}
	m := &Model{Dim: dim, Words: make([]string, n), Counts: make([]int, n)}
	readStrings := func(what string, out []string) error {
		for i := range out {
			l, err := binary.ReadUvarint(byteReader)
			if err != nil || l > maxWordLen {
				return bad("%s %d: bad length", what, i)
			}
			b := make([]byte, l)
			if _, err := io.ReadFull(tr, b); err != nil {
				return bad("%s %d: %v", what, i, err)
			}
			out[i] = string(b)
		}
		return nil
	}
	buf := make([]byte, 4*1024)
	readFloats := func(what string, out []float32) error {
		for i := 0; i < len(out); {
			c := min(len(out)-i, len(buf)/4)
			if _, err := io.ReadFull(tr, buf[:4*c]); err != nil {
				return bad("%s: %v", what, err)
			}
			for j := range c {
				out[i+j] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*j:]))
			}
			i += c
		}
		return nil
	}
	if err := readStrings("word", m.Words); err != nil {
		return nil, err
	}
	for i := range n {
		c, err := binary.ReadUvarint(byteReader)
		if err != nil || c > math.MaxInt32 {
			return nil, bad("count %d: bad value", i)
		}
		m.Counts[i] = int(c)
	}
	m.Vectors = make([]float32, n*dim)
	if err := readFloats("vectors", m.Vectors); err != nil {
		return nil, err
	}
	if hdr[0] >= 2 {
		var np uint32
		if err := binary.Read(tr, binary.LittleEndian, &np); err != nil || np > maxLoadWords {
			return nil, bad("bad piece count")
		}
		m.Pieces = make([]string, np)
		if err := readStrings("piece", m.Pieces); err != nil {
			return nil, err
		}
		m.PieceVectors = make([]float32, int(np)*dim)
		if err := readFloats("piece vectors", m.PieceVectors); err != nil {
			return nil, err
		}
	}
	want := crc.Sum32()
	var got uint32
	if err := binary.Read(br, binary.LittleEndian, &got); err != nil || got != want {
		return nil, bad("checksum mismatch")
	}
	if err := m.validate(); err != nil {
		return nil, bad("%v", err)
	}
	return m, nil
}

// teeByteReader lets binary.ReadUvarint read through the checksum.
type teeByteReader struct {
	br *bufio.Reader
	w  io.Writer
}

func (t *teeByteReader) ReadByte() (byte, error) {
	b, err := t.br.ReadByte()
	if err == nil {
		t.w.Write([]byte{b})
	}
	return b, err
}
