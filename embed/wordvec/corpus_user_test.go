package wordvec

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestReadTexts(t *testing.T) {
	tweets := readColumn(t, "twitter_us_airline_sentiment/Tweets.csv", ',', "text")[:500]
	dir := t.TempDir()
	var b strings.Builder
	for i, s := range tweets {
		line, _ := json.Marshal(map[string]any{"id": i, "body": s})
		b.Write(line)
		b.WriteString("\n\n")
	}
	jsonl := filepath.Join(dir, "tweets.jsonl")
	if err := os.WriteFile(jsonl, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadTexts(jsonl, "body")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, tweets) {
		t.Errorf("JSONL: read %d texts, want the %d written", len(got), len(tweets))
	}

	bank, err := ReadTexts(filepath.Join(datasetsDir, "banking77", "train.csv"), "")
	if err != nil {
		t.Fatal(err)
	}
	if want := readColumn(t, "banking77/train.csv", ',', "text"); !slices.Equal(bank, want) {
		t.Errorf("CSV: read %d texts, want %d", len(bank), len(want))
	}

	bad := []struct{ name, file, body, field string }{
		{"unknown format", "c.txt", "hello\n", ""},
		{"not JSON", "c.jsonl", "{\"text\": \"ok\"}\nnot json\n", ""},
		{"no such column", "c.csv", "id,body\n1,late flight\n", "text"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, tt.file)
			if err := os.WriteFile(p, []byte(tt.body), 0o644); err != nil {
				t.Fatal(err)
			}
			if texts, err := ReadTexts(p, tt.field); err == nil {
				t.Errorf("ReadTexts = %d texts, nil; want an error", len(texts))
			}
		})
	}
}
