package main

import (
	"context"
	"encoding/json"
	"hash/fnv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/attune-cx/attune"
	"github.com/attune-cx/attune/cluster"
	"github.com/attune-cx/attune/ingest"
)

// feedApp is a worker's state without Ollama: a real embedded NATS server
// with JetStream on disk, the real segment store and Bleve index, the real
// NLP stage. Only the embedding is replaced (by hashed stems, see
// stemVectors): these tests are about what happens after embedding.
func feedApp(t *testing.T, sets ...string) (*app, *pipeline) {
	t.Helper()
	cfg := testConfig(t)
	for _, kv := range sets {
		if err := setKey(cfg, kv[:indexOf(kv, '=')], kv[indexOf(kv, '=')+1:], "."); err != nil {
			t.Fatal(err)
		}
	}
	a := newApp(cfg, testLogger(t))
	t.Cleanup(a.Close)
	ctx := context.Background()
	if err := a.connectNATS(ctx, true); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ensureStreams(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.openStores(); err != nil {
		t.Fatal(err)
	}
	p, err := newPipeline(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return a, p
}

func indexOf(s string, c byte) int {
	for i := range len(s) {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// analysed turns records into analysed docs and their stem vectors.
func analysed(t *testing.T, a *app, recs []ingest.Record) ([]attune.Doc, []attune.Vector) {
	t.Helper()
	docs := make([]attune.Doc, len(recs))
	for i, r := range recs {
		ev, err := attune.DecodeEvent(r.Payload, 0)
		if err != nil {
			t.Fatalf("record %s: %v", r.ID, err)
		}
		docs[i] = attune.Doc{Event: ev, Analysis: a.nlp.Analyze(ev.Text)}
	}
	return docs, stemVectors(docs)
}

// stemVectors stands in for the embedding model: a signed feature hash of
// each text's stems into 128 dimensions.
func stemVectors(docs []attune.Doc) []attune.Vector {
	out := make([]attune.Vector, len(docs))
	for i, d := range docs {
		v := make(attune.Vector, 128)
		for _, s := range d.Analysis.Stems {
			h := fnv.New32a()
			h.Write([]byte(s))
			x := h.Sum32()
			sign := float32(1)
			if x&1 == 1 {
				sign = -1
			}
			v[(x>>1)%128] += sign
		}
		v[0] += 1e-3 // no all-zero vector for a text without stems
		out[i] = v
	}
	return out
}

// feedMsgs reads every message stored in the feed stream, in order.
func feedMsgs(t *testing.T, a *app) []*jetstream.RawStreamMsg {
	t.Helper()
	ctx := context.Background()
	s, err := a.js.Stream(ctx, a.cfg.Cluster.Feed.Stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func membershipEvents(t *testing.T, msgs []*jetstream.RawStreamMsg) []cluster.MembershipEvent {
	t.Helper()
	var out []cluster.MembershipEvent
	for _, m := range msgs {
		if m.Subject == alertSubject {
			continue
		}
		var e cluster.MembershipEvent
		if err := json.Unmarshal(m.Data, &e); err != nil {
			t.Fatalf("%s: %v", m.Subject, err)
		}
		if m.Subject != membershipSubject(e.SegmentID, e.Kind) {
			t.Fatalf("message for %s %s on subject %s", e.Kind, e.SegmentID, m.Subject)
		}
		out = append(out, e)
	}
	return out
}

// TestSegmentFeed checks the campaign trigger feed on real tweets through a
// real embedded NATS server: a re-cluster publishes every customer's entry,
// a new event that lands in another segment publishes an exit and an enter,
// a redelivered batch and a late event publish nothing, and a batch whose
// publish fails while NATS is down is not lost: it fails (so the worker does
// not acknowledge it) and its retry publishes the move once NATS is back.
func TestSegmentFeed(t *testing.T) {
	a, p := feedApp(t)
	ctx := context.Background()
	sub, err := a.nc.SubscribeSync("attune.segments.*.enter")
	if err != nil {
		t.Fatal(err)
	}
	docs, vecs := analysed(t, a, tweetRecords(t, 400))
	if err := p.commit(ctx, docs, vecs); err != nil {
		t.Fatal(err)
	}
	if n := len(feedMsgs(t, a)); n != 0 {
		t.Fatalf("%d feed messages before any segment exists", n)
	}
	if _, err := p.Recluster(ctx); err != nil {
		t.Fatal(err)
	}
	customers := map[string]bool{}
	for _, d := range docs {
		customers[cluster.CustomerOf(d.Event)] = true
	}
	evs := membershipEvents(t, feedMsgs(t, a))
	entered := map[string]string{}
	for _, e := range evs {
		if e.Kind != cluster.Enter || e.Reason != cluster.ReasonRecluster || e.From != "" || e.SegmentName == "" {
			t.Fatalf("first re-cluster published %+v, want only first entries", e)
		}
		if _, dup := entered[e.Customer]; dup {
			t.Fatalf("customer %s entered twice", e.Customer)
		}
		entered[e.Customer] = e.SegmentID
		if seg, _ := p.store.Segment(e.Customer); seg != e.SegmentID {
			t.Fatalf("customer %s entered %s but the store has %s", e.Customer, e.SegmentID, seg)
		}
	}
	if len(entered) != len(customers) {
		t.Fatalf("%d customers entered a segment, want all %d", len(entered), len(customers))
	}
	if _, err := sub.NextMsg(time.Second); err != nil {
		t.Fatalf("a core NATS subscriber got no enter message: %v", err)
	}

	// A customer writes again, and this time like a member of another
	// segment: copy the text and vector of such a member.
	var cust, from string
	var other attune.Doc
	var otherVec attune.Vector
	for i, d := range docs {
		c := cluster.CustomerOf(d.Event)
		seg := p.model.Assign(cluster.Point{Doc: d, Vec: vecs[i]}).ID
		if cust == "" {
			cust, from = c, entered[c]
		} else if seg != from && entered[c] == seg && other.Event.ID == "" {
			other, otherVec = d, vecs[i]
		}
	}
	if other.Event.ID == "" {
		t.Fatal("no member of a second segment")
	}
	moved := other
	moved.Event = attune.Event{ID: "new-1", CustomerID: cust, Text: other.Event.Text, TS: time.Date(2015, 3, 1, 0, 0, 0, 0, time.UTC)}
	before := len(feedMsgs(t, a))
	if err := p.commit(ctx, []attune.Doc{moved}, []attune.Vector{otherVec}); err != nil {
		t.Fatal(err)
	}
	evs = membershipEvents(t, feedMsgs(t, a)[before:])
	to := p.model.Assign(cluster.Point{Doc: moved, Vec: otherVec}).ID
	want := []cluster.MembershipEvent{
		{Customer: cust, Kind: cluster.Exit, SegmentID: from, To: to, EventID: "new-1", Reason: cluster.ReasonEvent},
		{Customer: cust, Kind: cluster.Enter, SegmentID: to, From: from, EventID: "new-1", Reason: cluster.ReasonEvent},
	}
	if len(evs) != 2 {
		t.Fatalf("the move published %d messages, want an exit and an enter: %+v", len(evs), evs)
	}
	for i := range want {
		got := evs[i]
		got.SegmentName, got.TS = "", time.Time{}
		if got != want[i] {
			t.Errorf("message %d: %+v, want %+v", i, got, want[i])
		}
		if !evs[i].TS.Equal(moved.Event.TS) {
			t.Errorf("message %d has ts %s, want the event's %s", i, evs[i].TS, moved.Event.TS)
		}
	}

	// A redelivery of the same batch, and a late event older than the
	// customer's latest, publish nothing.
	before = len(feedMsgs(t, a))
	if err := p.commit(ctx, []attune.Doc{moved}, []attune.Vector{otherVec}); err != nil {
		t.Fatal(err)
	}
	late := docs[0]
	late.Event = attune.Event{ID: "late-1", CustomerID: cust, Text: docs[0].Event.Text, TS: time.Date(2015, 2, 1, 0, 0, 0, 0, time.UTC)}
	if err := p.commit(ctx, []attune.Doc{late}, []attune.Vector{vecs[0]}); err != nil {
		t.Fatal(err)
	}
	if n := len(feedMsgs(t, a)) - before; n != 0 {
		t.Errorf("a redelivery and a late event published %d messages", n)
	}

	// NATS goes away while a move is to be published.
	bi := -1
	for i, d := range docs {
		if p.model.Assign(cluster.Point{Doc: d, Vec: vecs[i]}).ID == from {
			bi = i
			break
		}
	}
	back, backVec := docs[bi], vecs[bi]
	back.Event = attune.Event{ID: "new-2", CustomerID: cust, Text: docs[bi].Event.Text, TS: time.Date(2015, 3, 2, 0, 0, 0, 0, time.UTC)}
	before = len(feedMsgs(t, a))
	a.nats.Shutdown()
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	err = p.commit(cctx, []attune.Doc{back}, []attune.Vector{backVec})
	cancel()
	if err == nil {
		t.Fatal("a batch whose move could not be published succeeded: it would be acknowledged and the move lost")
	}
	if seg, _ := p.store.Segment(cust); seg != to {
		t.Fatalf("the unpublished move was recorded: customer is in %s, want still %s", seg, to)
	}
	srv, err := ingest.StartServer(ingest.ServerConfig{Listen: a.cfg.NATS.Listen, StoreDir: a.cfg.natsDir()})
	if err != nil {
		t.Fatal(err)
	}
	a.nats = srv
	a.onClose(srv.Shutdown)
	waitFor(t, "NATS reconnect", time.Minute, func() bool { return a.nc.Status() == nats.CONNECTED })
	waitFor(t, "the retried batch", time.Minute, func() bool { return p.commit(ctx, []attune.Doc{back}, []attune.Vector{backVec}) == nil })
	evs = membershipEvents(t, feedMsgs(t, a)[before:])
	if len(evs) != 2 || evs[0].Kind != cluster.Exit || evs[0].SegmentID != to || evs[1].Kind != cluster.Enter || evs[1].EventID != "new-2" {
		t.Fatalf("after NATS came back the move published %+v", evs)
	}
	if seg, _ := p.store.Segment(cust); seg != evs[1].SegmentID {
		t.Errorf("store has customer in %s, feed says %s", seg, evs[1].SegmentID)
	}
}
