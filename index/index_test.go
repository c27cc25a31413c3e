package index

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/attune-cx/attune"
)

// openTest opens an index under dir and closes it when the test ends.
func openTest(t *testing.T, dir string) *Index {
	t.Helper()
	ix, err := Open(dir)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() {
		if err := ix.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return ix
}

// indexInBatches writes docs in batches of n, as the consumer would.
func indexInBatches(t testing.TB, ix *Index, docs []attune.Doc, n int) {
	t.Helper()
	for start := 0; start < len(docs); start += n {
		if err := ix.IndexDocs(context.Background(), docs[start:min(start+n, len(docs))]); err != nil {
			t.Fatalf("IndexDocs: %v", err)
		}
	}
}

func countEvents(t testing.TB, ix *Index) uint64 {
	t.Helper()
	n, err := ix.CountEvents(context.Background())
	if err != nil {
		t.Fatalf("CountEvents: %v", err)
	}
	return n
}

func TestReopenAndIdempotentWrites(t *testing.T) {
	ctx := context.Background()
	docs := sample(t)
	want := uint64(len(latest(docs)))
	if want == uint64(len(docs)) {
		t.Fatal("sample has no repeated ids; it should exercise redelivery")
	}
	dir := filepath.Join(t.TempDir(), "idx")

	ix, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	indexInBatches(t, ix, docs, 64)
	if got := countEvents(t, ix); got != want {
		t.Errorf("CountEvents after first write = %d, want %d unique ids of %d docs", got, want, len(docs))
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}

	ix = openTest(t, dir)
	if got := countEvents(t, ix); got != want {
		t.Errorf("CountEvents after reopen = %d, want %d", got, want)
	}
	// Redelivery of everything, in other batch boundaries.
	indexInBatches(t, ix, docs, 100)
	if got := countEvents(t, ix); got != want {
		t.Errorf("CountEvents after writing the same docs again = %d, want %d", got, want)
	}

	// Has: every indexed id, plus real tweet ids that were not indexed.
	indexed := latest(docs)
	var ids []string
	for id := range indexed {
		ids = append(ids, id)
	}
	var absent []string
	for _, d := range allTweets(t) {
		if _, ok := indexed[d.Event.ID]; !ok && len(absent) < 50 {
			absent = append(absent, d.Event.ID)
		}
	}
	has, err := ix.Has(ctx, append(ids, absent...))
	if err != nil {
		t.Fatal(err)
	}
	if len(has) != len(ids)+len(absent) {
		t.Errorf("Has returned %d keys, want %d", len(has), len(ids)+len(absent))
	}
	for _, id := range ids {
		if !has[id] {
			t.Errorf("Has(%s) = false, want true", id)
		}
	}
	for _, id := range absent {
		if has[id] {
			t.Errorf("Has(%s) = true for an id never indexed", id)
		}
	}
}

// TestHasManyIDs crosses the per-search chunk size of Has.
func TestHasManyIDs(t *testing.T) {
	ix := openTest(t, t.TempDir())
	all := allTweets(t)
	// Every 5th of the first 2600 tweets: indexed ids in every chunk.
	var docs []attune.Doc
	for i := 0; i < 2600; i += 5 {
		docs = append(docs, all[i])
	}
	indexInBatches(t, ix, docs, 500)
	var ids []string
	for _, d := range all[:2600] {
		ids = append(ids, d.Event.ID)
	}
	has, err := ix.Has(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	in := latest(docs)
	for _, id := range ids {
		if _, want := in[id]; has[id] != want {
			t.Fatalf("Has(%s) = %v, want %v", id, has[id], want)
		}
	}
}

func TestIndexDocsEmpty(t *testing.T) {
	ix := openTest(t, t.TempDir())
	if err := ix.IndexDocs(context.Background(), nil); err != nil {
		t.Fatalf("IndexDocs(nil) = %v", err)
	}
	if got := countEvents(t, ix); got != 0 {
		t.Errorf("CountEvents = %d, want 0", got)
	}
}

func TestValidateDoc(t *testing.T) {
	good := allTweets(t)[0]
	for _, tc := range []struct {
		name   string
		id     string
		reason string // "" if valid
	}{
		{"tweet id", good.Event.ID, ""},
		{"empty id", "", attune.ReasonMissingField},
		{"segment prefix", SegmentIDPrefix + "late-flight", attune.ReasonMalformed},
		{"prefix inside", "x" + SegmentIDPrefix, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := good
			d.Event.ID = tc.id
			err := ValidateDoc(d)
			reason, permanent := attune.IsPermanent(err)
			switch {
			case tc.reason == "" && err != nil:
				t.Errorf("ValidateDoc = %v, want nil", err)
			case tc.reason != "" && (!permanent || reason != tc.reason):
				t.Errorf("ValidateDoc = %v, want permanent %s", err, tc.reason)
			}
		})
	}
}

// A batch with one doc that can never be indexed writes nothing, and says
// why in a permanent error.
func TestIndexDocsRejectsWholeBatch(t *testing.T) {
	ix := openTest(t, t.TempDir())
	docs := append([]attune.Doc(nil), allTweets(t)[:20]...)
	docs[7].Event.ID = SegmentIDPrefix + docs[7].Event.ID
	err := ix.IndexDocs(context.Background(), docs)
	if reason, ok := attune.IsPermanent(err); !ok || reason != attune.ReasonMalformed {
		t.Fatalf("IndexDocs = %v, want a permanent %s error", err, attune.ReasonMalformed)
	}
	if got := countEvents(t, ix); got != 0 {
		t.Errorf("CountEvents = %d after a rejected batch, want 0", got)
	}
}

func TestIndexDocsContext(t *testing.T) {
	docs := allTweets(t)[:200]
	want := uint64(len(latest(docs)))

	t.Run("cancelled before", func(t *testing.T) {
		ix := openTest(t, t.TempDir())
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := ix.IndexDocs(ctx, docs); !errors.Is(err, context.Canceled) {
			t.Fatalf("IndexDocs = %v, want context.Canceled", err)
		}
		if got := countEvents(t, ix); got != 0 {
			t.Errorf("CountEvents = %d, want 0: nothing should be written", got)
		}
	})

	// The ctx ends while Bleve is still applying the batch: IndexDocs must
	// return at once, and the write must still complete (and be idempotent)
	// rather than be torn.
	for _, tc := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want error
	}{
		{"cancelled during", func() (context.Context, context.CancelFunc) {
			return context.WithCancel(context.Background())
		}, context.Canceled},
		{"deadline during", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 50*time.Millisecond)
		}, context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ix, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := tc.ctx()
			defer cancel()
			release := make(chan struct{})
			ix.beforeBatch = func() {
				if tc.want == context.Canceled {
					cancel()
				}
				<-release // hold the batch until IndexDocs has returned
			}
			err = ix.IndexDocs(ctx, docs)
			close(release)
			if !errors.Is(err, tc.want) {
				t.Fatalf("IndexDocs = %v, want %v", err, tc.want)
			}
			// Close waits for the abandoned batch, which then is on disk.
			if err := ix.Close(); err != nil {
				t.Fatal(err)
			}
			ix = openTest(t, dir)
			if got := countEvents(t, ix); got != want {
				t.Errorf("CountEvents after reopen = %d, want %d", got, want)
			}
		})
	}
}

