package cluster

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/attune-cx/attune"
	bolt "go.etcd.io/bbolt"
)

// Buckets of the store file.
var (
	bucketDocs      = []byte("docs")        // event id → JSON attune.Doc
	bucketVecs      = []byte("vecs")        // event id → little-endian float32s
	bucketByCust    = []byte("by_customer") // uvarint(len cid) cid event id → JSON contribution
	bucketCustomers = []byte("customers")   // customer id → JSON attune.Customer
	bucketMeta      = []byte("meta")        // keyOptions, keyModel
	bucketMembers   = []byte("members")     // customer id → segment id
	bucketAlerts    = []byte("alerts")      // alert key → RFC 3339 time it was published
	keyOptions      = []byte("options")
	keyModel        = []byte("model")
	keySynced       = []byte("members_synced") // FittedAt of the model whose moves are recorded
)

// eachPage is how many events Each reads per read transaction. Reading in
// pages keeps no transaction open while the callback runs, so the callback
// may write to the store (for example to re-Put docs with new segment ids).
const eachPage = 512

// Store is a bbolt file holding every analysed event with its vector, the
// behavioral features of every customer and the current model: the source of
// truth for re-clustering and re-indexing. It is safe for concurrent use.
type Store struct {
	db   *bolt.DB
	opts storeOptions
}

// storeOptions say which event attributes feed the customer features. They
// are recorded in the file; opening it with other options recomputes every
// customer.
type storeOptions struct {
	Monetary   string   `json:"monetary,omitempty"`
	Engagement []string `json:"engagement,omitempty"`
}

// StoreOption configures OpenStore.
type StoreOption func(*storeOptions)

// WithMonetary names the numeric event attribute (Event.Number) summed into
// Customer.Monetary, such as an order value. Unset, no customer has one.
func WithMonetary(attr string) StoreOption {
	return func(o *storeOptions) { o.Monetary = attr }
}

// WithEngagement names the numeric event attributes summed into
// Customer.Engagement, such as retweets or likes. Unset, no customer has one.
func WithEngagement(attrs ...string) StoreOption {
	return func(o *storeOptions) { o.Engagement = slices.Clone(attrs) }
}

// OpenStore opens or creates the store file at path. It fails rather than
// waits when another process holds the file.
func OpenStore(path string, opts ...StoreOption) (*Store, error) {
	var o storeOptions
	for _, opt := range opts {
		opt(&o)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s := &Store{db: db, opts: o}
	want, err := json.Marshal(o)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("encode store options: %w", err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketDocs, bucketVecs, bucketByCust, bucketCustomers, bucketMeta, bucketMembers, bucketAlerts} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("create bucket %s: %w", b, err)
			}
		}
		meta := tx.Bucket(bucketMeta)
		if bytes.Equal(meta.Get(keyOptions), want) {
			return nil
		}
		if err := s.rebuildCustomers(tx); err != nil {
			return err
		}
		return meta.Put(keyOptions, want)
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return s, nil
}

// Close closes the file.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

// contribution is what one event adds to its customer's features, kept in the
// by-customer index so a customer is recomputed without decoding its docs.
type contribution struct {
	TS         time.Time `json:"ts,omitzero"`
	Rating     *float64  `json:"rating,omitempty"`
	Monetary   *float64  `json:"monetary,omitempty"`
	Engagement *float64  `json:"engagement,omitempty"`
}

