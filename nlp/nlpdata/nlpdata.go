// Package nlpdata reads the public labelled datasets that train and measure
// the nlp stage (see ../shared/datasets/README.md): the VADER ground truth,
// the airline tweets, the UCI sentences, the Alexa reviews, SemEval-2014
// restaurants and the Olist reviews. It checks every file against the sha256
// in MANIFEST.json, so a figure is always about the published file, and it
// defines the deterministic held-out splits: whatever [Held] says is test
// data is never used to train or tune.
package nlpdata

import (
	"bufio"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrAltered is wrapped when a dataset file does not match MANIFEST.json.
var ErrAltered = errors.New("dataset file differs from MANIFEST.json")

// Dir holds the datasets; the zero value is unusable, use [Open].
type Dir struct {
	root string
	sums map[string]string
}

// DefaultDir is where the datasets live relative to a package directory of
// the module, overridden by ATTUNE_DATASETS.
func DefaultDir(fromModuleRoot bool) string {
	if d := os.Getenv("ATTUNE_DATASETS"); d != "" {
		return d
	}
	if fromModuleRoot {
		return filepath.Join("..", "shared", "datasets")
	}
	return filepath.Join("..", "..", "shared", "datasets")
}

// Open reads the manifest of the datasets directory root.
func Open(root string) (*Dir, error) {
	b, err := os.ReadFile(filepath.Join(root, "MANIFEST.json"))
	if err != nil {
		return nil, fmt.Errorf("read datasets manifest: %w", err)
	}
	var m struct {
		Files []struct {
			Path   string `json:"path"`
			SHA256 string `json:"sha256"`
		} `json:"files"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decode datasets manifest: %w", err)
	}
	d := &Dir{root: root, sums: map[string]string{}}
	for _, f := range m.Files {
		d.sums[f.Path] = f.SHA256
	}
	return d, nil
}

// read returns the verified content of a file by its path under root.
func (d *Dir) read(rel string) ([]byte, error) {
	want, ok := d.sums[rel]
	if !ok {
		return nil, fmt.Errorf("%s: not in MANIFEST.json", rel)
	}
	b, err := os.ReadFile(filepath.Join(d.root, rel))
	if err != nil {
		return nil, fmt.Errorf("read dataset: %w", err)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != want {
		return nil, fmt.Errorf("%s: sha256 %s, want %s: %w", rel, got, want, ErrAltered)
	}
	return b, nil
}

// Held reports whether the record with this id belongs to the held-out
// (test) fifth of a dataset: a hash of the id, so the split is the same on
// every machine and run, and independent of row order.
func Held(id string) bool {
	h := fnv.New32a()
	h.Write([]byte(id))
	return h.Sum32()%5 == 0
}

// Scored is a text with a continuous human rating.
type Scored struct {
	Text  string
	Score float64 // mean rating in [-4, 4]
}

// VaderSets names the four VADER ground-truth corpora by their bench names.
var VaderSets = []struct{ Name, File string }{
	{"vader_tweets", "tweets_GroundTruth.txt"},
	{"vader_amazon", "amazonReviewSnippets_GroundTruth.txt"},
	{"vader_movies", "movieReviewSnippets_GroundTruth.txt"},
	{"vader_nyt", "nytEditorialSnippets_GroundTruth.txt"},
}

// VaderGroundTruth reads one VADER ground-truth file (id TAB score TAB text).
func (d *Dir) VaderGroundTruth(file string) ([]Scored, error) {
	b, err := d.read("vader_groundtruth/" + file)
	if err != nil {
		return nil, err
	}
	var out []Scored
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for n := 1; sc.Scan(); n++ {
		parts := strings.SplitN(strings.TrimRight(sc.Text(), "\r"), "\t", 3)
		if len(parts) != 3 {
			return nil, fmt.Errorf("%s:%d: %d fields, want 3", file, n, len(parts))
		}
		s, err := strconv.ParseFloat(parts[1], 64)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: score: %w", file, n, err)
		}
		out = append(out, Scored{Text: parts[2], Score: s})
	}
	return out, sc.Err()
}

// Class is a three-way gold label: -1 negative, 0 neutral, +1 positive.
type Class int

// Labelled is a text with a three-way (or binary) gold label.
type Labelled struct {
	ID    string
	Text  string
	Class Class
	// Intensity is a graded gold score in [-1, 1] where the data has one:
	// stars (s−3)/2 for reviews, the class times the crowd's confidence
	// for the airline tweets; elsewhere it is the class.
	Intensity float64
}

// Airline reads Tweets.csv, one row per distinct tweet_id (the release has
// duplicate rows), split into train and held-out test by [Held] on the id.
func (d *Dir) Airline() (train, test []Labelled, err error) {
	b, err := d.read("twitter_us_airline_sentiment/Tweets.csv")
	if err != nil {
		return nil, nil, err
	}
	r := csv.NewReader(strings.NewReader(string(b)))
	header, err := r.Read()
	if err != nil {
		return nil, nil, fmt.Errorf("read Tweets.csv header: %w", err)
	}
	col := map[string]int{}
	for i, name := range header {
		col[name] = i
	}
	seen := map[string]bool{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read Tweets.csv: %w", err)
		}
		id := rec[col["tweet_id"]]
		if seen[id] {
			continue
		}
		seen[id] = true
		c := Class(0)
		switch rec[col["airline_sentiment"]] {
		case "negative":
			c = -1
		case "positive":
			c = 1
		}
		conf, err := strconv.ParseFloat(rec[col["airline_sentiment_confidence"]], 64)
		if err != nil || conf < 0 || conf > 1 {
			return nil, nil, fmt.Errorf("read Tweets.csv: tweet %s: bad airline_sentiment_confidence %q", id, rec[col["airline_sentiment_confidence"]])
		}
		l := Labelled{ID: id, Text: rec[col["text"]], Class: c, Intensity: float64(c) * conf}
		if Held(id) {
			test = append(test, l)
		} else {
			train = append(train, l)
		}
	}
	return train, test, nil
}

// UCI reads one UCI sentiment-labelled-sentences file (binary labels, ±1),
// line by line, split on the last TAB, as the README requires.
func (d *Dir) UCI(name string) ([]Labelled, error) {
	b, err := d.read("uci_sentiment_labelled_sentences/" + name)
	if err != nil {
		return nil, err
	}
	var out []Labelled
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		i := strings.LastIndexByte(line, '\t')
		if i < 0 {
			return nil, fmt.Errorf("%s:%d: no TAB", name, n)
		}
		c := Class(-1)
		if strings.TrimSpace(line[i+1:]) == "1" {
			c = 1
		}
		out = append(out, Labelled{ID: fmt.Sprintf("%s:%d", name, n), Text: line[:i], Class: c, Intensity: float64(c)})
	}
	return out, sc.Err()
}

// Alexa reads the Alexa reviews with non-empty text, rating 1–2 negative, 3
// neutral, 4–5 positive.
func (d *Dir) Alexa() ([]Labelled, error) {
	b, err := d.read("amazon_alexa_reviews/amazon_alexa.tsv")
	if err != nil {
		return nil, err
	}
	s := strings.TrimPrefix(string(b), "\ufeff")
	r := csv.NewReader(strings.NewReader(s))
	r.Comma = '\t'
	r.LazyQuotes = true
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("read amazon_alexa.tsv: %w", err)
	}
	var out []Labelled
	for i, rec := range rows[1:] {
		if len(rec) < 5 || strings.TrimSpace(rec[3]) == "" {
			continue
		}
		stars, err := strconv.Atoi(rec[0])
		if err != nil {
			continue
		}
		out = append(out, Labelled{ID: strconv.Itoa(i), Text: rec[3], Class: starsClass(stars), Intensity: starsIntensity(stars)})
	}
	return out, nil
}

// starsIntensity maps 1–5 stars onto [-1, 1].
func starsIntensity(stars int) float64 { return (float64(stars) - 3) / 2 }

func starsClass(stars int) Class {
	switch {
	case stars <= 2:
		return -1
	case stars == 3:
		return 0
	default:
		return 1
	}
}

// Olist reads the Olist reviews that have a title or message (title and
// message joined by ". "), labelled from the review score, split by [Held]
// on review_id.
func (d *Dir) Olist() (train, test []Labelled, err error) {
	b, err := d.read("olist/olist_order_reviews_dataset.csv")
	if err != nil {
		return nil, nil, err
	}
	r := csv.NewReader(strings.NewReader(string(b)))
	rows, err := r.ReadAll()
	if err != nil {
		return nil, nil, fmt.Errorf("read olist reviews: %w", err)
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	for _, rec := range rows[1:] {
		var parts []string
		for _, c := range []string{"review_comment_title", "review_comment_message"} {
			if t := strings.TrimSpace(rec[col[c]]); t != "" {
				parts = append(parts, t)
			}
		}
		if len(parts) == 0 {
			continue
		}
		stars, err := strconv.Atoi(strings.TrimSuffix(rec[col["review_score"]], ".0"))
		if err != nil {
			continue
		}
		id := rec[col["review_id"]]
		l := Labelled{ID: id, Text: strings.Join(parts, ". "), Class: starsClass(stars), Intensity: starsIntensity(stars)}
		if Held(id) {
			test = append(test, l)
		} else {
			train = append(train, l)
		}
	}
	return train, test, nil
}

// Category is one gold aspect category of a SemEval sentence.
type Category struct {
	Name     string `xml:"category,attr"`
	Polarity string `xml:"polarity,attr"` // positive, negative, neutral, conflict
}

// Term is one gold aspect term of a SemEval sentence.
type Term struct {
	Term     string `xml:"term,attr"`
	Polarity string `xml:"polarity,attr"`
}

// Sentence is one SemEval-2014 Task 4 sentence.
type Sentence struct {
	ID         string     `xml:"id,attr"`
	Text       string     `xml:"text"`
	Terms      []Term     `xml:"aspectTerms>aspectTerm"`
	Categories []Category `xml:"aspectCategories>aspectCategory"`
}

// SemEval reads a SemEval-2014 Task 4 file such as Restaurants_Train_v2.xml.
func (d *Dir) SemEval(file string) ([]Sentence, error) {
	b, err := d.read("semeval2014_absa/" + file)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Sentences []Sentence `xml:"sentence"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("decode %s: %w", file, err)
	}
	return doc.Sentences, nil
}
