package wordvec

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// corpusSource is one file of the default training corpus and how to read
// its text column.
type corpusSource struct {
	path string
	read func(r io.Reader) ([]string, error)
}

// corpusSources lists the training text of the shared datasets: training
// splits only (Banking77 test.csv and the SemEval *_Test_Gold.xml files are
// evaluation data and must never reach the vectors), texts only, no labels.
var corpusSources = []corpusSource{
	{"twitter_us_airline_sentiment/Tweets.csv", csvColumn(',', "text")},
	{"banking77/train.csv", csvColumn(',', "text")},
	{"uci_sentiment_labelled_sentences/amazon_cells_labelled.txt", beforeLastTab},
	{"uci_sentiment_labelled_sentences/imdb_labelled.txt", beforeLastTab},
	{"uci_sentiment_labelled_sentences/yelp_labelled.txt", beforeLastTab},
	{"amazon_alexa_reviews/amazon_alexa.tsv", csvColumn('\t', "verified_reviews")},
	{"semeval2014_absa/Restaurants_Train_v2.xml", xmlText},
	{"semeval2014_absa/Laptop_Train_v2.xml", xmlText},
	{"vader_groundtruth/tweets_GroundTruth.txt", thirdTabField},
	{"vader_groundtruth/movieReviewSnippets_GroundTruth.txt", thirdTabField},
	{"vader_groundtruth/amazonReviewSnippets_GroundTruth.txt", thirdTabField},
	{"vader_groundtruth/nytEditorialSnippets_GroundTruth.txt", thirdTabField},
	{"olist/olist_order_reviews_dataset.csv", csvColumn(',', "review_comment_message")},
}

// Corpus returns the default training corpus: one text per row of the
// training splits in datasetsDir (the shared datasets layout), in a fixed
// order. Empty texts are left out.
func Corpus(datasetsDir string) ([]string, error) {
	var texts []string
	for _, src := range corpusSources {
		p := filepath.Join(datasetsDir, filepath.FromSlash(src.path))
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("open corpus source: %w", err)
		}
		got, err := src.read(bufio.NewReader(f))
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("read corpus source %s: %w", p, err)
		}
		for _, t := range got {
			if strings.TrimSpace(t) != "" {
				texts = append(texts, t)
			}
		}
	}
	return texts, nil
}

// csvColumn reads one named column of a delimited file with a header row. A
// leading UTF-8 BOM is ignored and CRLF line ends are accepted; quoted fields
// may span lines, as some tweets do.
func csvColumn(comma rune, column string) func(io.Reader) ([]string, error) {
	return func(r io.Reader) ([]string, error) {
		cr := csv.NewReader(skipBOM(r))
		cr.Comma = comma
		cr.ReuseRecord = true
		header, err := cr.Read()
		if err != nil {
			return nil, fmt.Errorf("read header: %w", err)
		}
		col := -1
		for i, h := range header {
			if strings.TrimSpace(h) == column {
				col = i
			}
		}
		if col < 0 {
			return nil, fmt.Errorf("no column %q in header %q", column, header)
		}
		var out []string
		for {
			rec, err := cr.Read()
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			if err != nil {
				return nil, err
			}
			if col < len(rec) {
				out = append(out, rec[col])
			}
		}
	}
}

// beforeLastTab reads "sentence<TAB>label" lines. Quotes are data here: the
// IMDb file has unbalanced ones that a CSV reader would merge across lines.
func beforeLastTab(r io.Reader) ([]string, error) {
	var out []string
	err := eachLine(r, func(line string) {
		if i := strings.LastIndexByte(line, '\t'); i >= 0 {
			out = append(out, line[:i])
		}
	})
	return out, err
}

// thirdTabField reads VADER's "id<TAB>score<TAB>text" lines.
func thirdTabField(r io.Reader) ([]string, error) {
	var out []string
	err := eachLine(r, func(line string) {
		if parts := strings.SplitN(line, "\t", 3); len(parts) == 3 {
			out = append(out, parts[2])
		}
	})
	return out, err
}

// eachLine calls fn for every line, without its LF or CRLF; the last line
// may lack a line end.
func eachLine(r io.Reader, fn func(string)) error {
	sc := bufio.NewScanner(skipBOM(r))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		fn(strings.TrimSuffix(sc.Text(), "\r"))
	}
	return sc.Err()
}

// xmlText collects the character data of every <text> element, with XML
// entities decoded.
func xmlText(r io.Reader) ([]string, error) {
	dec := xml.NewDecoder(r)
	var out []string
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "text" {
			var s string
			if err := dec.DecodeElement(&s, &se); err != nil {
				return nil, err
			}
			out = append(out, s)
		}
	}
}

func skipBOM(r io.Reader) io.Reader {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReader(r)
	}
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
	}
	return br
}

// ReadTexts reads a user's own corpus: a JSON Lines file (.jsonl, .ndjson),
// one object per line whose field is the text, or a CSV file (.csv) or TSV
// (.tsv) with a header row naming field as a column. field "" means
// "text". Empty texts are left out; a line that is not a JSON object, or a
// file without the column, is an error naming the line or the column, so a
// corpus is never half read in silence. Train on
// append(Corpus(dir), ReadTexts(...)...) to extend the default corpus.
func ReadTexts(path, field string) ([]string, error) {
	if field == "" {
		field = "text"
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open corpus: %w", err)
	}
	defer f.Close()
	var got []string
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".jsonl", ".ndjson":
		got, err = jsonLines(bufio.NewReader(f), field)
	case ".csv":
		got, err = csvColumn(',', field)(bufio.NewReader(f))
	case ".tsv":
		got, err = csvColumn('\t', field)(bufio.NewReader(f))
	default:
		return nil, fmt.Errorf("corpus %s: unknown format %q (want .jsonl, .ndjson, .csv or .tsv)", path, ext)
	}
	if err != nil {
		return nil, fmt.Errorf("read corpus %s: %w", path, err)
	}
	texts := got[:0]
	for _, t := range got {
		if strings.TrimSpace(t) != "" {
			texts = append(texts, t)
		}
	}
	return texts, nil
}

// jsonLines reads field from each JSON object line of r; blank lines are
// skipped and a missing or non-string field counts as an empty text.
func jsonLines(r io.Reader, field string) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(skipBOM(r))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(b, &obj); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		var s string
		if raw, ok := obj[field]; ok {
			_ = json.Unmarshal(raw, &s) // not a string: no text
		}
		out = append(out, s)
	}
	return out, sc.Err()
}
