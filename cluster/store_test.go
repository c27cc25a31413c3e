package cluster

import (
	"context"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/attune-cx/attune"
)

func openStore(t *testing.T, path string, opts ...StoreOption) *Store {
	t.Helper()
	s, err := OpenStore(path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// rawTweets returns every row of Tweets.csv in file order, duplicates
// included, as events with the retweet count as an attribute.
func rawTweets(t *testing.T) []attune.Event {
	h, rows := readCSV(t, "twitter_us_airline_sentiment/Tweets.csv")
	evs := make([]attune.Event, len(rows))
	for i, r := range rows {
		ts, err := time.Parse("2006-01-02 15:04:05 -0700", r[h["tweet_created"]])
		if err != nil {
			t.Fatal(err)
		}
		evs[i] = attune.Event{
			ID: r[h["tweet_id"]], CustomerID: r[h["name"]], Source: attune.SourceReview, Text: r[h["text"]], TS: ts,
			Attrs: map[string]any{"retweet_count": r[h["retweet_count"]]},
		}
	}
	return evs
}

// vectorsFor gives each event a 32-dimensional projected TF-IDF vector.
func vectorsFor(evs []attune.Event) []attune.Vector {
	texts := make([]string, len(evs))
	for i, e := range evs {
		texts[i] = e.Text
	}
	sp, vocab := tfidfSparse(texts)
	return project(sp, vocab, 32, 1)
}

func putBatches(t *testing.T, s *Store, evs []attune.Event, vecs []attune.Vector, batch int) {
	t.Helper()
	for lo := 0; lo < len(evs); lo += batch {
		hi := min(len(evs), lo+batch)
		docs := make([]attune.Doc, hi-lo)
		for i := range docs {
			docs[i] = attune.Doc{Event: evs[lo+i]}
		}
		if _, err := s.Put(docs, vecs[lo:hi]); err != nil {
			t.Fatal(err)
		}
	}
}

// TestStoreTweets puts every airline tweet, duplicate rows included, and
// checks each customer's features against a count made here from the CSV.
func TestStoreTweets(t *testing.T) {
	evs := rawTweets(t)
	vecs := vectorsFor(evs)
	path := filepath.Join(t.TempDir(), "attune.db")
	s := openStore(t, path, WithEngagement("retweet_count"))
	putBatches(t, s, evs, vecs, 5000)

	// Hand count: the last row of each tweet id wins, as Put overwrites.
	last := map[string]attune.Event{}
	for _, e := range evs {
		last[e.ID] = e
	}
	want := map[string]*attune.Customer{}
	for _, e := range last {
		c := want[e.CustomerID]
		if c == nil {
			c = &attune.Customer{ID: e.CustomerID, First: e.TS, Last: e.TS, HasEngagement: true}
			want[e.CustomerID] = c
		}
		c.Frequency++
		rt, err := strconv.ParseFloat(e.Attrs["retweet_count"].(string), 64)
		if err != nil {
			t.Fatal(err)
		}
		c.Engagement += rt
		if e.TS.Before(c.First) {
			c.First = e.TS
		}
		if e.TS.After(c.Last) {
			c.Last = e.TS
		}
	}
	if n, err := s.Len(); err != nil || n != len(last) {
		t.Fatalf("Len = %d, %v; want %d distinct tweets", n, err, len(last))
	}
	multi := 0
	for id, w := range want {
		got, ok, err := s.Customer(id)
		if err != nil || !ok {
			t.Fatalf("Customer(%q) = %v, %v", id, ok, err)
		}
		if !sameCustomer(got, *w) {
			t.Fatalf("customer %q: got %+v, want %+v", id, got, *w)
		}
		if w.Frequency > 1 {
			multi++
		}
	}
	t.Logf("%d rows, %d tweets, %d customers, %d with more than one tweet", len(evs), len(last), len(want), multi)

	// Re-putting events (now with a segment) counts nothing twice.
	docs := []attune.Doc{{Event: evs[0], SegmentID: "seg-1"}, {Event: evs[1], SegmentID: "seg-2"}}
	got, err := s.Put(docs, vecs[:2])
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		if c := got[d.Event.CustomerID]; !sameCustomer(c, *want[d.Event.CustomerID]) {
			t.Errorf("after re-put, customer %q: got %+v, want %+v", d.Event.CustomerID, c, *want[d.Event.CustomerID])
		}
	}
	if n, _ := s.Len(); n != len(last) {
		t.Errorf("Len after re-put = %d, want %d", n, len(last))
	}

	// An event moved to another customer leaves its old one.
	moved := evs[0]
	oldCust := moved.CustomerID
	moved.CustomerID = "someone-else"
	got, err = s.Put([]attune.Doc{{Event: moved}}, vecs[:1])
	if err != nil {
		t.Fatal(err)
	}
	if c := got["someone-else"]; c.Frequency != 1 {
		t.Errorf("new customer after move: %+v", c)
	}
	c, ok, _ := s.Customer(oldCust)
	if wantN := want[oldCust].Frequency - 1; wantN == 0 && ok || wantN > 0 && c.Frequency != wantN {
		t.Errorf("old customer after move: %+v (present %v), want frequency %v", c, ok, wantN)
	}

	// Each visits every event once, in id order, with its vector.
	var ids []string
	err = s.Each(func(d attune.Doc, v attune.Vector) error {
		ids = append(ids, d.Event.ID)
		if len(v) != 32 {
			t.Fatalf("event %s: vector of %d", d.Event.ID, len(v))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != len(last) || !slices.IsSorted(ids) {
		t.Errorf("Each visited %d events (sorted %v), want %d in order", len(ids), slices.IsSorted(ids), len(last))
	}
}

func sameCustomer(a, b attune.Customer) bool {
	return a.ID == b.ID && a.Frequency == b.Frequency && a.First.Equal(b.First) && a.Last.Equal(b.Last) &&
		a.RatingSum == b.RatingSum && a.Ratings == b.Ratings &&
		a.Monetary == b.Monetary && a.HasMonetary == b.HasMonetary &&
		a.Engagement == b.Engagement && a.HasEngagement == b.HasEngagement
}

// TestStoreOlist checks ratings and monetary sums on Olist reviews joined to
// their orders, customers and payments, for the people with several orders.
func TestStoreOlist(t *testing.T) {
	oh, orders := readCSV(t, "olist/olist_orders_dataset.csv")
	ch, customers := readCSV(t, "olist/olist_customers_dataset.csv")
	ph, payments := readCSV(t, "olist/olist_order_payments_dataset.csv")
	rh, reviews := readCSV(t, "olist/olist_order_reviews_dataset.csv")
	person := map[string]string{}
	for _, r := range customers {
		person[r[ch["customer_id"]]] = r[ch["customer_unique_id"]]
	}
	orderPerson := map[string]string{}
	for _, r := range orders {
		orderPerson[r[oh["order_id"]]] = person[r[oh["customer_id"]]]
	}
	value := map[string]float64{}
	for _, r := range payments {
		v, err := strconv.ParseFloat(r[ph["payment_value"]], 64)
		if err != nil {
			t.Fatal(err)
		}
		value[r[ph["order_id"]]] += v
	}
	var evs []attune.Event
	for _, r := range reviews {
		ts, err := time.Parse(time.DateTime, r[rh["review_creation_date"]])
		if err != nil {
			t.Fatal(err)
		}
		score, err := strconv.ParseFloat(r[rh["review_score"]], 64)
		if err != nil {
			t.Fatal(err)
		}
		ev := attune.Event{
			ID: r[rh["review_id"]] + "/" + r[rh["order_id"]], CustomerID: orderPerson[r[rh["order_id"]]],
			Text: r[rh["review_comment_title"]] + " " + r[rh["review_comment_message"]], TS: ts, Rating: &score,
		}
		if v, ok := value[r[rh["order_id"]]]; ok {
			ev.Attrs = map[string]any{"order_value": v}
		}
		evs = append(evs, ev)
	}

	// Keep every review of the people with several (what is checked) and
	// the first 1,000 others, to stay quick.
	reviewsOf := map[string]int{}
	for _, e := range evs {
		reviewsOf[e.CustomerID]++
	}
	singles := 0
	evs = slices.DeleteFunc(evs, func(e attune.Event) bool {
		if reviewsOf[e.CustomerID] > 1 {
			return false
		}
		singles++
		return singles > 1000
	})

	path := filepath.Join(t.TempDir(), "olist.db")
	s := openStore(t, path, WithMonetary("order_value"))
	putBatches(t, s, evs, vectorsFor(evs), 500)

	type tally struct{ n, ratingSum, ratings, monetary float64 }
	want := map[string]*tally{}
	for _, e := range evs {
		w := want[e.CustomerID]
		if w == nil {
			w = &tally{}
			want[e.CustomerID] = w
		}
		w.n++
		w.ratingSum += *e.Rating
		w.ratings++
		if v, ok := e.Attrs["order_value"].(float64); ok {
			w.monetary += v
		}
	}
	checked := 0
	for id, w := range want {
		if w.n < 2 {
			continue
		}
		checked++
		c, ok, err := s.Customer(id)
		if err != nil || !ok {
			t.Fatalf("Customer(%q) = %v, %v", id, ok, err)
		}
		if c.Frequency != w.n || c.Ratings != w.ratings || c.RatingSum != w.ratingSum || !c.HasMonetary || !near(c.Monetary, w.monetary) {
			t.Errorf("customer %s: got %+v, want %+v", id, c, *w)
		}
	}
	if checked < 50 {
		t.Fatalf("only %d people with several reviews; the sample has 150", checked)
	}
	t.Logf("%d reviews, %d people, %d checked with several reviews", len(evs), len(want), checked)

	// Reopening without the monetary attribute recomputes every customer.
	s.Close()
	s = openStore(t, path)
	for id, w := range want {
		c, ok, err := s.Customer(id)
		if err != nil || !ok {
			t.Fatalf("Customer(%q) = %v, %v", id, ok, err)
		}
		if c.HasMonetary || c.Frequency != w.n || c.Ratings != w.ratings {
			t.Fatalf("after reopening without monetary, customer %s: %+v", id, c)
		}
	}
}

func near(a, b float64) bool { return a-b < 1e-6 && b-a < 1e-6 }

// TestStoreModel round-trips a fitted model and checks everything survives
// closing and reopening the file.
func TestStoreModel(t *testing.T) {
	pts, _ := textPoints(banking77(t, "test", fiveIntents...))
	path := filepath.Join(t.TempDir(), "attune.db")
	s := openStore(t, path)
	if m, err := s.LoadModel(); m != nil || err != nil {
		t.Fatalf("LoadModel on a new store = %v, %v; want nil, nil", m, err)
	}
	docs := make([]attune.Doc, len(pts))
	vecs := make([]attune.Vector, len(pts))
	for i, p := range pts {
		docs[i], vecs[i] = p.Doc, p.Vec
	}
	if _, err := s.Put(docs, vecs); err != nil {
		t.Fatal(err)
	}
	stored, err := s.Points(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != len(pts) || stored[0].Customer.Frequency != 1 {
		t.Fatalf("Points: %d points, first customer %+v", len(stored), stored[0].Customer)
	}
	m, err := Fit(context.Background(), stored, Config{K: 5, Seed: 3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SaveModel(m); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openStore(t, path)
	if n, err := s.Len(); err != nil || n != len(pts) {
		t.Fatalf("Len after reopen = %d, %v; want %d", n, err, len(pts))
	}
	got, err := s.LoadModel()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("model changed through save and load:\ngot  %+v\nwant %+v", got.Segments(), m.Segments())
	}
	for _, p := range stored {
		if a, b := got.Assign(p), m.Assign(p); a.ID != b.ID || a.Name != b.Name {
			t.Fatalf("event %s: loaded model assigns %v, saved one %v", p.Doc.Event.ID, a, b)
		}
	}
	c, ok, err := s.Customer(stored[0].Customer.ID)
	if err != nil || !ok || !sameCustomer(c, stored[0].Customer) {
		t.Errorf("customer after reopen: %+v, %v, %v", c, ok, err)
	}
}

func TestStorePutRejects(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "attune.db"))
	ev := banking77(t, "test", "card_arrival")[0]
	doc := attune.Doc{Event: attune.Event{ID: "x", Text: ev.text}}
	tests := []struct {
		name string
		docs []attune.Doc
		vecs []attune.Vector
	}{
		{"count mismatch", []attune.Doc{doc}, nil},
		{"no id", []attune.Doc{{Event: attune.Event{Text: ev.text}}}, []attune.Vector{{1}}},
		{"empty vector", []attune.Doc{doc}, []attune.Vector{{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.Put(tt.docs, tt.vecs); err == nil {
				t.Error("Put succeeded")
			}
		})
	}
	if n, _ := s.Len(); n != 0 {
		t.Errorf("rejected puts stored %d events", n)
	}
}

// TestStoreMove replays the airline tweets in time order, in batches of 500,
// with each tweet's gold label (complaint reason, else sentiment) as its
// segment, and checks that the transitions are exactly the label changes of
// each user's tweet sequence, and survive reopening the store.
func TestStoreMove(t *testing.T) {
	all := tweets(t)
	slices.SortStableFunc(all, func(a, b tweet) int { return a.created.Compare(b.created) })
	path := filepath.Join(t.TempDir(), "store.db")
	s := openStore(t, path)
	want := map[string]int{}
	last := map[string]string{}
	got := map[string]int{}
	for lo := 0; lo < len(all); lo += 500 {
		batch := all[lo:min(lo+500, len(all))]
		docs := make([]attune.Doc, len(batch))
		for i, tw := range batch {
			seg := tw.reason
			if seg == "" {
				seg = tw.sentiment
			}
			docs[i] = attune.Doc{Event: attune.Event{ID: tw.id, CustomerID: tw.user, TS: tw.created}, SegmentID: seg}
		}
		// The expected moves: only a customer's latest tweet in a batch
		// counts.
		latest := map[string]string{}
		for _, d := range docs {
			latest[d.Event.CustomerID] = d.SegmentID
		}
		for c, seg := range latest {
			if last[c] != seg {
				want[c]++
				last[c] = seg
			}
		}
		diff, err := s.Diff(MembershipOf(docs))
		if err != nil {
			t.Fatal(err)
		}
		trs, err := s.Move(MembershipOf(docs))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(diff, trs) {
			t.Fatalf("Diff announced %d transitions, Move made %d", len(diff), len(trs))
		}
		for _, tr := range trs {
			if tr.From == tr.To || tr.EventID == "" {
				t.Fatalf("bad transition %+v", tr)
			}
			got[tr.Customer]++
		}
	}
	if len(want) < 1000 {
		t.Fatalf("only %d customers: the replay tested little", len(want))
	}
	moved := 0
	for c, n := range want {
		if got[c] != n {
			t.Fatalf("customer %s: %d transitions, want %d", c, got[c], n)
		}
		if n > 1 {
			moved++
		}
	}
	if moved == 0 {
		t.Error("no customer changed segment: the check tested nothing")
	}
	s.Close()
	s = openStore(t, path)
	for c, seg := range last {
		if got, err := s.Segment(c); err != nil || got != seg {
			t.Fatalf("after reopen, %s is in %q (%v), want %q", c, got, err, seg)
		}
	}
	// Replaying the last memberships changes nothing.
	var again []Membership
	for c, seg := range last {
		again = append(again, Membership{Customer: c, Segment: seg})
	}
	if trs, err := s.Move(again); err != nil || len(trs) != 0 {
		t.Errorf("replay gave %d transitions (%v)", len(trs), err)
	}
}
