package embed

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/attune-cx/attune"
)

func openTestCache(t *testing.T, path string, max int) *Cache {
	t.Helper()
	c, err := OpenCache(path, max)
	if err != nil {
		t.Fatalf("OpenCache: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// sent counts the texts the fake received.
func sent(f *fakeOllama) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, b := range f.batches {
		n += len(b)
	}
	return n
}

func sameVectors(t *testing.T, got, want []attune.Vector) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d vectors, want %d", len(got), len(want))
	}
	for i := range want {
		if d := maxAbsDiff(got[i], want[i]); d != 0 {
			t.Fatalf("vector %d differs by %g", i, d)
		}
	}
}

func TestCacheReplayCostsNothing(t *testing.T) {
	texts := airlineTweets(t)[:200]
	f := newFakeOllama(t, nil)
	path := filepath.Join(t.TempDir(), "cache.db")
	cache := openTestCache(t, path, 0)
	c := newTestClient(t, f.URL, WithCache(cache))

	first, err := c.Embed(t.Context(), texts)
	if err != nil {
		t.Fatal(err)
	}
	if n := sent(f); n != len(distinctStrings(texts)) {
		t.Errorf("first pass sent %d texts, want the %d distinct ones", n, len(distinctStrings(texts)))
	}
	before := sent(f)
	// The same texts again, with white space the model cannot see.
	again := make([]string, len(texts))
	for i, s := range texts {
		again[i] = "  " + strings.ReplaceAll(s, " ", "\t ") + "\n"
	}
	replay, err := c.Embed(t.Context(), again)
	if err != nil {
		t.Fatal(err)
	}
	if n := sent(f) - before; n != 0 {
		t.Errorf("replay sent %d texts to the server, want 0", n)
	}
	sameVectors(t, replay, first)

	// A rebuilt model under the same name has a new digest: nothing of
	// the old one may be reused.
	f.digest.Store("sha256:2222")
	c2 := newTestClient(t, f.URL, WithCache(cache))
	if _, err := c2.Embed(t.Context(), texts[:10]); err != nil {
		t.Fatal(err)
	}
	if n := sent(f) - before; n != 10 {
		t.Errorf("after a model change %d texts were sent, want 10", n)
	}

	// The cache outlives the process.
	cache.Close()
	reopened := openTestCache(t, path, 0)
	f.digest.Store("sha256:1111")
	c3 := newTestClient(t, f.URL, WithCache(reopened))
	before = sent(f)
	got, err := c3.Embed(t.Context(), texts)
	if err != nil {
		t.Fatal(err)
	}
	if n := sent(f) - before; n != 0 {
		t.Errorf("reopened cache: %d texts sent, want 0", n)
	}
	sameVectors(t, got, first)
}

