package embed

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// The tests read the public datasets in ../../shared/datasets (see its
// README.md), or wherever ATTUNE_DATASETS points. Every file is checked
// against the sha256 in MANIFEST.json before use.

func datasetsDir() string {
	if d := os.Getenv("ATTUNE_DATASETS"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "shared", "datasets")
}

var verified sync.Map // relative path → struct{}

// openDataset opens a dataset file by its path relative to the datasets
// directory after checking its sha256, failing the test if it is missing or
// altered.
func openDataset(t testing.TB, rel string) *os.File {
	t.Helper()
	path := filepath.Join(datasetsDir(), rel)
	if _, ok := verified.Load(rel); !ok {
		want := manifestSHA256(t, rel)
		f, err := os.Open(path)
		if err != nil {
			t.Fatalf("open dataset (set ATTUNE_DATASETS to the datasets directory): %v", err)
		}
		h := sha256.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			t.Fatalf("hash %s: %v", path, err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != want {
			t.Fatalf("%s: sha256 %s, MANIFEST.json says %s", path, got, want)
		}
		verified.Store(rel, struct{}{})
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open dataset: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func manifestSHA256(t testing.TB, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(datasetsDir(), "MANIFEST.json"))
	if err != nil {
		t.Fatalf("read datasets manifest (set ATTUNE_DATASETS to the datasets directory): %v", err)
	}
	var m struct {
		Files []struct {
			Path   string `json:"path"`
			SHA256 string `json:"sha256"`
		} `json:"files"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("decode datasets manifest: %v", err)
	}
	for _, f := range m.Files {
		if f.Path == rel {
			return f.SHA256
		}
	}
	t.Fatalf("%s is not in MANIFEST.json", rel)
	return ""
}

var (
	tweetsOnce sync.Once
	tweetsText []string
)

// airlineTweets returns the text of the 14,640 rows of Tweets.csv, in file
// order, read once.
func airlineTweets(t testing.TB) []string {
	t.Helper()
	f := openDataset(t, "twitter_us_airline_sentiment/Tweets.csv")
	tweetsOnce.Do(func() {
		r := csv.NewReader(f)
		header, err := r.Read()
		if err != nil {
			t.Fatalf("read Tweets.csv header: %v", err)
		}
		col := -1
		for i, name := range header {
			if name == "text" {
				col = i
			}
		}
		if col < 0 {
			t.Fatalf("Tweets.csv has no text column: %v", header)
		}
		for {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("read Tweets.csv: %v", err)
			}
			tweetsText = append(tweetsText, rec[col])
		}
	})
	if len(tweetsText) != 14640 {
		t.Fatalf("Tweets.csv: %d rows, want 14640", len(tweetsText))
	}
	return tweetsText
}
