package cluster

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/attune-cx/attune"
	bolt "go.etcd.io/bbolt"
)

// RecencyWeight is the weight of an event written age before its customer's
// latest one under an exponential decay with the given half-life: 1 for the
// latest event, ½ one half-life earlier. A half-life ≤ 0 weighs every event
// alike.
func RecencyWeight(age, halfLife time.Duration) float64 {
	if halfLife <= 0 || age <= 0 {
		return 1
	}
	return math.Exp2(-float64(age) / float64(halfLife))
}

// CustomerPoints aggregates the event points of each customer into one
// point per customer, the unit of a customer-level segmentation: what a
// customer has been saying lately, recent events counting most.
//
// An event of age a (before the customer's latest event) weighs
// RecencyWeight(a, halfLife). The customer's point has
//
//   - Vec: the weighted mean of the events' unit-normalised embeddings;
//   - Sentiment: the weighted mean score, and the label with the largest
//     weight;
//   - Aspects: per aspect, the weighted mean score over the events that
//     mention it, with their mentions;
//   - Stems and Tokens: those of every event, so names count the customer
//     once per word;
//   - Event, Clean and Customer: those of the latest event, with the event
//     id replaced by the customer's key ("event:<id>" for events without a
//     customer), so that exemplars show the latest text.
//
// Events without a time are taken as written at the customer's latest
// time: their age is unknown and no decay is invented for them. Customers
// come out in the order of their first event in pts. It fails on events
// whose vectors differ in dimension or hold non-finite values.
func CustomerPoints(pts []Point, halfLife time.Duration) ([]Point, error) {
	var order []string
	byCust := map[string][]int{}
	for i, p := range pts {
		k := customerKey(p)
		if _, ok := byCust[k]; !ok {
			order = append(order, k)
		}
		byCust[k] = append(byCust[k], i)
	}
	if len(pts) == 0 {
		return nil, nil
	}
	dim := len(pts[0].Vec)
	out := make([]Point, 0, len(order))
	unit := make([]float64, dim)
	for _, key := range order {
		idx := byCust[key]
		latest := idx[0]
		for _, i := range idx[1:] {
			if pts[i].Doc.Event.TS.After(pts[latest].Doc.Event.TS) {
				latest = i
			}
		}
		asOf := pts[latest].Doc.Event.TS
		vec := make([]float64, dim)
		var wsum, score float64
		labels := map[attune.Label]float64{}
		type aspectSum struct {
			w, score float64
			labels   map[attune.Label]float64
			mentions []string
		}
		aspects := map[string]*aspectSum{}
		var stems, tokens []string
		for _, i := range idx {
			p := pts[i]
			if len(p.Vec) != dim {
				return nil, fmt.Errorf("event %s: vector has %d dimensions, want %d: %w", p.Doc.Event.ID, len(p.Vec), dim, ErrDimMismatch)
			}
			if err := unitInto(unit, p); err != nil {
				return nil, err
			}
			var age time.Duration
			if ts := p.Doc.Event.TS; !ts.IsZero() && !asOf.IsZero() {
				age = asOf.Sub(ts)
			}
			w := RecencyWeight(age, halfLife)
			for j, v := range unit {
				vec[j] += w * v
			}
			s := p.Doc.Analysis.Sentiment
			if !isFinite(s.Score) {
				return nil, fmt.Errorf("event %s: sentiment score is %v", p.Doc.Event.ID, s.Score)
			}
			score += w * s.Score
			labels[s.Label] += w
			wsum += w
			for _, a := range p.Doc.Analysis.Aspects {
				as := aspects[a.Aspect]
				if as == nil {
					as = &aspectSum{labels: map[attune.Label]float64{}}
					aspects[a.Aspect] = as
				}
				as.w += w
				as.score += w * a.Sentiment.Score
				as.labels[a.Sentiment.Label] += w
				for _, m := range a.Mentions {
					if !slices.Contains(as.mentions, m) {
						as.mentions = append(as.mentions, m)
					}
				}
			}
			stems = append(stems, p.Doc.Analysis.Stems...)
			tokens = append(tokens, p.Doc.Analysis.Tokens...)
		}
		cp := pts[latest]
		cp.Doc.Event.ID = key
		cp.Doc.Event.CustomerID = cmp.Or(cp.Doc.Event.CustomerID, cp.Customer.ID)
		cp.Vec = make(attune.Vector, dim)
		for j, v := range vec {
			cp.Vec[j] = float32(v / wsum)
		}
		a := &cp.Doc.Analysis
		a.Stems, a.Tokens = stems, tokens
		a.Sentiment = attune.Sentiment{Score: score / wsum, Label: heaviest(labels)}
		a.Aspects = nil
		names := make([]string, 0, len(aspects))
		for n := range aspects {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			as := aspects[n]
			a.Aspects = append(a.Aspects, attune.AspectSentiment{Aspect: n, Sentiment: attune.Sentiment{Score: as.score / as.w, Label: heaviest(as.labels)}, Mentions: as.mentions})
		}
		out = append(out, cp)
	}
	return out, nil
}