func distinctStrings(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

func TestCacheIsBounded(t *testing.T) {
	texts := distinctStrings(airlineTweets(t)[:300])[:40]
	f := newFakeOllama(t, nil)
	cache := openTestCache(t, filepath.Join(t.TempDir(), "cache.db"), 10)
	c := newTestClient(t, f.URL, WithCache(cache), WithBatchSize(5))
	for i := 0; i < len(texts); i += 5 {
		if _, err := c.Embed(t.Context(), texts[i:i+5]); err != nil {
			t.Fatal(err)
		}
	}
	if n := cache.Len(); n != 10 {
		t.Errorf("cache holds %d vectors, want its bound 10", n)
	}
	before := sent(f)
	if _, err := c.Embed(t.Context(), texts[30:]); err != nil { // the newest
		t.Fatal(err)
	}
	if n := sent(f) - before; n != 0 {
		t.Errorf("the 10 newest texts: %d sent, want 0", n)
	}
	if _, err := c.Embed(t.Context(), texts[:5]); err != nil { // evicted
		t.Fatal(err)
	}
	if n := sent(f) - before; n != 5 {
		t.Errorf("5 evicted texts: %d sent, want 5", n)
	}
}

func TestCacheFailuresAreNotStored(t *testing.T) {
	texts := airlineTweets(t)[:20]
	f := newFakeOllama(t, func(call int, w http.ResponseWriter, _ []string) bool {
		return call == 1 && replyError(w, http.StatusInternalServerError, "runner crashed")
	})
	cache := openTestCache(t, filepath.Join(t.TempDir(), "cache.db"), 0)
	c := newTestClient(t, f.URL, WithCache(cache), WithRetry(1, 0))
	if vecs, err := c.Embed(t.Context(), texts); err == nil || vecs != nil {
		t.Fatalf("Embed = %d vectors, %v; want an error", len(vecs), err)
	}
	if n := cache.Len(); n != 0 {
		t.Errorf("a failed batch left %d vectors in the cache", n)
	}
}

func TestNormalizeText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"  late\t\tflight \n", "late flight"},
		{"Cafe\u0301", "Café"}, // NFD to NFC
		{"LATE!", "LATE!"},     // case and punctuation stay
		{"", ""},
	}
	for _, tt := range tests {
		if got := NormalizeText(tt.in); got != tt.want {
			t.Errorf("NormalizeText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestEmbedChunksLongTexts(t *testing.T) {
	f := newFakeOllama(t, nil)
	c := newTestClient(t, f.URL, WithChunker(func(s string) []string { return strings.SplitAfter(s, "|") }))
	vecs, err := c.Embed(t.Context(), []string{"ab|cdef", "ab|"})
	if err != nil {
		t.Fatal(err)
	}
	// Each chunk once, "ab|" shared by both texts.
	if n := sent(f); n != 2 {
		t.Errorf("%d chunks sent, want 2", n)
	}
	a, b := fakeVector("ab|", fakeDim), fakeVector("cdef", fakeDim)
	sum := make([]float64, fakeDim)
	for j := range sum {
		sum[j] = 3*float64(a[j]) + 4*float64(b[j]) // weighted by length
	}
	want := normalize(sum)
	if d := maxAbsDiff(vecs[0], want); d > 1e-6 {
		t.Errorf("combined vector off by %g", d)
	}
	if d := maxAbsDiff(vecs[1], a); d != 0 {
		t.Errorf("a one-chunk text is not its chunk's vector (off by %g)", d)
	}
	if d := norm(vecs[0]); d < 0.999999 || d > 1.000001 {
		t.Errorf("combined vector has norm %g", d)
	}
}

func TestEmbedBatchesByCharacters(t *testing.T) {
	texts := make([]string, 9)
	for i := range texts {
		texts[i] = strings.Repeat(string(rune('a'+i)), 40)
	}
	texts[4] = strings.Repeat("x", 500) // longer than a batch: goes alone
	f := newFakeOllama(t, nil)
	c := newTestClient(t, f.URL, WithBatchChars(100), WithMaxInFlight(1))
	if _, err := c.Embed(t.Context(), texts); err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for _, b := range f.batches {
		sizes = append(sizes, len(b))
	}
	if want := []int{2, 2, 1, 2, 2}; !equalInts(sizes, want) {
		t.Errorf("batch sizes %v, want %v", sizes, want)
	}
}

func TestEmbedBoundsRequestsInFlight(t *testing.T) {
	for _, n := range []int{1, 3} {
		var cur, peak atomic.Int32
		f := newFakeOllama(t, func(int, http.ResponseWriter, []string) bool {
			now := cur.Add(1)
			for p := peak.Load(); now > p && !peak.CompareAndSwap(p, now); p = peak.Load() {
			}
			time.Sleep(20 * time.Millisecond)
			cur.Add(-1)
			return false
		})
		c := newTestClient(t, f.URL, WithBatchSize(2), WithMaxInFlight(n))
		texts := airlineTweets(t)[:40]
		vecs, err := c.Embed(t.Context(), texts)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range vecs {
			if d := maxAbsDiff(v, fakeVector(texts[i], fakeDim)); d != 0 {
				t.Fatalf("in flight %d: vector %d belongs to another text", n, i)
			}
		}
		if p := int(peak.Load()); p > n || (n == 1 && p != 1) {
			t.Errorf("in flight %d: peak %d requests at once", n, p)
		}
	}
}

func TestSpaceNamesTheModelVersion(t *testing.T) {
	f := newFakeOllama(t, nil)
	c := newTestClient(t, f.URL)
	sp, err := c.Space(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if want := (Space{Model: "attune-test", Digest: "sha256:1111", Dim: fakeDim}); sp != want {
		t.Errorf("Space = %+v, want %+v", sp, want)
	}
	f.digest.Store("sha256:2222") // the model was rebuilt
	if sp2, err := c.Space(t.Context()); err != nil || sp2 == sp {
		t.Errorf("after a rebuild Space = %+v, %v; want a new digest", sp2, err)
	}
}

func TestCacheConcurrentCallers(t *testing.T) {
	texts := airlineTweets(t)[:400]
	f := newFakeOllama(t, nil)
	cache := openTestCache(t, filepath.Join(t.TempDir(), "cache.db"), 150)
	c := newTestClient(t, f.URL, WithCache(cache), WithBatchSize(16))
	errs := make(chan error, 4)
	for g := range 4 {
		go func() {
			part := texts[g*50 : g*50+200] // overlapping slices
			vecs, err := c.Embed(t.Context(), part)
			if err == nil {
				for i, v := range vecs {
					if maxAbsDiff(v, fakeVector(part[i], fakeDim)) != 0 {
						err = fmt.Errorf("caller %d: vector %d belongs to another text", g, i)
						break
					}
				}
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if n := cache.Len(); n > 150 {
		t.Errorf("cache holds %d vectors, bound 150", n)
	}
}
