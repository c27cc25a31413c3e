package embed

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"
	"unicode"

	"go.etcd.io/bbolt"
	textnorm "golang.org/x/text/unicode/norm"

	"github.com/attune-cx/attune"
)

// DefaultCacheEntries bounds a Cache unless told otherwise: an entry of the
// own model's 504-dimensional vectors takes about 2.1 KB with its keys
// (1.3 KB at 304), so the file stays under about 1 GB.
const DefaultCacheEntries = 500_000

var (
	bucketVectors = []byte("vectors") // key → seq (8 bytes) + float32 LE values
	bucketOrder   = []byte("order")   // seq (big-endian) → key: oldest first
)

// Cache keeps vectors on disk, keyed by a hash of the model's name, the
// model's digest and the normalized text, so that a duplicate or replayed
// text costs no embedding, and a rebuilt model (new digest) never reuses a
// vector of the old one. It holds at most a bounded number of vectors,
// evicting the least recently stored or used. It is safe for concurrent use
// and by one process at a time (bbolt locks the file).
type Cache struct {
	db  *bbolt.DB
	max int

	mu   sync.Mutex // serialises eviction bookkeeping
	size int        // entries, kept in memory to avoid a count per write
}

// OpenCache opens or creates the cache file at path, holding at most
// maxEntries vectors (0 means DefaultCacheEntries).
func OpenCache(path string, maxEntries int) (*Cache, error) {
	if maxEntries < 0 {
		return nil, fmt.Errorf("%w: cache size %d, want 0 or more", ErrInvalidOption, maxEntries)
	}
	if maxEntries == 0 {
		maxEntries = DefaultCacheEntries
	}
	db, err := bbolt.Open(path, 0o644, &bbolt.Options{Timeout: 5 * time.Second, NoFreelistSync: true})
	if err != nil {
		return nil, fmt.Errorf("open embedding cache %s: %w", path, err)
	}
	c := &Cache{db: db, max: maxEntries}
	err = db.Update(func(tx *bbolt.Tx) error {
		v, err := tx.CreateBucketIfNotExists(bucketVectors)
		if err != nil {
			return err
		}
		if _, err := tx.CreateBucketIfNotExists(bucketOrder); err != nil {
			return err
		}
		c.size = v.Stats().KeyN
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open embedding cache %s: %w", path, err)
	}
	return c, nil
}

// Close closes the cache file.
func (c *Cache) Close() error { return c.db.Close() }

// Len returns the number of vectors held.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.size
}

// cacheKey identifies text's vector under one model version.
func cacheKey(modelName, digest, text string) []byte {
	h := sha256.New()
	h.Write([]byte(modelName))
	h.Write([]byte{0})
	h.Write([]byte(digest))
	h.Write([]byte{0})
	h.Write([]byte(NormalizeText(text)))
	return h.Sum(nil)
}

// NormalizeText is the form of a text the cache keys on: Unicode NFC, runs
// of white space collapsed to one space, trimmed. No embedding model sees a
// difference between texts that differ only in these ways; case and
// punctuation are kept, since a third-party model may see those.
func NormalizeText(s string) string {
	s = textnorm.NFC.String(s)
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// get returns the vectors stored under keys (nil where absent). Entries
// found in the older half of the cache are marked used again, so that a
// text that keeps coming back is not evicted.
func (c *Cache) get(keys [][]byte) ([]attune.Vector, error) {
	out := make([]attune.Vector, len(keys))
	var stale [][]byte
	err := c.db.View(func(tx *bbolt.Tx) error {
		vb := tx.Bucket(bucketVectors)
		next := tx.Bucket(bucketOrder).Sequence()
		for i, k := range keys {
			v := vb.Get(k)
			if len(v) < 8 || (len(v)-8)%4 != 0 {
				continue
			}
			if seq := binary.BigEndian.Uint64(v); next-seq > uint64(c.max/2) {
				stale = append(stale, k)
			}
			vec := make(attune.Vector, (len(v)-8)/4)
			for j := range vec {
				vec[j] = math.Float32frombits(binary.LittleEndian.Uint32(v[8+4*j:]))
			}
			out[i] = vec
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read embedding cache: %w", err)
	}
	if len(stale) > 0 {
		vecs := make([]attune.Vector, len(stale))
		for i, k := range stale {
			for j := range keys {
				if string(keys[j]) == string(k) {
					vecs[i] = out[j]
					break
				}
			}
		}
		if err := c.put(stale, vecs); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// put stores vecs under keys, replacing earlier entries, and evicts the
// oldest entries beyond the bound.
func (c *Cache) put(keys [][]byte, vecs []attune.Vector) error {
	if len(keys) != len(vecs) {
		return errors.New("embedding cache: keys and vectors differ in number")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	size := c.size // committed below only if the transaction is
	err := c.db.Update(func(tx *bbolt.Tx) error {
		vb, ob := tx.Bucket(bucketVectors), tx.Bucket(bucketOrder)
		for i, k := range keys {
			if old := vb.Get(k); len(old) >= 8 {
				if err := ob.Delete(old[:8]); err != nil {
					return err
				}
			} else {
				size++
			}
			seq, err := ob.NextSequence()
			if err != nil {
				return err
			}
			val := make([]byte, 8+4*len(vecs[i]))
			binary.BigEndian.PutUint64(val, seq)
			for j, x := range vecs[i] {
				binary.LittleEndian.PutUint32(val[8+4*j:], math.Float32bits(x))
			}
			if err := vb.Put(k, val); err != nil {
				return err
			}
			if err := ob.Put(val[:8], k); err != nil {
				return err
			}
		}
		if size <= c.max {
			return nil
		}
		cur := ob.Cursor()
		for sk, k := cur.First(); sk != nil && size > c.max; sk, k = cur.First() {
			if err := vb.Delete(k); err != nil {
				return err
			}
			if err := cur.Delete(); err != nil {
				return err
			}
			size--
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("write embedding cache: %w", err)
	}
	c.size = size
	return nil
}
