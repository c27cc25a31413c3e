package cluster

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/attune-cx/attune"
)

// olistRepeatCustomers returns the text reviews of the Olist customers who
// wrote several, on different days, as points: TF-IDF vectors of the
// Portuguese text and, as the sentiment score, the review's stars mapped to
// [-1, 1] (a real attitude of the customer, independent of any scorer).
func olistRepeatCustomers(t *testing.T) []Point {
	oh, orders := readCSV(t, "olist/olist_orders_dataset.csv")
	ch, customers := readCSV(t, "olist/olist_customers_dataset.csv")
	rh, reviews := readCSV(t, "olist/olist_order_reviews_dataset.csv")
	person := map[string]string{}
	for _, r := range customers {
		person[r[ch["customer_id"]]] = r[ch["customer_unique_id"]]
	}
	orderPerson := map[string]string{}
	for _, r := range orders {
		orderPerson[r[oh["order_id"]]] = person[r[oh["customer_id"]]]
	}
	var evs []attune.Event
	var scores []float64
	days := map[string]map[time.Time]bool{}
	for _, r := range reviews {
		text := r[rh["review_comment_message"]]
		cid := orderPerson[r[rh["order_id"]]]
		if text == "" || cid == "" {
			continue
		}
		ts, err := time.Parse(time.DateTime, r[rh["review_creation_date"]])
		if err != nil {
			t.Fatal(err)
		}
		stars, err := strconv.ParseFloat(r[rh["review_score"]], 64)
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, attune.Event{ID: r[rh["review_id"]], CustomerID: cid, Text: text, TS: ts})
		scores = append(scores, (stars-3)/2)
		if days[cid] == nil {
			days[cid] = map[time.Time]bool{}
		}
		days[cid][ts] = true
	}
	var keep []int
	for i, e := range evs {
		if len(days[e.CustomerID]) > 1 {
			keep = append(keep, i)
		}
	}
	texts := make([]string, len(keep))
	for j, i := range keep {
		texts[j] = evs[i].Text
	}
	vecs := tfidf(texts)
	pts := make([]Point, len(keep))
	for j, i := range keep {
		d := analysedDoc(evs[i])
		d.Analysis.Sentiment = attune.Sentiment{Score: scores[i], Label: labelOfStars(scores[i])}
		pts[j] = Point{Doc: d, Vec: vecs[j], Customer: attune.Customer{ID: evs[i].CustomerID}}
	}
	return pts
}

func labelOfStars(s float64) attune.Label {
	switch {
	case s > 0:
		return attune.Positive
	case s < 0:
		return attune.Negative
	}
	return attune.Neutral
}

