package ingest

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"strconv"
	"strings"
	"time"

	"github.com/attune-cx/attune"
)

// Mapping tells how the columns of a CSV/TSV file become event fields.
type Mapping struct {
	ID       string // column of the event id, default "id"
	Text     string // default "text"
	Customer string // default "customer_id"
	TS       string // default "ts"
	Rating   string // default "rating"
	// Source is the source of every record, default "review"; SourceColumn,
	// when set, takes it from a column instead.
	Source       string
	SourceColumn string
	// Attrs lists the columns copied into attrs (numbers become JSON
	// numbers). Nil copies every column not mapped above.
	Attrs []string
}

func (m *Mapping) setDefaults() {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&m.ID, "id")
	def(&m.Text, "text")
	def(&m.Customer, "customer_id")
	def(&m.TS, "ts")
	def(&m.Rating, "rating")
	def(&m.Source, attune.SourceReview)
}

// Records reads events from r. Format is "jsonl" (one event JSON per line,
// published unchanged so that malformed lines reach the dead-letter subject
// with a reason), "csv" or "tsv" (mapped through m).
func Records(r io.Reader, format string, m Mapping) iter.Seq2[Record, error] {
	m.setDefaults()
	switch format {
	case "jsonl", "ndjson", "json":
		return jsonlRecords(r, m)
	case "csv":
		return csvRecords(r, ',', m)
	case "tsv":
		return csvRecords(r, '\t', m)
	}
	return func(yield func(Record, error) bool) {
		yield(Record{}, fmt.Errorf("unknown input format %q (want jsonl, csv or tsv)", format))
	}
}

func jsonlRecords(r io.Reader, m Mapping) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		br := bufio.NewReaderSize(r, 1<<20)
		line := 0
		for {
			b, err := br.ReadBytes('\n')
			if len(b) > 0 {
				line++
				b = bytes.TrimRight(b, "\r\n")
				if len(bytes.TrimSpace(b)) > 0 {
					rec := Record{Source: m.Source, Payload: append([]byte(nil), b...)}
					var head struct {
						ID     string `json:"id"`
						Source string `json:"source"`
					}
					if json.Unmarshal(b, &head) == nil {
						rec.ID = strings.TrimSpace(head.ID)
						if s := subjectToken(head.Source); s != "" {
							rec.Source = s
						}
					}
					if !yield(rec, nil) {
						return
					}
				}
			}
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				yield(Record{}, fmt.Errorf("read line %d: %w", line+1, err))
				return
			}
		}
	}
}

// tsLayouts are the timestamp forms accepted in CSV files.
var tsLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05 -0700",
	"2006-01-02 15:04:05",
	"2006-01-02T15:04:05",
	"2006-01-02",
	"1/2/06 15:04",
	"1/2/2006 15:04",
}

// ParseTime parses the timestamp forms found in common exports.
func ParseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, l := range tsLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func csvRecords(r io.Reader, sep rune, m Mapping) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		cr := csv.NewReader(bufio.NewReaderSize(r, 1<<20))
		cr.Comma = sep
		cr.LazyQuotes = true
		cr.FieldsPerRecord = -1
		header, err := cr.Read()
		if err != nil {
			yield(Record{}, fmt.Errorf("read header: %w", err))
			return
		}
		if len(header) > 0 {
			header[0] = strings.TrimPrefix(header[0], "\ufeff")
		}
		col := map[string]int{}
		for i, h := range header {
			col[strings.TrimSpace(h)] = i
		}
		if _, ok := col[m.Text]; !ok {
			yield(Record{}, fmt.Errorf("no text column %q in header %v", m.Text, header))
			return
		}
		mapped := map[string]bool{m.ID: true, m.Text: true, m.Customer: true, m.TS: true, m.Rating: true, m.SourceColumn: true}
		attrCols := m.Attrs
		if attrCols == nil {
			for _, h := range header {
				if !mapped[strings.TrimSpace(h)] {
					attrCols = append(attrCols, strings.TrimSpace(h))
				}
			}
		}
		for row := 2; ; row++ {
			rec, err := cr.Read()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				if !yield(Record{}, fmt.Errorf("read row %d: %w", row, err)) {
					return
				}
				continue
			}
			get := func(name string) string {
				if i, ok := col[name]; ok && i < len(rec) {
					return rec[i]
				}
				return ""
			}
			ev := attune.Event{
				ID:         strings.TrimSpace(get(m.ID)),
				CustomerID: strings.TrimSpace(get(m.Customer)),
				Text:       get(m.Text),
				Source:     m.Source,
			}
			if m.SourceColumn != "" {
				if s := subjectToken(get(m.SourceColumn)); s != "" {
					ev.Source = s
				}
			}
			if t, ok := ParseTime(get(m.TS)); ok {
				ev.TS = t
			}
			if f, err := strconv.ParseFloat(strings.TrimSpace(get(m.Rating)), 64); err == nil {
				ev.Rating = &f
			}
			for _, a := range attrCols {
				v := strings.TrimSpace(get(a))
				if v == "" {
					continue
				}
				if ev.Attrs == nil {
					ev.Attrs = map[string]any{}
				}
				if f, err := strconv.ParseFloat(v, 64); err == nil {
					ev.Attrs[a] = f
				} else {
					ev.Attrs[a] = v
				}
			}
			payload, err := json.Marshal(ev)
			if err != nil {
				if !yield(Record{}, fmt.Errorf("encode row %d: %w", row, err)) {
					return
				}
				continue
			}
			if !yield(Record{ID: ev.ID, Source: ev.Source, Payload: payload}, nil) {
				return
			}
		}
	}
}

// subjectToken makes s safe as one NATS subject token: lowercase letters,
// digits, '-' and '_' only; "" if nothing is left.
func subjectToken(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(s)) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		}
		if b.Len() >= 32 {
			break
		}
	}
	return b.String()
}
