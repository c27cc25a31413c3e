package cluster

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/attune-cx/attune"
)

// Erased is what EraseCustomer removed.
type Erased struct {
	// Docs are the customer's events as they were stored; their cleaned
	// texts are what was embedded, so the caller can drop cached vectors
	// and index documents of the same events.
	Docs []attune.Doc
	// Model is the stored model with the customer's texts removed from
	// every segment's exemplars, or nil when no exemplar was theirs.
	Model *Model
}

// CustomerDocs returns the stored events of customer id, in event-id order.
// The id is the one Event.CustomerID holds ("event:<id>" for an event that
// came without one).
func (s *Store) CustomerDocs(id string) ([]attune.Doc, error) {
	var out []attune.Doc
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		out, err = customerDocs(tx, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read events of customer %s: %w", id, err)
	}
	return out, nil
}

func customerDocs(tx *bolt.Tx, id string) ([]attune.Doc, error) {
	var out []attune.Doc
	prefix := custPrefix(id)
	docs := tx.Bucket(bucketDocs)
	cur := tx.Bucket(bucketByCust).Cursor()
	for k, _ := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = cur.Next() {
		eid := k[len(prefix):]
		raw := docs.Get(eid)
		if raw == nil {
			continue // index entry without its event; nothing to show
		}
		var d attune.Doc
		if err := json.Unmarshal(raw, &d); err != nil {
			return nil, fmt.Errorf("decode stored event %s: %w", eid, err)
		}
		out = append(out, d)
	}
	return out, nil
}

// EraseCustomer removes everything the store holds about customer id, in one
// transaction: every event and its vector, the customer's features and
// segment membership, and the customer's texts among the stored model's
// segment exemplars. A customer the store does not know is not an error:
// erasure is idempotent, so a retried request succeeds with nothing erased.
//
// Segment sizes in the model still count the erased events until the next
// re-cluster; no text of the customer remains.
func (s *Store) EraseCustomer(id string) (Erased, error) {
	var out Erased
	err := s.db.Update(func(tx *bolt.Tx) error {
		docs, err := customerDocs(tx, id)
		if err != nil {
			return err
		}
		out.Docs = docs
		docsB, vecsB, idx := tx.Bucket(bucketDocs), tx.Bucket(bucketVecs), tx.Bucket(bucketByCust)
		// Collect keys first: deleting while a cursor walks a bucket skips
		// entries.
		var keys [][]byte
		prefix := custPrefix(id)
		cur := idx.Cursor()
		for k, _ := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = cur.Next() {
			keys = append(keys, slices.Clone(k))
		}
		for _, k := range keys {
			eid := k[len(prefix):]
			for _, b := range []*bolt.Bucket{docsB, vecsB} {
				if err := b.Delete(eid); err != nil {
					return fmt.Errorf("delete event %s: %w", eid, err)
				}
			}
			if err := idx.Delete(k); err != nil {
				return fmt.Errorf("unlink event %s: %w", eid, err)
			}
		}
		if err := tx.Bucket(bucketCustomers).Delete([]byte(id)); err != nil {
			return fmt.Errorf("delete customer: %w", err)
		}
		if err := tx.Bucket(bucketMembers).Delete([]byte(id)); err != nil {
			return fmt.Errorf("delete membership: %w", err)
		}

		meta := tx.Bucket(bucketMeta)
		raw := meta.Get(keyModel)
		if raw == nil || len(docs) == 0 {
			return nil
		}
		m := new(Model)
		if err := json.Unmarshal(raw, m); err != nil {
			return fmt.Errorf("decode model: %w", err)
		}
		if !m.ForgetTexts(docTexts(docs)) {
			return nil
		}
		b, err := json.Marshal(m)
		if err != nil {
			return fmt.Errorf("encode model: %w", err)
		}
		if err := meta.Put(keyModel, b); err != nil {
			return fmt.Errorf("save model: %w", err)
		}
		out.Model = m
		return nil
	})
	if err != nil {
		return Erased{}, fmt.Errorf("erase customer %s: %w", id, err)
	}
	return out, nil
}

// docTexts are the texts of docs as exemplars show them (see exemplars):
// the cleaned text, and the raw text too, which an exemplar falls back to.
func docTexts(docs []attune.Doc) []string {
	out := make([]string, 0, 2*len(docs))
	for _, d := range docs {
		out = append(out, d.Analysis.Clean, d.Event.Text)
	}
	return out
}

// ForgetTexts removes texts from every segment's exemplars and reports
// whether any was there. Exemplars are verbatim customer texts, so erasing a
// customer must remove theirs from the model too.
func (m *Model) ForgetTexts(texts []string) bool {
	drop := make(map[string]bool, len(texts))
	for _, t := range texts {
		if t != "" {
			drop[t] = true
		}
	}
	changed := false
	for i := range m.Clusters {
		ex := m.Clusters[i].Exemplars
		kept := slices.DeleteFunc(slices.Clone(ex), func(t string) bool { return drop[t] })
		if len(kept) != len(ex) {
			m.Clusters[i].Exemplars = kept
			changed = true
		}
	}
	return changed
}

// Vector returns the stored vector of event id, nil if none.
func (s *Store) Vector(id string) (attune.Vector, error) {
	var v attune.Vector
	err := s.db.View(func(tx *bolt.Tx) error {
		raw := tx.Bucket(bucketVecs).Get([]byte(id))
		if raw == nil {
			return nil
		}
		var err error
		v, err = attune.VectorFromBytes(raw)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read vector of event %s: %w", id, err)
	}
	return v, nil
}