// TestCustomerPointsOlist aggregates the Olist customers who reviewed on
// several days: one point per customer, recent reviews weighing more.
func TestCustomerPointsOlist(t *testing.T) {
	pts := olistRepeatCustomers(t)
	byCust := map[string][]Point{}
	for _, p := range pts {
		byCust[p.Doc.Event.CustomerID] = append(byCust[p.Doc.Event.CustomerID], p)
	}
	t.Logf("%d reviews of %d customers who reviewed on several days", len(pts), len(byCust))
	if len(byCust) < 20 {
		t.Fatalf("only %d repeat customers", len(byCust))
	}
	const halfLife = 30 * 24 * time.Hour
	agg, err := CustomerPoints(pts, halfLife)
	if err != nil {
		t.Fatal(err)
	}
	equal, err := CustomerPoints(pts, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(agg) != len(byCust) || len(equal) != len(byCust) {
		t.Fatalf("%d and %d aggregates for %d customers", len(agg), len(equal), len(byCust))
	}
	closer, moved := 0, 0
	for c, a := range agg {
		cid := a.Doc.Event.ID
		evs := byCust[cid]
		if evs == nil || a.Doc.Event.CustomerID != cid {
			t.Fatalf("aggregate %d has id %q, customer %q", c, cid, a.Doc.Event.CustomerID)
		}
		latest := slices.MaxFunc(evs, func(x, y Point) int { return x.Doc.Event.TS.Compare(y.Doc.Event.TS) })
		if !a.Doc.Event.TS.Equal(latest.Doc.Event.TS) || a.Doc.Event.Text != latest.Doc.Event.Text {
			t.Errorf("%s: aggregate carries event %v, want the latest", cid, a.Doc.Event)
		}
		// Equal weights: the plain mean. Decay: the weights by hand.
		var mean, num, den float64
		var nstems int
		for _, e := range evs {
			mean += e.Doc.Analysis.Sentiment.Score / float64(len(evs))
			w := math.Pow(0.5, latest.Doc.Event.TS.Sub(e.Doc.Event.TS).Hours()/(30*24))
			num += w * e.Doc.Analysis.Sentiment.Score
			den += w
			nstems += len(e.Doc.Analysis.Stems)
		}
		if got := equal[c].Doc.Analysis.Sentiment.Score; math.Abs(got-mean) > 1e-9 {
			t.Errorf("%s: equal-weight sentiment %.4f, want the mean %.4f", cid, got, mean)
		}
		got := a.Doc.Analysis.Sentiment.Score
		if math.Abs(got-num/den) > 1e-9 {
			t.Errorf("%s: recency-weighted sentiment %.4f, want %.4f", cid, got, num/den)
		}
		// Recency pulls toward the latest review, never away.
		last := latest.Doc.Analysis.Sentiment.Score
		if math.Abs(got-last) > math.Abs(mean-last)+1e-12 {
			t.Errorf("%s: weighted %.3f is farther from the latest %.3f than the mean %.3f", cid, got, last, mean)
		}
		if math.Abs(mean-last) > 1e-9 {
			moved++
			if math.Abs(got-last) < math.Abs(mean-last) {
				closer++
			}
		}
		if len(a.Doc.Analysis.Stems) != nstems {
			t.Errorf("%s: %d stems, want all %d of the reviews'", cid, len(a.Doc.Analysis.Stems), nstems)
		}
		// The text side follows recency too.
		if cosine(a.Vec, latest.Vec) < cosine(equal[c].Vec, latest.Vec)-1e-6 {
			t.Errorf("%s: weighted vector is less like the latest review than the mean is", cid)
		}
	}
	t.Logf("%d customers whose reviews disagree: the weighted score is nearer the latest for %d", moved, closer)
	if moved == 0 || closer != moved {
		t.Errorf("recency moved %d of %d customers' scores toward their latest review, want all (and some)", closer, moved)
	}
	// A half-life of an hour leaves only the latest day.
	short, err := CustomerPoints(pts, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range short {
		evs := byCust[a.Doc.Event.ID]
		latest := slices.MaxFunc(evs, func(x, y Point) int { return x.Doc.Event.TS.Compare(y.Doc.Event.TS) })
		if math.Abs(a.Doc.Analysis.Sentiment.Score-latest.Doc.Analysis.Sentiment.Score) > 1e-6 || cosine(a.Vec, latest.Vec) < 0.999 {
			t.Errorf("%s: a one-hour half-life left %.3f / cosine %.4f, want the latest review's %.3f", a.Doc.Event.ID,
				a.Doc.Analysis.Sentiment.Score, cosine(a.Vec, latest.Vec), latest.Doc.Analysis.Sentiment.Score)
		}
	}
}

func cosine(a, b attune.Vector) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb)
}

// TestFitCustomers segments airline tweeters rather than tweets: every
// segment holds as many points as customers, and every customer is in one.
func TestFitCustomers(t *testing.T) {
	pts := tweetPoints(t)[:4000]
	custs, err := CustomerPoints(pts, 7*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	users := map[string]bool{}
	for _, p := range pts {
		users[p.Doc.Event.CustomerID] = true
	}
	if len(custs) != len(users) || len(custs) >= len(pts) {
		t.Fatalf("%d customer points for %d users and %d tweets", len(custs), len(users), len(pts))
	}
	m, err := Fit(context.Background(), custs, Config{K: 10, Seed: 1, PCADims: 32}, nil)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, s := range m.Segments() {
		if s.Size != s.Customers {
			t.Errorf("segment %s: %d points, %d customers", s.ID, s.Size, s.Customers)
		}
		total += s.Customers
	}
	if total != len(users) {
		t.Errorf("segments hold %d customers, want %d", total, len(users))
	}
	t.Logf("%d tweets of %d customers in %d segments", len(pts), len(users), m.K())
}

func TestRecencyWeight(t *testing.T) {
	day := 24 * time.Hour
	for _, tt := range []struct {
		age, half time.Duration
		want      float64
	}{{0, day, 1}, {day, day, 0.5}, {3 * day, day, 0.125}, {5 * day, 0, 1}, {-day, day, 1}} {
		if got := RecencyWeight(tt.age, tt.half); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("RecencyWeight(%v, %v) = %v, want %v", tt.age, tt.half, got, tt.want)
		}
	}
}

