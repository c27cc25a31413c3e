package cluster

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/attune-cx/attune"
	bolt "go.etcd.io/bbolt"
)

// Point returns the stored event id as a Point with its customer's features,
// and false when no such event is stored.
func (s *Store) Point(id string) (Point, bool, error) {
	var p Point
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		raw := tx.Bucket(bucketDocs).Get([]byte(id))
		if raw == nil {
			return nil
		}
		ok = true
		if err := json.Unmarshal(raw, &p.Doc); err != nil {
			return fmt.Errorf("decode event %s: %w", id, err)
		}
		vec, err := attune.VectorFromBytes(tx.Bucket(bucketVecs).Get([]byte(id)))
		if err != nil {
			return fmt.Errorf("decode vector of event %s: %w", id, err)
		}
		p.Vec = vec
		if raw := tx.Bucket(bucketCustomers).Get([]byte(customerOf(p.Doc.Event))); raw != nil {
			if err := json.Unmarshal(raw, &p.Customer); err != nil {
				return fmt.Errorf("decode customer of event %s: %w", id, err)
			}
		}
		return nil
	})
	if err != nil {
		return Point{}, false, fmt.Errorf("read event: %w", err)
	}
	return p, ok, nil
}

// CustomerOf is the customer id an event's features and membership are kept
// under: its CustomerID, or "event:<id>" for an event without one.
func CustomerOf(ev attune.Event) string { return customerOf(ev) }

// MarkSynced records that the memberships of the model fitted at fittedAt
// are published and moved (see Synced). Call it after the Move that
// follows a re-cluster.
func (s *Store) MarkSynced(fittedAt time.Time) error {
	raw, err := fittedAt.MarshalText()
	if err != nil {
		return fmt.Errorf("mark memberships synced: %w", err)
	}
	err = s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keySynced, raw) })
	if err != nil {
		return fmt.Errorf("mark memberships synced: %w", err)
	}
	return nil
}

// Synced reports whether the memberships of the model fitted at fittedAt
// were recorded by MarkSynced. A worker that stopped between saving a new
// model and publishing the moves it caused finds false here on restart and
// publishes them then.
func (s *Store) Synced(fittedAt time.Time) (bool, error) {
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		var t time.Time
		raw := tx.Bucket(bucketMeta).Get(keySynced)
		if raw == nil {
			return nil
		}
		if err := t.UnmarshalText(raw); err != nil {
			return err
		}
		ok = t.Equal(fittedAt)
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("read membership sync mark: %w", err)
	}
	return ok, nil
}

// Alerted reports which of keys were recorded by MarkAlerted.
func (s *Store) Alerted(keys []string) (map[string]bool, error) {
	out := map[string]bool{}
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAlerts)
		for _, k := range keys {
			if b.Get([]byte(k)) != nil {
				out[k] = true
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read alerts: %w", err)
	}
	return out, nil
}

// MarkAlerted records that the alerts keys were published at, so that each
// is published once, across restarts too.
func (s *Store) MarkAlerted(keys []string, at time.Time) error {
	if len(keys) == 0 {
		return nil
	}
	raw, _ := at.UTC().MarshalText()
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAlerts)
		for _, k := range keys {
			if err := b.Put([]byte(k), raw); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record alerts: %w", err)
	}
	return nil
}
