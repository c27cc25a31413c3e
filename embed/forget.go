package embed

import (
	"context"
	"fmt"

	"go.etcd.io/bbolt"
)

// Forget removes the cached vectors of texts embedded by model (name and
// digest, as Space reports them) and returns how many entries it removed.
// chunk must be the chunker the texts were embedded with (see WithChunker):
// the cache holds one entry per chunk. Texts never cached are skipped, so
// Forget is idempotent. Erasing a customer's data calls it: a vector is
// derived from what the customer wrote. A chunk another text shares (the
// same sentence) is removed too; that text costs one embedding next time.
//
// Entries cached under an earlier digest of the model cannot be found (the
// key is a hash that includes the digest); no lookup reaches them again and
// they leave the cache by eviction.
func (c *Cache) Forget(modelName, digest string, texts []string, chunk func(string) []string) (int, error) {
	if len(texts) == 0 {
		return 0, nil
	}
	seen := map[string]bool{}
	var keys [][]byte
	for _, t := range texts {
		chunks := []string{t}
		if chunk != nil {
			chunks = nonBlank(chunk(t), t)
		}
		for _, ch := range chunks {
			if !seen[ch] {
				seen[ch] = true
				keys = append(keys, cacheKey(modelName, digest, ch))
			}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	removed := 0
	err := c.db.Update(func(tx *bbolt.Tx) error {
		vb, ob := tx.Bucket(bucketVectors), tx.Bucket(bucketOrder)
		for _, k := range keys {
			v := vb.Get(k)
			if v == nil {
				continue
			}
			if len(v) >= 8 {
				if err := ob.Delete(v[:8]); err != nil {
					return err
				}
			}
			if err := vb.Delete(k); err != nil {
				return err
			}
			removed++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("forget cached vectors: %w", err)
	}
	c.size -= removed
	return removed, nil
}

// Has reports how many of texts have a cached vector for every one of their
// chunks under modelName and digest. Tests of erasure use it.
func (c *Cache) Has(modelName, digest string, texts []string, chunk func(string) []string) (int, error) {
	n := 0
	err := c.db.View(func(tx *bbolt.Tx) error {
		vb := tx.Bucket(bucketVectors)
		for _, t := range texts {
			chunks := []string{t}
			if chunk != nil {
				chunks = nonBlank(chunk(t), t)
			}
			all := true
			for _, ch := range chunks {
				if vb.Get(cacheKey(modelName, digest, ch)) == nil {
					all = false
					break
				}
			}
			if all {
				n++
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("read embedding cache: %w", err)
	}
	return n, nil
}

// Cache returns the client's vector cache, nil without one.
func (c *Client) Cache() *Cache { return c.cache }

// Chunker returns how the client cuts a text into the inputs it embeds (and
// caches) whole.
func (c *Client) Chunker() func(string) []string { return c.chunk }

// Forget removes the cached vectors of texts under the model the client
// serves now (see Cache.Forget). Without a cache it does nothing.
func (c *Client) Forget(ctx context.Context, texts []string) (int, error) {
	if c.cache == nil || len(texts) == 0 {
		return 0, nil
	}
	digest, err := c.modelDigest(ctx)
	if err != nil {
		return 0, err
	}
	return c.cache.Forget(c.model, digest, texts, c.chunk)
}
