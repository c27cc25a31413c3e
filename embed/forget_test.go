package embed

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestCacheForget embeds real tweets through a chunking client with a cache,
// forgets some of them, and checks that exactly their entries (every chunk)
// are gone, that the rest still cost nothing, and that the forgotten ones
// are embedded again.
func TestCacheForget(t *testing.T) {
	texts := distinctStrings(airlineTweets(t)[:120])
	f := newFakeOllama(t, nil)
	cache := openTestCache(t, filepath.Join(t.TempDir(), "cache.db"), 0)
	// Split on sentences ending in '.', so that some texts have several
	// chunks, each cached on its own.
	chunk := func(s string) []string { return strings.SplitAfter(s, ".") }
	c := newTestClient(t, f.URL, WithCache(cache), WithChunker(chunk))
	if _, err := c.Embed(t.Context(), texts); err != nil {
		t.Fatal(err)
	}
	space, err := c.Space(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if n, err := cache.Has(space.Model, space.Digest, texts, chunk); err != nil || n != len(texts) {
		t.Fatalf("%d of %d texts cached (%v)", n, len(texts), err)
	}
	gone, kept := texts[:30], texts[30:]
	size := cache.Len()
	removed, err := c.Forget(t.Context(), gone)
	if err != nil {
		t.Fatal(err)
	}
	if removed == 0 || cache.Len() != size-removed {
		t.Errorf("removed %d entries; cache went from %d to %d", removed, size, cache.Len())
	}
	if n, _ := cache.Has(space.Model, space.Digest, gone, chunk); n != 0 {
		t.Errorf("%d forgotten texts still fully cached", n)
	}
	// A chunk shared with a forgotten text goes too; the others stay.
	goneChunks := map[string]bool{}
	for _, g := range gone {
		for _, ch := range nonBlank(chunk(g), g) {
			goneChunks[ch] = true
		}
	}
	untouched, shared := 0, map[string]bool{}
	for _, k := range kept {
		clean := true
		for _, ch := range nonBlank(chunk(k), k) {
			if goneChunks[ch] {
				clean, shared[ch] = false, true
			}
		}
		if clean {
			untouched++
		}
	}
	if n, _ := cache.Has(space.Model, space.Digest, kept, chunk); n != untouched {
		t.Errorf("%d of %d other texts cached after Forget, want the %d sharing no chunk with a forgotten one", n, len(kept), untouched)
	}
	// Forgetting again removes nothing.
	if again, err := c.Forget(t.Context(), gone); err != nil || again != 0 {
		t.Errorf("second Forget removed %d (%v)", again, err)
	}
	// Kept texts send only their shared chunks; forgotten ones are sent
	// again.
	before := sent(f)
	if _, err := c.Embed(t.Context(), kept); err != nil {
		t.Fatal(err)
	}
	if sent(f)-before != len(shared) {
		t.Errorf("kept texts sent %d inputs to the server, want the %d shared chunks", sent(f)-before, len(shared))
	}
	before = sent(f)
	if _, err := c.Embed(t.Context(), gone); err != nil {
		t.Fatal(err)
	}
	if sent(f) == before {
		t.Error("forgotten texts were served from the cache")
	}
}
