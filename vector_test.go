package attune

import (
	"math"
	"slices"
	"testing"
)

func TestVectorBytesRoundTrip(t *testing.T) {
	v := Vector{0, -1.5, 3.25e-8, float32(math.Inf(1)), math.MaxFloat32}
	b := v.Bytes()
	if len(b) != 4*len(v) {
		t.Fatalf("%d bytes for %d floats", len(b), len(v))
	}
	got, err := VectorFromBytes(b)
	if err != nil || !slices.Equal(got, v) {
		t.Fatalf("round trip gave %v, %v; want %v", got, err, v)
	}
	if _, err := VectorFromBytes(b[:7]); err == nil {
		t.Error("7 bytes decoded as a vector")
	}
}