func (s *Store) contributionOf(ev attune.Event) contribution {
	c := contribution{TS: ev.TS}
	if ev.Rating != nil && isFinite(*ev.Rating) {
		r := *ev.Rating
		c.Rating = &r
	}
	if s.opts.Monetary != "" {
		if v, ok := ev.Number(s.opts.Monetary); ok && isFinite(v) {
			c.Monetary = &v
		}
	}
	var eng float64
	has := false
	for _, a := range s.opts.Engagement {
		if v, ok := ev.Number(a); ok && isFinite(v) {
			eng += v
			has = true
		}
	}
	if has {
		c.Engagement = &eng
	}
	return c
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// customerOf is the customer an event counts toward: events without one form
// a customer of their own, as attune.DecodeEvent sets.
func customerOf(ev attune.Event) string {
	if ev.CustomerID != "" {
		return ev.CustomerID
	}
	return "event:" + ev.ID
}

func custPrefix(cid string) []byte {
	b := binary.AppendUvarint(nil, uint64(len(cid)))
	return append(b, cid...)
}

func custKey(cid, eventID string) []byte { return append(custPrefix(cid), eventID...) }

// Put stores docs with their vectors (vecs[i] belongs to docs[i]) in one
// transaction. It is idempotent per Event.ID: a doc already stored is
// overwritten (with a new SegmentID, say) and its customer's features are
// recomputed from the customer's stored events, so nothing is counted twice.
// It returns the current features of every customer touched; a customer left
// with no event (its only event moved to another customer) is deleted and
// absent from the map.
func (s *Store) Put(docs []attune.Doc, vecs []attune.Vector) (map[string]attune.Customer, error) {
	if len(docs) != len(vecs) {
		return nil, fmt.Errorf("put %d docs with %d vectors", len(docs), len(vecs))
	}
	for i, d := range docs {
		switch {
		case d.Event.ID == "":
			return nil, fmt.Errorf("put doc %d: event has no id", i)
		case len(vecs[i]) == 0:
			return nil, fmt.Errorf("put event %s: empty vector", d.Event.ID)
		}
	}
	touched := map[string]bool{}
	out := map[string]attune.Customer{}
	err := s.db.Update(func(tx *bolt.Tx) error {
		docsB, vecsB, idx := tx.Bucket(bucketDocs), tx.Bucket(bucketVecs), tx.Bucket(bucketByCust)
		for i, d := range docs {
			id := []byte(d.Event.ID)
			cid := customerOf(d.Event)
			if old := docsB.Get(id); old != nil {
				var prev struct{ Event attune.Event }
				if err := json.Unmarshal(old, &prev); err != nil {
					return fmt.Errorf("decode stored event %s: %w", d.Event.ID, err)
				}
				if oc := customerOf(prev.Event); oc != cid {
					if err := idx.Delete(custKey(oc, d.Event.ID)); err != nil {
						return fmt.Errorf("unlink event %s from customer %s: %w", d.Event.ID, oc, err)
					}
					touched[oc] = true
				}
			}
			raw, err := json.Marshal(d)
			if err != nil {
				return fmt.Errorf("encode event %s: %w", d.Event.ID, err)
			}
			contrib, err := json.Marshal(s.contributionOf(d.Event))
			if err != nil {
				return fmt.Errorf("encode features of event %s: %w", d.Event.ID, err)
			}
			if err := docsB.Put(id, raw); err != nil {
				return fmt.Errorf("store event %s: %w", d.Event.ID, err)
			}
			if err := vecsB.Put(id, vecs[i].Bytes()); err != nil {
				return fmt.Errorf("store vector of event %s: %w", d.Event.ID, err)
			}
			if err := idx.Put(custKey(cid, d.Event.ID), contrib); err != nil {
				return fmt.Errorf("link event %s to customer %s: %w", d.Event.ID, cid, err)
			}
			touched[cid] = true
		}
		for _, cid := range sortedKeys(touched) {
			c, ok, err := recomputeCustomer(tx, cid)
			if err != nil {
				return err
			}
			if ok {
				out[cid] = c
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("put %d events: %w", len(docs), err)
	}
	return out, nil
}

// recomputeCustomer rebuilds a customer's features from its index entries,
// stores them, and reports whether the customer still has any event.
func recomputeCustomer(tx *bolt.Tx, cid string) (attune.Customer, bool, error) {
	c := attune.Customer{ID: cid}
	prefix := custPrefix(cid)
	cur := tx.Bucket(bucketByCust).Cursor()
	for k, v := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = cur.Next() {
		var e contribution
		if err := json.Unmarshal(v, &e); err != nil {
			return c, false, fmt.Errorf("decode features of event %s: %w", k[len(prefix):], err)
		}
		c.Frequency++
		if !e.TS.IsZero() {
			if c.First.IsZero() || e.TS.Before(c.First) {
				c.First = e.TS
			}
			if e.TS.After(c.Last) {
				c.Last = e.TS
			}
		}
		if e.Rating != nil {
			c.RatingSum += *e.Rating
			c.Ratings++
		}
		if e.Monetary != nil {
			c.Monetary += *e.Monetary
			c.HasMonetary = true
		}
		if e.Engagement != nil {
			c.Engagement += *e.Engagement
			c.HasEngagement = true
		}
	}
	customers := tx.Bucket(bucketCustomers)
	if c.Frequency == 0 {
		if err := customers.Delete([]byte(cid)); err != nil {
			return c, false, fmt.Errorf("delete customer %s: %w", cid, err)
		}
		return c, false, nil
	}
	raw, err := json.Marshal(c)
	if err != nil {
		return c, false, fmt.Errorf("encode customer %s: %w", cid, err)
	}
	if err := customers.Put([]byte(cid), raw); err != nil {
		return c, false, fmt.Errorf("store customer %s: %w", cid, err)
	}
	return c, true, nil
}

// rebuildCustomers recomputes the index and every customer from the stored
// docs, for a file last opened with other attribute options.
func (s *Store) rebuildCustomers(tx *bolt.Tx) error {
	for _, name := range [][]byte{bucketByCust, bucketCustomers} {
		if err := tx.DeleteBucket(name); err != nil {
			return fmt.Errorf("reset bucket %s: %w", name, err)
		}
		if _, err := tx.CreateBucket(name); err != nil {
			return fmt.Errorf("reset bucket %s: %w", name, err)
		}
	}
	idx := tx.Bucket(bucketByCust)
	touched := map[string]bool{}
	err := tx.Bucket(bucketDocs).ForEach(func(k, v []byte) error {
		var d attune.Doc
		if err := json.Unmarshal(v, &d); err != nil {
			return fmt.Errorf("decode stored event %s: %w", k, err)
		}
		contrib, err := json.Marshal(s.contributionOf(d.Event))
		if err != nil {
			return fmt.Errorf("encode features of event %s: %w", k, err)
		}
		cid := customerOf(d.Event)
		touched[cid] = true
		return idx.Put(custKey(cid, d.Event.ID), contrib)
	})
	if err != nil {
		return fmt.Errorf("rebuild customer index: %w", err)
	}
	for cid := range touched {
		if _, _, err := recomputeCustomer(tx, cid); err != nil {
			return err
		}
	}
	return nil
}

// Customer returns the stored features of customer id.
func (s *Store) Customer(id string) (attune.Customer, bool, error) {
	var c attune.Customer
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		raw := tx.Bucket(bucketCustomers).Get([]byte(id))
		if raw == nil {
			return nil
		}
		ok = true
		return json.Unmarshal(raw, &c)
	})
	if err != nil {
		return attune.Customer{}, false, fmt.Errorf("read customer %s: %w", id, err)
	}
	return c, ok, nil
}

// Len returns the number of stored events.
func (s *Store) Len() (int, error) {
	var n int
	err := s.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketDocs).Stats().KeyN
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("count events: %w", err)
	}
	return n, nil
}

