package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/attune-cx/attune"
	"github.com/attune-cx/attune/cluster"
	"github.com/attune-cx/attune/index"
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
	// Membership "latest": one event moves its customer, which is what the
	// moves below are built on. TestCustomerMembershipFeed covers the
	// default, where a customer's history decides.
	a, p := feedApp(t, "cluster.membership=latest")
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

// timeOrderedTweets returns every airline tweet, unique by id, oldest first
// (as a live feed would deliver them), keeping the crowd's complaint reason
// as an attribute.
func timeOrderedTweets(t *testing.T) []ingest.Record {
	t.Helper()
	f, err := os.Open(filepath.Join(datasets, "twitter_us_airline_sentiment", "Tweets.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := ingest.Mapping{ID: "tweet_id", Customer: "name", TS: "tweet_created", Source: "ticket", Attrs: []string{"airline", "negativereason"}}
	seen := map[string]bool{}
	var out []ingest.Record
	var ts []time.Time
	for r, err := range ingest.Records(f, "csv", m) {
		if err != nil {
			t.Fatal(err)
		}
		if seen[r.ID] {
			continue
		}
		seen[r.ID] = true
		ev, err := attune.DecodeEvent(r.Payload, 0)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
		ts = append(ts, ev.TS)
	}
	idx := make([]int, len(out))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return ts[a].Compare(ts[b]) })
	sorted := make([]ingest.Record, len(out))
	for i, j := range idx {
		sorted[i] = out[j]
	}
	return sorted
}

// TestSegmentDriftAlerts streams the airline tweets in time order through
// the pipeline after fitting segments on the first days. The storms of 21–23
// February 2015 cancelled flights: the segment that holds the cancellation
// complaints must raise a volume alert on attune.alerts.segment on one of
// those days, each alert must be published once, and `attune segments` must
// show the drift of the latest window.
func TestSegmentDriftAlerts(t *testing.T) {
	a, p := feedApp(t)
	ctx := context.Background()
	recs := timeOrderedTweets(t)
	docs, vecs := analysed(t, a, recs)
	const fitOn = 2000
	if err := p.commit(ctx, docs[:fitOn], vecs[:fitOn]); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Recluster(ctx); err != nil {
		t.Fatal(err)
	}
	for i := fitOn; i < len(docs); i += 256 {
		j := min(i+256, len(docs))
		if err := p.commit(ctx, docs[i:j], vecs[i:j]); err != nil {
			t.Fatal(err)
		}
	}
	// The segment most of the cancellation complaints fall in.
	perSeg := map[string]int{}
	for i, d := range docs {
		if d.Event.Attrs["negativereason"] == "Cancelled Flight" {
			perSeg[p.model.Assign(cluster.Point{Doc: d, Vec: vecs[i]}).ID]++
		}
	}
	cancelSeg, best := "", 0
	for s, n := range perSeg {
		if n > best {
			cancelSeg, best = s, n
		}
	}
	keys := map[string]bool{}
	var storm []cluster.Alert
	for _, m := range feedMsgs(t, a) {
		if m.Subject != alertSubject {
			continue
		}
		var al cluster.Alert
		if err := json.Unmarshal(m.Data, &al); err != nil {
			t.Fatal(err)
		}
		t.Logf("alert %s %-28s %-9s %s n=%d z=%.2f", al.SegmentID, al.SegmentName, al.Kind, al.WindowStart.Format("Jan 02"), al.Count, al.Z)
		if keys[al.Key()] {
			t.Errorf("alert %s published twice", al.Key())
		}
		keys[al.Key()] = true
		if al.Z < al.Sigma && al.Z > -al.Sigma {
			t.Errorf("alert %s below its threshold: z %.2f", al.Key(), al.Z)
		}
		if day := al.WindowStart.Format("01-02"); al.SegmentID == cancelSeg && al.Kind == cluster.AlertVolume && (day == "02-22" || day == "02-23") {
			storm = append(storm, al)
		}
	}
	t.Logf("cancellation complaints: %d of %d in %s", best, func() (n int) {
		for _, v := range perSeg {
			n += v
		}
		return
	}(), cancelSeg)
	if len(storm) == 0 {
		t.Errorf("no volume alert for the storm days in %s, the cancellations' segment", cancelSeg)
	}
	rows := p.SegmentTable()
	alerts := 0
	for _, r := range rows {
		if r.Drift == nil {
			t.Errorf("segment %s has no drift window in the table", r.ID)
			continue
		}
		if r.Alert != "" {
			alerts++
		}
	}
	var b strings.Builder
	printSegmentRows(&b, rows)
	t.Logf("segments table:\n%s", b.String())
	if !strings.Contains(b.String(), "ALERT") {
		t.Error("the segments table has no ALERT column")
	}
}