// TestCustomerMemberships stores the airline tweets, fits segments on the
// events, and checks that a customer with several tweets is placed by the
// recency-weighted aggregate of all of them, read back from the store, while
// "latest" membership and one-tweet customers keep their latest tweet's
// segment.
func TestCustomerMemberships(t *testing.T) {
	pts := tweetPoints(t)[:5000]
	s := openStore(t, filepath.Join(t.TempDir(), "attune.db"))
	m, err := Fit(context.Background(), pts, Config{K: 10, Seed: 1, PCADims: 32}, nil)
	if err != nil {
		t.Fatal(err)
	}
	docs := make([]attune.Doc, len(pts))
	vecs := make([]attune.Vector, len(pts))
	for i, p := range pts {
		docs[i], vecs[i] = p.Doc, p.Vec
		docs[i].SegmentID = m.Assign(p).ID
	}
	if _, err := s.Put(docs, vecs); err != nil {
		t.Fatal(err)
	}
	latest := MembershipOf(docs)

	kept, err := s.CustomerMemberships(slices.Clone(latest), m, Config{Membership: MembershipLatest}.WithDefaults())
	if err != nil || !slices.Equal(kept, latest) {
		t.Fatalf("membership latest changed memberships (err %v)", err)
	}

	cfg := Config{}.WithDefaults()
	got, err := s.CustomerMemberships(slices.Clone(latest), m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	byCust := map[string][]Point{}
	for _, p := range pts {
		byCust[p.Doc.Event.CustomerID] = append(byCust[p.Doc.Event.CustomerID], p)
	}
	multi, moved := 0, 0
	for i, mb := range got {
		evs := byCust[mb.Customer]
		want := latest[i].Segment
		if len(evs) > 1 {
			multi++
			c, _, err := s.Customer(mb.Customer) // the features the store keeps
			if err != nil {
				t.Fatal(err)
			}
			evs = slices.Clone(evs)
			for j := range evs {
				evs[j].Customer = c
			}
			cps, err := CustomerPoints(evs, cfg.CustomerHalfLife)
			if err != nil {
				t.Fatal(err)
			}
			want = m.Assign(cps[0]).ID
		}
		if mb.Segment != want || mb.Customer != latest[i].Customer || mb.EventID != latest[i].EventID {
			t.Fatalf("customer %s (%d tweets): got %+v, want segment %s", mb.Customer, len(evs), mb, want)
		}
		if mb.Segment != latest[i].Segment {
			moved++
		}
	}
	// Customers who tweet about several things are not where their last
	// tweet alone puts them; if none moved, the aggregate is not in use.
	if multi < 100 || moved == 0 {
		t.Fatalf("%d customers with several tweets, %d placed elsewhere than their latest tweet", multi, moved)
	}
	t.Logf("%d customers, %d with several tweets, %d placed by their history elsewhere than their latest tweet", len(got), multi, moved)
}

// TestCustomerEventsKeepsTheLatest gives one customer 300 real tweets and
// checks that CustomerEvents reads the latest 256 of them, by event time.
func TestCustomerEventsKeepsTheLatest(t *testing.T) {
	pts := tweetPoints(t)[:300]
	s := openStore(t, filepath.Join(t.TempDir(), "attune.db"))
	docs := make([]attune.Doc, len(pts))
	vecs := make([]attune.Vector, len(pts))
	for i, p := range pts {
		docs[i], vecs[i] = p.Doc, p.Vec
		docs[i].Event.CustomerID = "one-account"
		docs[i].Event.TS = time.Date(2015, 2, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Hour)
	}
	if _, err := s.Put(docs, vecs); err != nil {
		t.Fatal(err)
	}
	got, err := s.CustomerEvents("one-account")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != maxCustomerEvents {
		t.Fatalf("%d events, want the latest %d", len(got), maxCustomerEvents)
	}
	oldest := docs[len(docs)-maxCustomerEvents].Event.TS
	for _, p := range got {
		if p.Doc.Event.TS.Before(oldest) {
			t.Fatalf("event %s of %s is older than the latest %d", p.Doc.Event.ID, p.Doc.Event.TS, maxCustomerEvents)
		}
		if p.Customer.ID != "one-account" || p.Customer.Frequency != float64(len(docs)) {
			t.Fatalf("customer features %+v, want all %d events counted", p.Customer, len(docs))
		}
	}
}