// Each calls fn for every stored event in event-id order and stops at the
// first error fn returns, which it returns unwrapped. Events are read in pages
// of short read transactions, so fn may write to the store; an event written
// meanwhile is seen only if its id sorts after the current page.
func (s *Store) Each(fn func(doc attune.Doc, vec attune.Vector) error) error {
	type item struct {
		doc attune.Doc
		vec attune.Vector
	}
	var after []byte
	for {
		page := make([]item, 0, eachPage)
		err := s.db.View(func(tx *bolt.Tx) error {
			vecs := tx.Bucket(bucketVecs)
			cur := tx.Bucket(bucketDocs).Cursor()
			k, v := cur.First()
			if after != nil {
				if k, v = cur.Seek(after); k != nil && bytes.Equal(k, after) {
					k, v = cur.Next()
				}
			}
			for ; k != nil && len(page) < eachPage; k, v = cur.Next() {
				var it item
				if err := json.Unmarshal(v, &it.doc); err != nil {
					return fmt.Errorf("decode event %s: %w", k, err)
				}
				vec, err := attune.VectorFromBytes(vecs.Get(k))
				if err != nil {
					return fmt.Errorf("decode vector of event %s: %w", k, err)
				}
				it.vec = vec
				page = append(page, it)
				after = slices.Clone(k)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("read events: %w", err)
		}
		for _, it := range page {
			if err := fn(it.doc, it.vec); err != nil {
				return err
			}
		}
		if len(page) < eachPage {
			return nil
		}
	}
}

// Points loads every stored event as a Point with its customer's features,
// in event-id order: the input of a re-clustering Fit.
func (s *Store) Points(ctx context.Context) ([]Point, error) {
	var pts []Point
	custs := map[string]attune.Customer{}
	err := s.Each(func(doc attune.Doc, vec attune.Vector) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		cid := customerOf(doc.Event)
		c, ok := custs[cid]
		if !ok {
			var err error
			if c, _, err = s.Customer(cid); err != nil {
				return err
			}
			custs[cid] = c
		}
		pts = append(pts, Point{Doc: doc, Vec: vec, Customer: c})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load points: %w", err)
	}
	return pts, nil
}

// SaveModel stores m as the current model in one transaction.
func (s *Store) SaveModel(m *Model) error {
	if m == nil {
		return errors.New("save model: model is nil")
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode model: %w", err)
	}
	err = s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyModel, raw) })
	if err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	return nil
}

