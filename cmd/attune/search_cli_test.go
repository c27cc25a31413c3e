package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/attune-cx/attune"
	"github.com/attune-cx/attune/index"
)

// TestSearchCommand runs `attune search` against an index on disk (no
// worker answers, so the command opens the index itself) filled with
// analysed airline tweets, and checks that its flags reach the query.
func TestSearchCommand(t *testing.T) {
	cfg := testConfig(t)
	a := newApp(cfg, testLogger(t))
	if err := a.openStores(); err != nil {
		t.Fatal(err)
	}
	var docs []attune.Doc
	for _, r := range tweetRecords(t, 600) {
		ev, err := attune.DecodeEvent(r.Payload, 0)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, attune.Doc{Event: ev, Analysis: a.nlp.Analyze(ev.Text)})
	}
	ctx := context.Background()
	if err := a.ix.IndexDocs(ctx, docs); err != nil {
		t.Fatal(err)
	}
	a.Close()

	run := func(args ...string) (string, error) {
		t.Helper()
		root := newRoot()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs(append(args,
			"--set", "data_dir="+cfg.DataDir,
			"--set", "nats.listen="+cfg.NATS.Listen,
			"--set", "log_level=error"))
		err := root.ExecuteContext(ctx)
		return out.String(), err
	}

	// Flags become the query: compare with the index searched directly.
	out, err := run("search", "flight", "--sentiment", "negative", "--sentiment-max", "-0.3",
		"--from", "2015-02-20", "--to", "2015-02-24T12:00:00Z", "--sort", "sentiment", "--order", "asc",
		"--facets", "all", "--limit", "50", "--json")
	if err != nil {
		t.Fatalf("search: %v\n%s", err, out)
	}
	var got index.Result
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("decode %q: %v", out, err)
	}
	ix, err := index.Open(cfg.indexDir())
	if err != nil {
		t.Fatal(err)
	}
	smax := -0.3
	from, _ := parseFlagTime("from", "2015-02-20")
	to, _ := parseFlagTime("to", "2015-02-24T12:00:00Z")
	want, err := ix.Search(ctx, index.Query{Text: "flight", Label: "negative", SentimentMax: &smax, From: from, To: to,
		Sort: index.SortSentiment, Order: index.OrderAsc, Facets: index.Facets, Limit: 50})
	ix.Close()
	if err != nil {
		t.Fatal(err)
	}
	if want.Total == 0 || got.Total != want.Total || len(got.Hits) != len(want.Hits) || len(got.Facets) != len(index.Facets) {
		t.Fatalf("CLI: %d hits of %d, %d facets; direct: %d of %d", len(got.Hits), got.Total, len(got.Facets), len(want.Hits), want.Total)
	}
	for i := range got.Hits {
		if got.Hits[i].ID != want.Hits[i].ID {
			t.Fatalf("hit %d: %s, want %s", i, got.Hits[i].ID, want.Hits[i].ID)
		}
	}

	// The table shows hits and facets.
	out, err = run("search", "delay", "--facets", "label,time", "-n", "3")
	if err != nil {
		t.Fatalf("search: %v\n%s", err, out)
	}
	for _, s := range []string{" hits (", "\nlabel\n", "negative", "\ntime (per day)\n", "2015-02-2"} {
		if !strings.Contains(out, s) {
			t.Errorf("table output lacks %q:\n%s", s, out)
		}
	}

	t.Logf("table output:\n%s", out)

	// Bad input is refused with the reason.
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"search", "--sort", "date"}, `unknown sort "date"`},
		{[]string{"search", "--sentiment-min", "0.5", "--sentiment-max", "0"}, "sentiment_min 0.5 is above sentiment_max 0"},
		{[]string{"search", "--from", "yesterday"}, `--from "yesterday"`},
		{[]string{"search", "--facets", "colour"}, `unknown facet "colour"`},
		{[]string{"search", "--limit", "5000"}, "limit 5000 is over 1000"},
	} {
		if out, err := run(tc.args...); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%v: %v (%s), want an error saying %q", tc.args, err, out, tc.msg)
		}
	}
}
