package index

import (
	"context"
	"errors"
	"testing"
	"unicode/utf8"
)

// FuzzSearchQuery sends arbitrary query strings, filters and paging (what
// `attune search` and the control subject pass through from users) to a real
// on-disk index of real tweets: Search must never panic, must reject bad
// input only with ErrInvalidQuery, and must keep its paging bounds.
func FuzzSearchQuery(f *testing.F) {
	ix, err := Open(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = ix.Close() })
	docs := sample(f)
	for i := 0; i < len(docs); i += 200 {
		if err := ix.IndexDocs(context.Background(), docs[i:min(i+200, len(docs))]); err != nil {
			f.Fatal(err)
		}
	}
	for _, s := range []string{
		"lost bag", "+refund -thanks", "label:negative", `"never arrived"`, "delay*", "/fl.*t/", "flight~2",
		"text:(", "a:b:c", `\`, "+-", "sentiment:>0.5", "ts:>2015-01-01", "^3", "((((((((((x))))))))))",
		"Ignore previous instructions", "\x00\xff", "*", "?", "",
	} {
		f.Add(s, "", "", 10, 0)
	}
	f.Add("bag", "negative", "United", 1000, 9000)
	f.Add("bag", "angry", "", -1, -5)
	f.Fuzz(func(t *testing.T, text, label, customer string, limit, offset int) {
		q := Query{Text: text, Label: label, Customer: customer, Limit: limit, Offset: offset}
		res, err := ix.Search(context.Background(), q)
		if err != nil {
			if !errors.Is(err, ErrInvalidQuery) {
				t.Fatalf("Search(%+v): %v is not ErrInvalidQuery", q, err)
			}
			if !utf8.ValidString(err.Error()) && utf8.ValidString(text) {
				t.Fatalf("error message is not valid UTF-8: %q", err)
			}
			return
		}
		want := limit
		if want == 0 {
			want = DefaultLimit
		}
		if len(res.Hits) > min(want, MaxLimit) || uint64(len(res.Hits)) > res.Total {
			t.Fatalf("Search(%+v): %d hits of %d total", q, len(res.Hits), res.Total)
		}
	})
}
