package embed

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSplitSentences(t *testing.T) {
	review := "The driver was rude. My package arrived two days late! Why does this keep happening? " +
		"I will not order again."
	tests := []struct {
		name string
		text string
		max  int
		want []string
	}{
		{"fits", review, 500, []string{review}},
		{"on sentences", review, 60, []string{
			"The driver was rude. My package arrived two days late!",
			"Why does this keep happening? I will not order again.",
		}},
		{"long sentence at spaces", "aaa bbb ccc ddd", 8, []string{"aaa bbb", "ccc ddd"}},
		{"long word", "abcdefghij", 4, []string{"abcd", "efgh", "ij"}},
		{"multibyte", "ééééé ééééé", 5, []string{"ééééé", "ééééé"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SplitSentences(tt.text, tt.max)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			for _, c := range got {
				if utf8.RuneCountInString(c) > tt.max {
					t.Errorf("chunk of %d characters > %d", utf8.RuneCountInString(c), tt.max)
				}
			}
		})
	}
}

func TestSplitSentencesKeepsEveryWord(t *testing.T) {
	for _, text := range airlineTweets(t)[:300] {
		long := strings.Repeat(text+" ", 20)
		chunks := SplitSentences(long, 200)
		if got, want := strings.Fields(strings.Join(chunks, " ")), strings.Fields(long); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("words lost or changed splitting %q", text)
		}
	}
}