// LoadModel returns the current model, or nil and no error when none has been
// saved yet.
func (s *Store) LoadModel() (*Model, error) {
	var m *Model
	err := s.db.View(func(tx *bolt.Tx) error {
		raw := tx.Bucket(bucketMeta).Get(keyModel)
		if raw == nil {
			return nil
		}
		m = new(Model)
		if err := json.Unmarshal(raw, m); err != nil {
			return fmt.Errorf("decode model: %w", err)
		}
		return m.validate()
	})
	if err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	return m, nil
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// RenameSegment renames segment id of the current model (see Model.Rename)
// and stores the model, in one transaction, so that a concurrent SaveModel
// cannot lose the name. It returns the updated model.
func (s *Store) RenameSegment(id, name string) (*Model, error) {
	var m *Model
	err := s.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		raw := meta.Get(keyModel)
		if raw == nil {
			return fmt.Errorf("no model yet: %w", ErrUnknownSegment)
		}
		m = new(Model)
		if err := json.Unmarshal(raw, m); err != nil {
			return fmt.Errorf("decode model: %w", err)
		}
		if err := m.Rename(id, name); err != nil {
			return err
		}
		out, err := json.Marshal(m)
		if err != nil {
			return fmt.Errorf("encode model: %w", err)
		}
		return meta.Put(keyModel, out)
	})
	if err != nil {
		return nil, fmt.Errorf("rename segment: %w", err)
	}
	return m, nil
}

// Transition is a customer's move from one segment to another: the
// campaign trigger feed publishes an exit from From and an enter into To.
// From is empty for a customer seen for the first time, To is empty when the
// customer left every segment (an event the model could not place).
type Transition struct {
	Customer string `json:"customer"`
	From     string `json:"from,omitempty"`
	To       string `json:"to,omitempty"`
	// EventID is the event that moved the customer, empty for moves made
	// by a re-cluster.
	EventID string `json:"event_id,omitempty"`
}

// Membership is a customer's current segment as decided by one event.
type Membership struct {
	Customer string
	Segment  string
	EventID  string
}

// MembershipOf returns the membership each doc asserts for its customer: the
// segment of the customer's latest doc (by event time, then by position), in
// the order customers first appear. Docs with no segment id are skipped.
func MembershipOf(docs []attune.Doc) []Membership {
	idx := map[string]int{}
	var ts []time.Time
	var out []Membership
	for _, d := range docs {
		if d.SegmentID == "" {
			continue
		}
		c := customerOf(d.Event)
		i, ok := idx[c]
		if !ok {
			idx[c] = len(out)
			out = append(out, Membership{Customer: c, Segment: d.SegmentID, EventID: d.Event.ID})
			ts = append(ts, d.Event.TS)
			continue
		}
		if !d.Event.TS.Before(ts[i]) {
			out[i].Segment, out[i].EventID, ts[i] = d.SegmentID, d.Event.ID, d.Event.TS
		}
	}
	return out
}

// Diff returns the transitions Move would make, without recording them.
// Publish them, then Move: a crash in between publishes them again on the
// redelivery (at least once), where Move-then-publish could lose them.
func (s *Store) Diff(ms []Membership) ([]Transition, error) {
	var out []Transition
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMembers)
		now := map[string]string{}
		for _, m := range ms {
			if m.Customer == "" {
				continue
			}
			from, ok := now[m.Customer]
			if !ok {
				from = string(b.Get([]byte(m.Customer)))
			}
			if from == m.Segment {
				continue
			}
			now[m.Customer] = m.Segment
			out = append(out, Transition{Customer: m.Customer, From: from, To: m.Segment, EventID: m.EventID})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("diff customers: %w", err)
	}
	return out, nil
}

// Move records each customer's segment and returns the transitions: one per
// customer whose segment changed, in input order. It is one transaction, so
// a crash either records all moves or none. See Diff for publishing the
// transitions at least once.
func (s *Store) Move(ms []Membership) ([]Transition, error) {
	var out []Transition
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMembers)
		for _, m := range ms {
			if m.Customer == "" {
				continue
			}
			from := string(b.Get([]byte(m.Customer)))
			if from == m.Segment {
				continue
			}
			var err error
			if m.Segment == "" {
				err = b.Delete([]byte(m.Customer))
			} else {
				err = b.Put([]byte(m.Customer), []byte(m.Segment))
			}
			if err != nil {
				return err
			}
			out = append(out, Transition{Customer: m.Customer, From: from, To: m.Segment, EventID: m.EventID})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("move customers: %w", err)
	}
	return out, nil
}

// Segment returns the segment a customer is in, or "" if none.
func (s *Store) Segment(customer string) (string, error) {
	var seg string
	err := s.db.View(func(tx *bolt.Tx) error {
		seg = string(tx.Bucket(bucketMembers).Get([]byte(customer)))
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("customer segment: %w", err)
	}
	return seg, nil
}
