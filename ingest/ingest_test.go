package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/attune-cx/attune"
)

const tweetsCSV = "../../shared/datasets/twitter_us_airline_sentiment/Tweets.csv"

var tweetMapping = Mapping{ID: "tweet_id", Text: "text", Customer: "name", TS: "tweet_created", Source: "ticket", Attrs: []string{"airline", "retweet_count"}}

// tweets returns the first n records of the airline tweets, unique by id.
func tweets(t testing.TB, n int) []Record {
	t.Helper()
	f, err := os.Open(tweetsCSV)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []Record
	seen := map[string]bool{}
	for r, err := range Records(f, "csv", tweetMapping) {
		if err != nil {
			t.Fatal(err)
		}
		if seen[r.ID] {
			continue
		}
		seen[r.ID] = true
		out = append(out, r)
		if len(out) == n {
			break
		}
	}
	return out
}

type env struct {
	srv  *Server
	nc   *nats.Conn
	js   jetstream.JetStream
	cons jetstream.Consumer
}

// startJS starts an embedded server with JetStream in a temp dir and
// connects to it; both are closed when the test ends.
func startJS(t *testing.T) (*Server, *nats.Conn, jetstream.JetStream) {
	t.Helper()
	srv, err := StartServer(ServerConfig{Listen: "127.0.0.1:0", StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return srv, nc, js
}

func newEnv(t *testing.T, sc StreamConfig) *env {
	t.Helper()
	srv, nc, js := startJS(t)
	cons, err := EnsureStreams(context.Background(), js, sc)
	if err != nil {
		t.Fatal(err)
	}
	return &env{srv: srv, nc: nc, js: js, cons: cons}
}

func (e *env) publish(t *testing.T, recs []Record) PublishResult {
	t.Helper()
	res, err := Publish(context.Background(), e.js, func(yield func(Record, error) bool) {
		for _, r := range recs {
			if !yield(r, nil) {
				return
			}
		}
	}, 64, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// recorder is a Handler that remembers what it stored and can be told to fail.
type recorder struct {
	mu    sync.Mutex
	count map[string]int
	fail  func(batch []attune.Event) error
}

func (r *recorder) Handle(_ context.Context, evs []attune.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		if err := r.fail(evs); err != nil {
			return err
		}
	}
	if r.count == nil {
		r.count = map[string]int{}
	}
	for _, ev := range evs {
		r.count[ev.ID]++
	}
	return nil
}

func (r *recorder) stored() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.count))
	for k, v := range r.count {
		out[k] = v
	}
	return out
}

// runUntilDrained runs the worker until the consumer has nothing pending.
func runUntilDrained(t *testing.T, e *env, w *Worker) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, 5*time.Second) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		n, err := Pending(context.Background(), e.cons)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %d events pending after 60s", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// dlq reads every dead letter.
func dlq(t *testing.T, e *env) []*nats.Msg {
	t.Helper()
	ctx := context.Background()
	s, err := e.js.Stream(ctx, "ATTUNE_DLQ")
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []*nats.Msg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, &nats.Msg{Subject: m.Subject, Data: m.Data, Header: m.Header})
	}
	return out
}

func badRecords() map[string]Record {
	return map[string]Record{
		attune.ReasonMalformed:    {ID: "bad-json", Source: "review", Payload: []byte(`{"id":"bad-json","text":`)},
		attune.ReasonMissingField: {ID: "no-text", Source: "review", Payload: []byte(`{"id":"no-text","customer_id":"c1"}`)},
		attune.ReasonEmpty:        {ID: "blank", Source: "survey", Payload: []byte(`{"id":"blank","text":"   "}`)},
		attune.ReasonOversized:    {ID: "huge", Source: "ticket", Payload: []byte(`{"id":"huge","text":"` + strings.Repeat("late again ", 2000) + `"}`)},
		attune.ReasonInvalidUTF8:  {ID: "latin1", Source: "review", Payload: []byte("{\"id\":\"latin1\",\"text\":\"caf\xe9 was cold\"}")},
	}
}

