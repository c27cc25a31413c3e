package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/attune-cx/attune"
	"github.com/attune-cx/attune/ingest"
)

// soakCorpus reads real customer texts from the shared datasets: airline
// tweets, Banking77 queries, Olist and Amazon Alexa reviews, in that order,
// each with its own id and customer where the dataset has one.
func soakCorpus(dir string) ([]attune.Event, error) {
	var out []attune.Event
	seen := map[string]bool{}
	add := func(ev attune.Event) {
		if strings.TrimSpace(ev.Text) == "" || seen[ev.ID] {
			return
		}
		seen[ev.ID] = true
		out = append(out, ev)
	}
	type source struct {
		path string
		sep  rune
		fn   func(h map[string]int, row []string, i int)
	}
	sources := []source{
		{"twitter_us_airline_sentiment/Tweets.csv", ',', func(h map[string]int, r []string, _ int) {
			add(attune.Event{ID: "tweet-" + col(h, r, "tweet_id"), CustomerID: col(h, r, "name"), Source: attune.SourceTicket, Text: col(h, r, "text"),
				Attrs: map[string]any{"airline": col(h, r, "airline")}})
		}},
		{"banking77/train.csv", ',', func(h map[string]int, r []string, i int) {
			add(attune.Event{ID: fmt.Sprintf("bank-train-%d", i), Source: attune.SourceTicket, Text: col(h, r, "text")})
		}},
		{"banking77/test.csv", ',', func(h map[string]int, r []string, i int) {
			add(attune.Event{ID: fmt.Sprintf("bank-test-%d", i), Source: attune.SourceTicket, Text: col(h, r, "text")})
		}},
		{"olist/olist_order_reviews_dataset.csv", ',', func(h map[string]int, r []string, i int) {
			text := strings.TrimSpace(col(h, r, "review_comment_title") + " " + col(h, r, "review_comment_message"))
			add(attune.Event{ID: fmt.Sprintf("olist-%d-%s", i, col(h, r, "review_id")), CustomerID: col(h, r, "order_id"), Source: attune.SourceReview, Text: text})
		}},
		{"amazon_alexa_reviews/amazon_alexa.tsv", '\t', func(h map[string]int, r []string, i int) {
			add(attune.Event{ID: fmt.Sprintf("alexa-%d", i), Source: attune.SourceReview, Text: col(h, r, "verified_reviews")})
		}},
	}
	for _, s := range sources {
		f, err := os.Open(filepath.Join(dir, s.path))
		if err != nil {
			return nil, fmt.Errorf("soak corpus: %w", err)
		}
		r := csv.NewReader(f)
		r.Comma, r.FieldsPerRecord, r.LazyQuotes = s.sep, -1, true
		var h map[string]int
		for i := 0; ; i++ {
			row, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				f.Close()
				return nil, fmt.Errorf("soak corpus %s: %w", s.path, err)
			}
			if h == nil {
				h = map[string]int{}
				for j, name := range row {
					h[strings.TrimPrefix(name, "\ufeff")] = j
				}
				continue
			}
			s.fn(h, row, i)
		}
		f.Close()
	}
	return out, nil
}

// soakRecords returns n good events with distinct ids: the corpus, then
// replayed with the round in the id (a resent text is still a new event).
func soakRecords(corpus []attune.Event, n int) ([]ingest.Record, error) {
	if len(corpus) == 0 {
		return nil, fmt.Errorf("soak corpus is empty")
	}
	out := make([]ingest.Record, 0, n)
	for i := 0; i < n; i++ {
		ev := corpus[i%len(corpus)]
		if round := i / len(corpus); round > 0 {
			ev.ID = fmt.Sprintf("%s~r%d", ev.ID, round)
		}
		b, err := json.Marshal(ev)
		if err != nil {
			return nil, err
		}
		out = append(out, ingest.Record{ID: ev.ID, Source: ev.Source, Payload: b})
	}
	return out, nil
}

// soakPoison returns hostile events, each a new id: broken JSON, wrong
// types, deep nesting, invalid UTF-8, blank text, a field over the event
// limit; with big set, also one 10 MB payload. Each must be dead-lettered.
func soakPoison(n int, big bool) []ingest.Record {
	var out []ingest.Record
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("poison-%04d", i)
		var p string
		switch i % 7 {
		case 0:
			p = `{"id":"` + id + `","text":"my bag never arr`
		case 1:
			p = `{"id":"` + id + `","text":["not","a","string"]}`
		case 2:
			p = `{"id":"` + id + `","text":"x","attrs":{"a":` + strings.Repeat(`[`, 11000) + strings.Repeat(`]`, 11000) + `}}`
		case 3:
			p = "{\"id\":\"" + id + "\",\"text\":\"caf\xe9 \xff cold\"}"
		case 4:
			p = `{"id":"` + id + `","text":" \t\n "}`
		case 5:
			p = `{"id":"` + id + `","text":"` + strings.Repeat("refund ", 20000) + `"}`
		case 6:
			p = `{"id":"` + id + `","customer_id":"c"}`
		}
		out = append(out, ingest.Record{ID: id, Source: "review", Payload: []byte(p)})
	}
	if big {
		out = append(out, ingest.Record{ID: "poison-10mb", Source: "review", Payload: []byte(`{"id":"poison-10mb","text":"` + strings.Repeat("late ", 2<<20) + `"}`)})
	}
	return out
}
