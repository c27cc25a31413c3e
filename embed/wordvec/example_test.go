package wordvec_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/attune-cx/attune/embed/wordvec"
)

func ExampleTokenize() {
	fmt.Printf("%q\n", wordvec.Tokenize("I'm NOT happy: café closed, £50 lost 😡!"))
	// Output: ["i" "'" "m" "not" "happy" ":" "cafe" "closed" "," "£50" "lost" "😡" "!"]
}

func ExampleTruncate() {
	long := strings.Repeat("late again. ", 300) // 900 words and full stops
	// Without a vocabulary, every character may be a token.
	cut := wordvec.Truncate(long)
	fmt.Println(len(wordvec.Tokenize(cut)), strings.HasPrefix(long, cut))
	// A model knows its tokens: here every word is one.
	m := &wordvec.Model{Dim: 1, Words: []string{"late", "again", "."}, Vectors: []float32{1, 1, 1}}
	cut = m.Truncate(long)
	fmt.Println(len(m.Tokens(cut)), strings.HasPrefix(long, cut))
	// Output:
	// 153 true
	// 510 true
}

// BenchmarkTokenize measures the pre-tokenizer on a typical complaint.
// Run with: go test -run '^$' -bench Tokenize ./embed/wordvec/
func BenchmarkTokenize(b *testing.B) {
	const text = "@united my flight was Cancelled Flightled again, 3 hours on hold & no refund!! #fail 😡"
	b.ReportAllocs()
	for b.Loop() {
		wordvec.Tokenize(text)
	}
	b.ReportMetric(float64(len(text))*float64(b.N)/b.Elapsed().Seconds()/1e6, "MB/s")
}