func TestWorkerStoresGoodEventsAndDeadLettersBadOnes(t *testing.T) {
	e := newEnv(t, StreamConfig{})
	good := tweets(t, 300)
	bad := badRecords()
	recs := append([]Record(nil), good[:150]...)
	for _, r := range bad {
		recs = append(recs, r)
	}
	recs = append(recs, good[150:]...)
	res := e.publish(t, recs)
	if res.Published != len(recs) || res.Duplicates != 0 {
		t.Fatalf("published %+v, want %d new", res, len(recs))
	}

	h := &recorder{}
	w := NewWorker(e.js, e.cons, h, WorkerConfig{FetchBatch: 64, MaxEventBytes: 8 << 10})
	runUntilDrained(t, e, w)

	stored := h.stored()
	if len(stored) != len(good) {
		t.Errorf("stored %d events, want %d", len(stored), len(good))
	}
	for _, r := range good {
		if stored[r.ID] != 1 {
			t.Errorf("event %s stored %d times, want once", r.ID, stored[r.ID])
		}
	}
	for _, r := range bad {
		if stored[r.ID] != 0 {
			t.Errorf("bad event %s reached the handler", r.ID)
		}
	}
	if got := w.Stats().Indexed.Load(); got != int64(len(good)) {
		t.Errorf("Indexed = %d, want %d", got, len(good))
	}
	if got := w.Stats().DeadLettered.Load(); got != int64(len(bad)) {
		t.Errorf("DeadLettered = %d, want %d", got, len(bad))
	}

	letters := dlq(t, e)
	if len(letters) != len(bad) {
		t.Fatalf("%d dead letters, want %d", len(letters), len(bad))
	}
	for _, m := range letters {
		reason := m.Header.Get(HeaderReason)
		want, ok := bad[reason]
		if !ok {
			t.Errorf("dead letter with unexpected reason %q: %s", reason, m.Data)
			continue
		}
		if m.Subject != DLQPrefix+reason {
			t.Errorf("dead letter subject %q, want %q", m.Subject, DLQPrefix+reason)
		}
		if !bytes.Equal(m.Data, want.Payload) {
			t.Errorf("reason %s: dead letter payload changed", reason)
		}
		if m.Header.Get(HeaderSubject) != want.Subject() || m.Header.Get(HeaderError) == "" {
			t.Errorf("reason %s: headers %v lack original subject or error", reason, m.Header)
		}
	}
}

func TestPublishDropsRepublishedIDs(t *testing.T) {
	e := newEnv(t, StreamConfig{})
	recs := tweets(t, 100)
	if res := e.publish(t, recs); res.Published != 100 {
		t.Fatalf("first publish: %+v", res)
	}
	if res := e.publish(t, recs[:40]); res.Published != 0 || res.Duplicates != 40 {
		t.Fatalf("republish: %+v, want 40 duplicates", res)
	}
}

func TestWorkerRedeliversAfterRetryableFailure(t *testing.T) {
	e := newEnv(t, StreamConfig{})
	recs := tweets(t, 120)
	e.publish(t, recs)
	failures := 0
	h := &recorder{fail: func([]attune.Event) error {
		if failures < 3 {
			failures++
			return errors.New("embedding engine unavailable")
		}
		return nil
	}}
	w := NewWorker(e.js, e.cons, h, WorkerConfig{FetchBatch: 50, RetryBase: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond})
	runUntilDrained(t, e, w)
	stored := h.stored()
	for _, r := range recs {
		if stored[r.ID] != 1 {
			t.Errorf("event %s stored %d times, want once", r.ID, stored[r.ID])
		}
	}
	if w.Stats().Retried.Load() == 0 || w.Stats().DeadLettered.Load() != 0 {
		t.Errorf("stats retried=%d dead=%d: want retries and no dead letters", w.Stats().Retried.Load(), w.Stats().DeadLettered.Load())
	}
}

func TestWorkerIsolatesPermanentFailureInBatch(t *testing.T) {
	e := newEnv(t, StreamConfig{})
	recs := tweets(t, 80)
	poison := recs[37].ID
	e.publish(t, recs)
	h := &recorder{fail: func(evs []attune.Event) error {
		for _, ev := range evs {
			if ev.ID == poison {
				return attune.Permanent("unprocessable", fmt.Errorf("event %s cannot be analysed", ev.ID))
			}
		}
		return nil
	}}
	w := NewWorker(e.js, e.cons, h, WorkerConfig{FetchBatch: 40})
	runUntilDrained(t, e, w)
	stored := h.stored()
	if len(stored) != len(recs)-1 || stored[poison] != 0 {
		t.Errorf("stored %d events (poison stored %d times), want %d and 0", len(stored), stored[poison], len(recs)-1)
	}
	letters := dlq(t, e)
	if len(letters) != 1 || letters[0].Header.Get(HeaderReason) != "unprocessable" {
		t.Fatalf("dead letters %d, want 1 with reason unprocessable", len(letters))
	}
	var ev attune.Event
	if err := json.Unmarshal(letters[0].Data, &ev); err != nil || ev.ID != poison {
		t.Errorf("dead letter is not the poison event: %v %q", err, ev.ID)
	}
}