// TestDurableOnReturn indexes docs in a child process that exits right after
// IndexDocs returns, without closing the index, as a crash after the ack
// would. Every doc must be in the index when it is opened again.
func TestDurableOnReturn(t *testing.T) {
	const envDir = "ATTUNE_INDEX_CRASH_DIR"
	docs := sample(t)
	if dir := os.Getenv(envDir); dir != "" {
		ix, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := ix.IndexDocs(context.Background(), docs); err != nil {
			t.Fatal(err)
		}
		os.Exit(0) // no Close: whatever is not on disk now is lost
	}

	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestDurableOnReturn$")
	cmd.Env = append(os.Environ(), envDir+"="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	ix := openTest(t, dir)
	want := latest(docs)
	if got := countEvents(t, ix); got != uint64(len(want)) {
		t.Errorf("CountEvents after crash = %d, want %d", got, len(want))
	}
	var ids []string
	for id := range want {
		ids = append(ids, id)
	}
	has, err := ix.Has(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if !has[id] {
			t.Errorf("event %s acknowledged but lost", id)
		}
	}
}

func TestMappingVersionMismatch(t *testing.T) {
	dir := t.TempDir()
	ix, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	indexInBatches(t, ix, allTweets(t)[:10], 10)
	if err := ix.bleve.SetInternal(mappingVersionKey, []byte("0")); err != nil {
		t.Fatal(err)
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	if ix, err := Open(dir); !errors.Is(err, ErrMappingVersion) {
		if err == nil {
			ix.Close()
		}
		t.Fatalf("Open = %v, want ErrMappingVersion", err)
	}
}

func TestOpenOptions(t *testing.T) {
	if _, err := Open(t.TempDir(), WithLogger(nil)); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("Open(WithLogger(nil)) = %v, want ErrInvalidOption", err)
	}
	// A file where the index directory should be.
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("not an index"), 0o600); err != nil {
		t.Fatal(err)
	}
	if ix, err := Open(file); err == nil {
		ix.Close()
		t.Error("Open on a regular file succeeded")
	}
}

func TestClosed(t *testing.T) {
	ix, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ix.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	ctx := context.Background()
	if err := ix.IndexDocs(ctx, allTweets(t)[:1]); !errors.Is(err, ErrClosed) {
		t.Errorf("IndexDocs after Close = %v, want ErrClosed", err)
	}
	if _, err := ix.Search(ctx, Query{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Search after Close = %v, want ErrClosed", err)
	}
	if _, err := ix.CountEvents(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("CountEvents after Close = %v, want ErrClosed", err)
	}
	if err := ix.ReplaceSegments(ctx, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("ReplaceSegments after Close = %v, want ErrClosed", err)
	}
}

// Writers and readers at once, as the consumer and the HTTP API will be; run
// with -race.
func TestConcurrentUse(t *testing.T) {
	ix := openTest(t, t.TempDir())
	ctx := context.Background()
	docs := allTweets(t)[:600]
	const writers = 4
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	per := len(docs) / writers
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			part := docs[w*per : (w+1)*per]
			for start := 0; start < len(part); start += 30 {
				if err := ix.IndexDocs(ctx, part[start:min(start+30, len(part))]); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 20 {
			if _, err := ix.Search(ctx, Query{Text: "flight", Label: "negative"}); err != nil {
				errs <- err
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got, want := countEvents(t, ix), uint64(len(latest(docs))); got != want {
		t.Errorf("CountEvents = %d, want %d", got, want)
	}
}
