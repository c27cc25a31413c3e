package cluster

import (
	"encoding/json"
	"errors"
	"math"
	"testing"
)

func TestAttrValue(t *testing.T) {
	cases := []struct {
		in   any
		want float64
		ok   bool
	}{
		{3.5, 3.5, true},
		{int(4), 4, true},
		{int64(-2), -2, true},
		{json.Number("12.25"), 12.25, true},
		{" 7 ", 7, true}, // a CSV import keeps numbers as text
		{"late", 0, false},
		{math.NaN(), 0, false},
		{math.Inf(1), 0, false},
		{json.Number("x"), 0, false},
		{nil, 0, false},
		{true, 0, false},
	}
	for _, c := range cases {
		got, ok := attrValue(c.in)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("attrValue(%#v) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
	if err := (Config{Attributes: []string{" "}}).WithDefaults().Validate(); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("blank attribute name: %v", err)
	}
}
