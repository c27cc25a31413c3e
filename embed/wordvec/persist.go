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
// uvarint; the vectors as float32; and a CRC-32 (IEEE) of everything before.
const (
	saveMagic   = "ATTUNEWV"
	saveVersion = 1

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
	if hdr[0] != saveVersion {
		return nil, bad("version %d, want %d", hdr[0], saveVersion)
	}
	dim, n := int(hdr[1]), int(hdr[2])
	if dim < 1 || dim > maxLoadDim || n > maxLoadWords {
		return nil, bad("implausible size %d words × %d", n, dim)
	}
	byteReader := &teeByteReader{br: br, w: crc}
	m := &Model{Dim: dim, Words: make([]string, n), Counts: make([]int, n)}
	for i := range n {
		l, err := binary.ReadUvarint(byteReader)
		if err != nil || l > maxWordLen {
			return nil, bad("word %d: bad length", i)
		}
		b := make([]byte, l)
		if _, err := io.ReadFull(tr, b); err != nil {
			return nil, bad("word %d: %v", i, err)
		}
		m.Words[i] = string(b)
	}
	for i := range n {
		c, err := binary.ReadUvarint(byteReader)
		if err != nil || c > math.MaxInt32 {
			return nil, bad("count %d: bad value", i)
		}
		m.Counts[i] = int(c)
	}
	m.Vectors = make([]float32, n*dim)
	buf := make([]byte, 4*1024)
	for i := 0; i < len(m.Vectors); {
		c := min(len(m.Vectors)-i, len(buf)/4)
		if _, err := io.ReadFull(tr, buf[:4*c]); err != nil {
			return nil, bad("vectors: %v", err)
		}
		for j := range c {
			m.Vectors[i+j] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*j:]))
		}
		i += c
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