// heaviest returns the label with the largest weight (the first of
// negative, neutral, positive, unknown on a tie; empty when none has any).
func heaviest(w map[attune.Label]float64) attune.Label {
	var best attune.Label
	for _, l := range []attune.Label{attune.Negative, attune.Neutral, attune.Positive, attune.Unknown} {
		if w[l] > w[best] {
			best = l
		}
	}
	return best
}

// CustomerMemberships decides at customer level the segment of each
// customer in ms under m, when cfg.Membership is MembershipCustomer: a
// customer with more than one stored event goes to the segment of the
// recency-weighted aggregate of all their events (CustomerPoints with
// cfg.CustomerHalfLife), so one stray message does not move a customer whose
// history says otherwise. A customer with one event keeps that event's
// segment, which is the same thing. Under a density model the aggregate may
// fall outside every segment, and the customer then has none. A customer
// whose events m cannot place (vectors of another dimension, say, during a
// model switch) keeps the segment ms gives. ms is changed in place and
// returned; it reads the store in one transaction, and at most a
// customer's latest 256 events (CustomerEvents).
func (s *Store) CustomerMemberships(ms []Membership, m *Model, cfg Config) ([]Membership, error) {
	if m == nil || cfg.Membership != MembershipCustomer {
		return ms, nil
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		for i, mb := range ms {
			if mb.Customer == "" {
				continue
			}
			pts, err := customerEvents(tx, mb.Customer)
			if err != nil {
				return err
			}
			if len(pts) < 2 {
				continue
			}
			cps, err := CustomerPoints(pts, cfg.CustomerHalfLife)
			if err != nil || len(cps) != 1 {
				continue // unplaceable: the latest event's segment stands
			}
			if _, _, err := m.nearest(cps[0]); err != nil {
				continue
			}
			ms[i].Segment = m.Assign(cps[0]).ID
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("customer memberships: %w", err)
	}
	return ms, nil
}

// maxCustomerEvents bounds the events CustomerEvents reads for one
// customer, so that placing a customer with a long history (an account
// behind thousands of tickets) costs the same on every batch. The latest are
// kept; an event behind 256 newer ones weighs little under any useful
// half-life.
const maxCustomerEvents = 256

// CustomerEvents returns the latest (at most 256) stored events of customer
// cid with their vectors and the customer's features.
func (s *Store) CustomerEvents(cid string) ([]Point, error) {
	var pts []Point
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		pts, err = customerEvents(tx, cid)
		return err
	})
	return pts, err
}

func customerEvents(tx *bolt.Tx, cid string) ([]Point, error) {
	prefix := custPrefix(cid)
	docsB, vecsB := tx.Bucket(bucketDocs), tx.Bucket(bucketVecs)
	var cust attune.Customer
	if raw := tx.Bucket(bucketCustomers).Get([]byte(cid)); raw != nil {
		if err := json.Unmarshal(raw, &cust); err != nil {
			return nil, fmt.Errorf("decode customer %s: %w", cid, err)
		}
	}
	// The customer index holds each event's time: keep the latest
	// maxCustomerEvents before decoding any event.
	type ref struct {
		id []byte
		ts time.Time
	}
	var refs []ref
	c := tx.Bucket(bucketByCust).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var ct contribution
		if err := json.Unmarshal(v, &ct); err != nil {
			return nil, fmt.Errorf("decode features of event %s: %w", k[len(prefix):], err)
		}
		refs = append(refs, ref{id: k[len(prefix):], ts: ct.TS})
	}
	if len(refs) > maxCustomerEvents {
		slices.SortStableFunc(refs, func(a, b ref) int { return b.ts.Compare(a.ts) })
		refs = refs[:maxCustomerEvents]
	}
	pts := make([]Point, 0, len(refs))
	for _, r := range refs {
		raw := docsB.Get(r.id)
		if raw == nil {
			continue
		}
		p := Point{Customer: cust}
		if err := json.Unmarshal(raw, &p.Doc); err != nil {
			return nil, fmt.Errorf("decode event %s: %w", r.id, err)
		}
		vec, err := attune.VectorFromBytes(vecsB.Get(r.id))
		if err != nil {
			return nil, fmt.Errorf("decode vector of event %s: %w", r.id, err)
		}
		p.Vec = vec
		pts = append(pts, p)
	}
	return pts, nil
}
