package index

import (
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/attune-cx/attune"
)

// Test data comes from the shared datasets (see ../../shared/datasets/README.md):
// tweets to US airlines, labelled with sentiment and, for negative ones, a
// reason that serves as a gold segment; and banking77 support queries, which
// stand in for events from another source without timestamps.
var datasets = filepath.Join("..", "..", "shared", "datasets")

var (
	tweetsOnce sync.Once
	tweetDocs  []attune.Doc
	tweetsErr  error
)

// allTweets returns one doc per row of Tweets.csv, in file order, duplicates
// included (the release repeats 155 tweet ids, mostly with different labels).
func allTweets(tb testing.TB) []attune.Doc {
	tb.Helper()
	tweetsOnce.Do(func() { tweetDocs, tweetsErr = readTweets() })
	if tweetsErr != nil {
		tb.Fatal(tweetsErr)
	}
	return tweetDocs
}

func readTweets() ([]attune.Doc, error) {
	rows, err := readCSV(filepath.Join(datasets, "twitter_us_airline_sentiment", "Tweets.csv"))
	if err != nil {
		return nil, err
	}
	docs := make([]attune.Doc, 0, len(rows))
	for _, r := range rows {
		ts, err := time.Parse("2006-01-02 15:04:05 -0700", r["tweet_created"])
		if err != nil {
			return nil, err
		}
		conf, err := strconv.ParseFloat(r["airline_sentiment_confidence"], 64)
		if err != nil {
			return nil, err
		}
		label := attune.Label(r["airline_sentiment"])
		score := 0.0
		switch label {
		case attune.Positive:
			score = conf
		case attune.Negative:
			score = -conf
		}
		d := attune.Doc{
			Event: attune.Event{
				ID:         r["tweet_id"],
				CustomerID: r["name"],
				Source:     "twitter",
				Text:       r["text"],
				TS:         ts,
			},
			Analysis: analyse(r["text"], attune.Sentiment{Score: score, Label: label}),
		}
		if reason := r["negativereason"]; reason != "" {
			d.SegmentName = slug(reason)
			d.SegmentID = "seg-" + d.SegmentName
		}
		docs = append(docs, d)
	}
	return docs, nil
}

// bankingDocs returns the first n rows of the banking77 test split as
// neutral "ticket" events without a timestamp, segmented by intent.
func bankingDocs(tb testing.TB, n int) []attune.Doc {
	tb.Helper()
	rows, err := readCSV(filepath.Join(datasets, "banking77", "test.csv"))
	if err != nil {
		tb.Fatal(err)
	}
	var docs []attune.Doc
	for i, r := range rows[:min(n, len(rows))] {
		id := "banking77-test-" + strconv.Itoa(i)
		docs = append(docs, attune.Doc{
			Event: attune.Event{
				ID:         id,
				CustomerID: "event:" + id,
				Source:     "ticket",
				Text:       r["text"],
			},
			Analysis:    analyse(r["text"], attune.Sentiment{Label: attune.Neutral}),
			SegmentID:   "seg-" + slug(r["category"]),
			SegmentName: slug(r["category"]),
		})
	}
	return docs
}

// sample returns a few hundred real docs: every 40th tweet (all airlines and
// labels), two runs of tweets whose ids repeat with changed labels, and 60
// banking queries. Duplicated ids are kept, so callers see redelivery.
func sample(tb testing.TB) []attune.Doc {
	tb.Helper()
	all := allTweets(tb)
	picked := map[int]bool{}
	var docs []attune.Doc
	add := func(i int) {
		if !picked[i] {
			picked[i] = true
			docs = append(docs, all[i])
		}
	}
	for i := 0; i < len(all); i += 40 {
		add(i)
	}
	// Rows 11879.. repeat as rows 12040.. in the release.
	for i := 11870; i < 11900; i++ {
		add(i)
	}
	for i := 12030; i < 12060; i++ {
		add(i)
	}
	return append(docs, bankingDocs(tb, 60)...)
}

// latest keeps the last doc per id, which is what the index holds after the
// docs are written in order.
func latest(docs []attune.Doc) map[string]attune.Doc {
	m := make(map[string]attune.Doc, len(docs))
	for _, d := range docs {
		m[d.Event.ID] = d
	}
	return m
}

// analyse stands in for the nlp stage, which this package must not import:
// lowercase word tokens, used as stems too.
func analyse(text string, s attune.Sentiment) attune.Analysis {
	toks := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	a := attune.Analysis{Clean: text, Sentences: 1, Tokens: toks, Stems: toks, Sentiment: s, Language: "en"}
	// A stand-in aspect: texts that name a bag talk about baggage.
	if slices.ContainsFunc(toks, func(t string) bool { return t == "bag" || t == "bags" || t == "luggage" }) {
		a.Aspects = []attune.AspectSentiment{{Aspect: "baggage", Sentiment: s}}
	}
	return a
}

func slug(s string) string {
	s = strings.ToLower(strings.ReplaceAll(s, "'", ""))
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}), "-")
}

func readCSV(path string) ([]map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	header, err := r.Read()
	if err != nil {
		return nil, err
	}
	var rows []map[string]string
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, err
		}
		row := make(map[string]string, len(header))
		for i, h := range header {
			row[h] = rec[i]
		}
		rows = append(rows, row)
	}
}