// TestSegmentControls exercises rename, show and why through the worker's
// control verbs over NATS, as the CLI does: a user name reaches the index
// (search by it) and survives a re-cluster on more data; show describes the
// segment with exemplars, aspects and a trend; why explains an event.
func TestSegmentControls(t *testing.T) {
	a, p := feedApp(t)
	ctx := context.Background()
	if err := a.serveControl(p, nil); err != nil {
		t.Fatal(err)
	}
	recs := timeOrderedTweets(t)
	docs, vecs := analysed(t, a, recs[:1500])
	if err := p.commit(ctx, docs[:1000], vecs[:1000]); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Recluster(ctx); err != nil {
		t.Fatal(err)
	}
	var rows []SegmentRow
	if err := ingest.Control(ctx, a.nc, "segments", nil, &rows); err != nil {
		t.Fatal(err)
	}
	target := rows[0]
	var renamed attune.Segment
	if err := ingest.Control(ctx, a.nc, "segments.rename", map[string]string{"id": target.ID, "name": "storm-stranded"}, &renamed); err != nil {
		t.Fatal(err)
	}
	if renamed.ID != target.ID || renamed.Name != "storm-stranded" {
		t.Fatalf("rename returned %+v", renamed)
	}
	if err := ingest.Control(ctx, a.nc, "segments.rename", map[string]string{"id": rows[1].ID, "name": "storm-stranded"}, nil); err == nil {
		t.Error("two segments got the same name")
	}
	res, err := a.ix.Search(ctx, index.Query{Segment: "storm-stranded", Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != uint64(target.Size) {
		t.Errorf("search by the new name finds %d events, want the segment's %d", res.Total, target.Size)
	}

	// More data, a re-cluster: the segment keeps its id and its user name.
	if err := p.commit(ctx, docs[1000:], vecs[1000:]); err != nil {
		t.Fatal(err)
	}
	segs, err := p.Recluster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(segs, func(s attune.Segment) bool { return s.ID == target.ID })
	if i < 0 {
		t.Fatalf("segment %s lost its id in the re-cluster: %+v", target.ID, segs)
	}
	if segs[i].Name != "storm-stranded" {
		t.Errorf("after a re-cluster %s is named %q, want the user's name", target.ID, segs[i].Name)
	}

	var d SegmentDetail
	if err := ingest.Control(ctx, a.nc, "segments.show", map[string]string{"id": "storm-stranded"}, &d); err != nil {
		t.Fatal(err)
	}
	if d.ID != target.ID || !d.UserNamed || d.Size == 0 || len(d.Exemplars) == 0 || len(d.TopTerms) == 0 || len(d.Trend) == 0 {
		t.Errorf("show: %+v", d)
	}
	var b strings.Builder
	printSegmentDetail(&b, d)
	t.Logf("segments show:\n%s", b.String())

	var member string
	for j, doc := range docs {
		if p.model.Assign(cluster.Point{Doc: doc, Vec: vecs[j]}).ID == target.ID && len(doc.Analysis.Aspects) > 0 {
			member = doc.Event.ID
			break
		}
	}
	var why cluster.Why
	if err := ingest.Control(ctx, a.nc, "segments.why", map[string]string{"id": member}, &why); err != nil {
		t.Fatal(err)
	}
	if why.SegmentID != target.ID || len(why.Pull) == 0 || len(why.Aspects) == 0 || why.Distance > why.RunnerUpDistance {
		t.Errorf("why %s: %+v", member, why)
	}
	if err := ingest.Control(ctx, a.nc, "segments.why", map[string]string{"id": "no-such-event"}, &why); err == nil {
		t.Error("why of an unknown event succeeded")
	}
}

// TestWorkerSegmentFeed runs the real worker (managed Ollama, embedded NATS):
// after a re-cluster asked over NATS, every customer's entry is in the feed
// stream; tweets published afterwards publish, before they are acknowledged,
// the entry of each new customer with its event id; a restarted worker
// rebuilds its state and publishes nothing again.
func TestWorkerSegmentFeed(t *testing.T) {
	cfg := testConfig(t)
	requireOllama(t, cfg)
	recs := tweetRecords(t, 500)
	ctx, cancel := context.WithCancel(context.Background())
	a := newApp(cfg, testLogger(t))
	rw, err := a.startWorker(ctx, true)
	if err != nil {
		cancel()
		a.Close()
		t.Fatal(err)
	}
	publishAll(t, a, recs[:400])
	waitFor(t, "400 events indexed", 5*time.Minute, func() bool { return rw.w.Stats().Indexed.Load() >= 400 })
	var segs []attune.Segment
	if err := ingest.Control(ctx, a.nc, "recluster", nil, &segs); err != nil {
		t.Fatal(err)
	}
	first := len(membershipEvents(t, feedMsgs(t, a)))
	customers := map[string]bool{}
	for _, r := range recs[:400] {
		ev, _ := attune.DecodeEvent(r.Payload, 0)
		customers[cluster.CustomerOf(ev)] = true
	}
	if first != len(customers) {
		t.Fatalf("re-cluster published %d entries for %d customers", first, len(customers))
	}
	publishAll(t, a, recs[400:])
	waitFor(t, "500 events indexed", 5*time.Minute, func() bool { return rw.w.Stats().Indexed.Load() >= 500 })
	newCust := map[string]string{} // customer → its event
	for _, r := range recs[400:] {
		ev, _ := attune.DecodeEvent(r.Payload, 0)
		if c := cluster.CustomerOf(ev); !customers[c] {
			newCust[c] = ev.ID
		}
	}
	entered := map[string]string{}
	for _, e := range membershipEvents(t, feedMsgs(t, a))[first:] {
		if e.Reason != cluster.ReasonEvent || e.EventID == "" {
			t.Errorf("event-driven message %+v", e)
		}
		if e.Kind == cluster.Enter {
			entered[e.Customer] = e.EventID
		}
	}
	for c := range newCust {
		if _, ok := entered[c]; !ok {
			t.Errorf("new customer %s has no enter message", c)
		}
	}
	total := len(feedMsgs(t, a))
	cancel()
	a.Close()
	<-rw.done

	ctx2, cancel2 := context.WithCancel(context.Background())
	a2 := newApp(cfg, testLogger(t))
	defer a2.Close()
	defer cancel2() // first: Close waits for the loops ctx2 ends
	if _, err := a2.startWorker(ctx2, true); err != nil {
		t.Fatal(err)
	}
	var rows []SegmentRow
	if err := ingest.Control(ctx2, a2.nc, "segments", nil, &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(segs) || rows[0].Drift == nil {
		t.Errorf("after a restart the table has %d segments (want %d), drift %v", len(rows), len(segs), rows[0].Drift)
	}
	if n := len(feedMsgs(t, a2)); n != total {
		t.Errorf("a restart published %d more feed messages", n-total)
	}
}

// TestCustomerMembershipFeed checks the default customer membership on the
// feed: a customer whose several recent tweets read like one segment stays in
// it when one tweet reads like another (membership "latest" would move them),
// and moves, with an exit and an enter, once their recent tweets mostly read
// like the other segment.
func TestCustomerMembershipFeed(t *testing.T) {
	a, p := feedApp(t)
	ctx := context.Background()
	docs, vecs := analysed(t, a, tweetRecords(t, 400))
	if err := p.commit(ctx, docs, vecs); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Recluster(ctx); err != nil {
		t.Fatal(err)
	}
	// The two tweets nearest to their segments' centroids, in two segments.
	best := map[string]int{}
	dist := map[string]float64{}
	for i, d := range docs {
		seg, dd, err := p.model.Nearest(cluster.Point{Doc: d, Vec: vecs[i]})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := best[seg.ID]; !ok || dd < dist[seg.ID] {
			best[seg.ID], dist[seg.ID] = i, dd
		}
	}
	var segs []string
	for id := range best {
		segs = append(segs, id)
	}
	slices.SortFunc(segs, func(x, y string) int { return cmp.Compare(dist[x], dist[y]) })
	if len(segs) < 2 {
		t.Fatalf("%d segments", len(segs))
	}
	segA, segB := segs[0], segs[1]
	ai, bi := best[segA], best[segB]

	const cust = "customer-with-a-history"
	day := func(d int) time.Time { return time.Date(2015, 3, d, 12, 0, 0, 0, time.UTC) }
	like := func(i int, id string, d int) attune.Doc {
		doc := docs[i]
		doc.Event = attune.Event{ID: id, CustomerID: cust, Text: docs[i].Event.Text, TS: day(d)}
		return doc
	}
	commit := func(i int, id string, d int) []cluster.MembershipEvent {
		t.Helper()
		before := len(feedMsgs(t, a))
		if err := p.commit(ctx, []attune.Doc{like(i, id, d)}, []attune.Vector{vecs[i]}); err != nil {
			t.Fatal(err)
		}
		return membershipEvents(t, feedMsgs(t, a)[before:])
	}
	for d := 1; d <= 4; d++ {
		commit(ai, fmt.Sprintf("a-%d", d), d)
	}
	if seg, _ := p.store.Segment(cust); seg != segA {
		t.Fatalf("after four tweets like %s the customer is in %q", segA, seg)
	}
	if evs := commit(bi, "b-5", 5); len(evs) != 0 {
		t.Fatalf("one tweet like %s moved a customer with four like %s: %+v", segB, segA, evs)
	}
	if seg, _ := p.store.Segment(cust); seg != segA {
		t.Fatalf("one stray tweet moved the customer to %q", seg)
	}
	var moved []cluster.MembershipEvent
	for d := 6; d <= 28 && len(moved) == 0; d++ {
		moved = commit(bi, fmt.Sprintf("b-%d", d), d)
	}
	if len(moved) != 2 || moved[0].Kind != cluster.Exit || moved[0].SegmentID != segA ||
		moved[1].Kind != cluster.Enter || moved[1].SegmentID != segB || moved[1].Reason != cluster.ReasonEvent {
		t.Fatalf("as tweets like %s piled up the feed said %+v, want an exit from %s and an enter into %s", segB, moved, segA, segB)
	}
	if seg, _ := p.store.Segment(cust); seg != segB {
		t.Fatalf("store has the customer in %q, feed says %s", seg, segB)
	}
	t.Logf("moved %s -> %s after %s", segA, segB, moved[1].EventID)
}
