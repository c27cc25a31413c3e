package main

import (
	"bytes"
	"fmt"
	"io"
	"testing"
)

// writeBench prints what every bench subcommand printed before it shared
// the code: an indented JSON object ending in a newline, or the table.
func TestWriteBench(t *testing.T) {
	type result struct {
		Docs  int     `json:"docs"`
		Ratio float64 `json:"ratio"`
	}
	res := &result{Docs: 3, Ratio: 0.5}
	table := func(w io.Writer, r *result) { fmt.Fprintf(w, "%d docs, ratio %.2f×\n", r.Docs, r.Ratio) }
	for _, tc := range []struct {
		asJSON bool
		want   string
	}{
		{true, "{\n  \"docs\": 3,\n  \"ratio\": 0.5\n}\n"},
		{false, "3 docs, ratio 0.50×\n"},
	} {
		var b bytes.Buffer
		if err := writeBench(&b, tc.asJSON, res, table); err != nil {
			t.Fatal(err)
		}
		if b.String() != tc.want {
			t.Errorf("asJSON %v: got %q, want %q", tc.asJSON, b.String(), tc.want)
		}
	}
}
