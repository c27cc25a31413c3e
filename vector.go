package attune

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Bytes encodes v as little-endian float32s, the form the segment store and
// the shared points stream keep vectors in.
func (v Vector) Bytes() []byte {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return b
}

// VectorFromBytes decodes what Vector.Bytes encoded.
func VectorFromBytes(b []byte) (Vector, error) {
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("%d bytes is not a whole number of float32s", len(b))
	}
	v := make(Vector, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v, nil
}
