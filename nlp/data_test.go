package nlp

import (
	"bufio"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	attune "github.com/attune-cx/attune"
)

// The tests read the public datasets in ../../shared/datasets (see its
// README.md), or wherever ATTUNE_DATASETS points. Every file is checked
// against the sha256 in MANIFEST.json before use, so a figure a test reports
// is always about the published file.

func datasetsDir() string {
	if d := os.Getenv("ATTUNE_DATASETS"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "shared", "datasets")
}

var verified sync.Map // relative path → struct{}

// openDataset opens a dataset file by its path relative to the datasets
// directory after checking its sha256. It fails the test when the file is
// missing or altered: these tests exist to measure real data.
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

// tweet is one row of the airline tweets.
type tweet struct {
	Text      string
	Sentiment string // negative, neutral or positive
}

var (
	tweetsOnce sync.Once
	tweetsRows []tweet
)

// airlineTweets returns the 14,640 rows of Tweets.csv, read once.
func airlineTweets(t testing.TB) []tweet {
	t.Helper()
	f := openDataset(t, "twitter_us_airline_sentiment/Tweets.csv")
	tweetsOnce.Do(func() {
		r := csv.NewReader(f)
		header, err := r.Read()
		if err != nil {
			t.Fatalf("read Tweets.csv header: %v", err)
		}
		col := map[string]int{}
		for i, name := range header {
			col[name] = i
		}
		for {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("read Tweets.csv: %v", err)
			}
			tweetsRows = append(tweetsRows, tweet{
				Text:      rec[col["text"]],
				Sentiment: rec[col["airline_sentiment"]],
			})
		}
	})
	if len(tweetsRows) != 14640 {
		t.Fatalf("Tweets.csv: %d rows, want 14640", len(tweetsRows))
	}
	return tweetsRows
}

// labelled is one UCI sentence with its binary label.
type labelled struct {
	Text     string
	Positive bool
}

// uciSentences reads one UCI "sentiment labelled sentences" file. Lines are
// read one by one and split on their last TAB, as the datasets README
// requires: the IMDb file has unbalanced quotes a CSV reader would follow.
func uciSentences(t testing.TB, name string) []labelled {
	t.Helper()
	f := openDataset(t, "uci_sentiment_labelled_sentences/"+name)
	var out []labelled
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		i := strings.LastIndexByte(line, '\t')
		if i < 0 {
			t.Fatalf("%s:%d: no TAB", name, n)
		}
		switch lab := strings.TrimSpace(line[i+1:]); lab {
		case "0", "1":
			out = append(out, labelled{Text: line[:i], Positive: lab == "1"})
		default:
			t.Fatalf("%s:%d: label %q", name, n, lab)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return out
}

// scored is one VADER ground-truth text with its mean human rating in [-4, 4].
type scored struct {
	Text  string
	Score float64
}

// vaderGroundTruth reads one VADER ground-truth file (id TAB score TAB text,
// CRLF line ends, no final newline).
func vaderGroundTruth(t testing.TB, name string) []scored {
	t.Helper()
	f := openDataset(t, "vader_groundtruth/"+name)
	var out []scored
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		parts := strings.SplitN(strings.TrimRight(sc.Text(), "\r"), "\t", 3)
		if len(parts) != 3 {
			t.Fatalf("%s:%d: %d fields, want 3", name, n, len(parts))
		}
		s, err := strconv.ParseFloat(parts[1], 64)
		if err != nil {
			t.Fatalf("%s:%d: score: %v", name, n, err)
		}
		out = append(out, scored{Text: parts[2], Score: s})
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return out
}

var (
	analysedOnce sync.Once
	analysed     []attune.Analysis
)

// analysedTweets returns Analyze of every airline tweet by a default
// Analyzer, computed once for the tests that check properties over the
// whole corpus.
func analysedTweets(t testing.TB) []attune.Analysis {
	t.Helper()
	rows := airlineTweets(t)
	analysedOnce.Do(func() {
		a := newAnalyzer(t)
		analysed = make([]attune.Analysis, len(rows))
		for i, r := range rows {
			analysed[i] = a.Analyze(r.Text)
		}
	})
	if len(analysed) != len(rows) {
		t.Fatal("analysing the airline tweets failed in an earlier test")
	}
	return analysed
}

// newAnalyzer returns an Analyzer with default options or fails the test.
func newAnalyzer(t testing.TB) *Analyzer {
	t.Helper()
	a, err := New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}