func TestRecordsFromTweetsCSV(t *testing.T) {
	f, err := os.Open(tweetsCSV)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, ids := 0, map[string]bool{}
	for r, err := range Records(f, "csv", tweetMapping) {
		if err != nil {
			t.Fatal(err)
		}
		rows++
		ids[r.ID] = true
		ev, err := attune.DecodeEvent(r.Payload, 1<<20)
		if err != nil {
			t.Fatalf("row %d does not decode: %v", rows, err)
		}
		if ev.TS.IsZero() || ev.TS.Year() != 2015 {
			t.Fatalf("row %d: ts %v not parsed from tweet_created", rows, ev.TS)
		}
		if _, ok := ev.Number("retweet_count"); !ok {
			t.Fatalf("row %d: retweet_count not numeric in %v", rows, ev.Attrs)
		}
		if r.Subject() != "attune.events.ticket" {
			t.Fatalf("subject %q", r.Subject())
		}
	}
	// The datasets README: 14,640 rows, 14,485 distinct tweet ids.
	if rows != 14640 || len(ids) != 14485 {
		t.Errorf("rows=%d ids=%d, want 14640 and 14485", rows, len(ids))
	}
}

func TestRecordsJSONLKeepsMalformedLines(t *testing.T) {
	in := "{\"id\":\"a\",\"text\":\"late again\",\"source\":\"Survey\"}\nnot json\n\n{\"id\":\"b\",\"text\":\"ok\"}\r\n"
	var got []Record
	for r, err := range Records(strings.NewReader(in), "jsonl", Mapping{}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if len(got) != 3 {
		t.Fatalf("%d records, want 3 (blank line skipped, malformed kept)", len(got))
	}
	if got[0].ID != "a" || got[0].Subject() != "attune.events.survey" {
		t.Errorf("record 0: %+v", got[0])
	}
	if got[1].ID != "" || string(got[1].Payload) != "not json" || got[1].Subject() != "attune.events.review" {
		t.Errorf("record 1: %+v", got[1])
	}
	if got[2].ID != "b" || strings.HasSuffix(string(got[2].Payload), "\r") {
		t.Errorf("record 2: %+v", got[2])
	}
}

func TestDeadLettersListAndReplay(t *testing.T) {
	e := newEnv(t, StreamConfig{})
	good := tweets(t, 50)
	bad := badRecords()
	recs := append([]Record(nil), good...)
	for _, r := range bad {
		recs = append(recs, r)
	}
	e.publish(t, recs)
	h := &recorder{}
	// A small size limit dead-letters the oversized event; a replay after
	// raising it must bring it back.
	runUntilDrained(t, e, NewWorker(e.js, e.cons, h, WorkerConfig{MaxEventBytes: 8 << 10}))

	all, err := ListDeadLetters(context.Background(), e.js, "ATTUNE_DLQ", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(bad) {
		t.Fatalf("listed %d dead letters, want %d", len(all), len(bad))
	}
	big, err := ListDeadLetters(context.Background(), e.js, "ATTUNE_DLQ", attune.ReasonOversized, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(big) != 1 || big[0].Origin != bad[attune.ReasonOversized].Subject() || big[0].Error == "" {
		t.Fatalf("oversized dead letters: %+v", big)
	}
	if err := Replay(context.Background(), e.js, "ATTUNE_DLQ", big[0]); err != nil {
		t.Fatal(err)
	}
	runUntilDrained(t, e, NewWorker(e.js, e.cons, h, WorkerConfig{MaxEventBytes: 1 << 20}))
	if h.stored()["huge"] != 1 {
		t.Errorf("replayed event stored %d times, want once", h.stored()["huge"])
	}
	left, err := ListDeadLetters(context.Background(), e.js, "ATTUNE_DLQ", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != len(bad)-1 {
		t.Errorf("%d dead letters left after replay, want %d", len(left), len(bad)-1)
	}
}
