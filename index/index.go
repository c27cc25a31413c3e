package index

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"

	"github.com/attune-cx/attune"
)

var (
	// ErrClosed is returned by every method called after Close.
	ErrClosed = errors.New("index is closed")
	// ErrMappingVersion is returned by Open for an index that was built with
	// another MappingVersion (or by something other than this package). Such an
	// index has to be rebuilt; it is never rewritten in place.
	ErrMappingVersion = errors.New("index mapping version mismatch")
)

// lockTimeout bounds how long Open waits for another process to release the
// index.
const lockTimeout = 10 * time.Second

// mappingVersionKey is the Bleve internal key that holds MappingVersion.
var mappingVersionKey = []byte("attune.mapping_version")

// Index is Attune's search index: event and segment documents in one on-disk
// Bleve scorch index. It is safe for concurrent use.
type Index struct {
	bleve     bleve.Index
	path      string
	storePath string       // scorch's directory, the key in asyncLoggers
	logger    *slog.Logger // with stage and path
	rawLogger *slog.Logger // as given, the value in asyncLoggers

	// mu guards closed; writes hold it shared while they register in inflight,
	// Close holds it exclusively, so no write starts after Close began.
	mu     sync.RWMutex
	closed bool
	// inflight counts Bleve batches still running, including ones whose caller
	// stopped waiting because its ctx ended; Close waits for them.
	inflight sync.WaitGroup
	// segMu serialises ReplaceSegments (read the set, then write the diff)
	// and keeps Segments from paging through a set being replaced.
	segMu sync.RWMutex
	// terms caches the terms of faceted fields per segment.
	terms termCache
	// ts caches the span of event times for the time facet.
	ts tsRange
	// segNames caches segment id → name for the segment facet; nil until
	// read. ReplaceSegments replaces it.
	segNamesMu sync.Mutex
	segNames   map[string]string
	// postingsFacets counts searches whose facets countFacets counted
	// (tests check that the fast path is taken).
	postingsFacets atomic.Int64
	// timeWindowed counts time-sorted searches whose page searchByTime
	// found within a time window (for tests, likewise).
	timeWindowed atomic.Int64
	// scoredOnePass counts relevance-sorted searches searchScored
	// collected (for tests, likewise).
	scoredOnePass atomic.Int64

	// beforeBatch, if set, runs in the batch goroutine right before the Bleve
	// batch is applied. Tests use it to hold a write in flight.
	beforeBatch func()

	closeOnce sync.Once
	closeErr  error
}

// Open opens the index at path, creating it (and the directory) if path does
// not exist or is an empty directory. An existing index keeps the mapping it
// was created with, which Bleve stores in it; Open fails with
// ErrMappingVersion if that mapping is not the one this package writes. If
// another process has the index open, Open fails after 10s.
func Open(path string, opts ...Option) (*Index, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("open index %s: %w", path, err)
		}
	}

	// Route errors of Bleve's background persister and merger to this
	// index's logger; without it they are retried silently. The key is the
	// path scorch reports, built the way bleve builds it. If an index is
	// already open on path, it keeps its logger (and this Open will fail on
	// the lock).
	storePath := path + string(os.PathSeparator) + "store"
	asyncLoggers.LoadOrStore(storePath, o.logger)
	runtime := map[string]any{
		"asyncErrorCallbackName": asyncErrorCallbackName,
		// Fail instead of blocking forever when another process holds the
		// index open (bolt's file lock).
		"bolt_timeout": lockTimeout.String(),
		// Batches wait for persistence (scorch's default, forced here so a
		// config stored in the index cannot turn it off): apply relies on it.
		"unsafe_batch": false,
	}

	created := false
	bi, err := bleve.OpenUsing(path, runtime)
	if errors.Is(err, bleve.ErrorIndexPathDoesNotExist) ||
		(errors.Is(err, bleve.ErrorIndexMetaMissing) && isEmptyDir(path)) {
		m, merr := newMapping()
		if merr != nil {
			asyncLoggers.CompareAndDelete(storePath, o.logger)
			return nil, fmt.Errorf("create index %s: %w", path, merr)
		}
		// NewUsing also stores runtime in index_meta.json; OpenUsing passes
		// it again, so the stored copy never decides anything.
		bi, err = bleve.NewUsing(path, m, scorch.Name, bleve.Config.DefaultKVStore, runtime)
		created = true
	}
	if err != nil {
		asyncLoggers.CompareAndDelete(storePath, o.logger)
		return nil, fmt.Errorf("open index %s: %w", path, err)
	}

	ix := &Index{
		bleve:     bi,
		path:      path,
		storePath: storePath,
		logger:    o.logger.With("stage", "index", "path", path),
		rawLogger: o.logger,
	}
	if err := ix.checkMappingVersion(); err != nil {
		_ = ix.Close()
		return nil, fmt.Errorf("open index %s: %w", path, err)
	}
	n, err := bi.DocCount()
	if err != nil {
		_ = ix.Close()
		return nil, fmt.Errorf("open index %s: count documents: %w", path, err)
	}
	ix.logger.Info("index opened", "created", created, "documents", n)
	return ix, nil
}

// isEmptyDir reports whether path is a directory with nothing in it, such as
// one made ready for the index. A directory with files but no index metadata
// is left alone: it is not an index, or a damaged one.
func isEmptyDir(path string) bool {
	entries, err := os.ReadDir(path)
	return err == nil && len(entries) == 0
}

// checkMappingVersion compares the stored mapping version with
// MappingVersion. An index without one and without documents is a fresh
// index (possibly one whose creation was interrupted before the version was
// written): it gets the current version.
func (ix *Index) checkMappingVersion() error {
	v, err := ix.bleve.GetInternal(mappingVersionKey)
	if err != nil {
		return fmt.Errorf("read mapping version: %w", err)
	}
	if v == nil {
		n, err := ix.bleve.DocCount()
		if err != nil {
			return fmt.Errorf("count documents: %w", err)
		}
		if n > 0 {
			return fmt.Errorf("%w: index has %d documents and no mapping version, want %s; rebuild it from the segment store with `attune reindex`",
				ErrMappingVersion, n, MappingVersion)
		}
		// SetInternal is a batch, so it waits for persistence like any other.
		if err := ix.bleve.SetInternal(mappingVersionKey, []byte(MappingVersion)); err != nil {
			return fmt.Errorf("write mapping version: %w", err)
		}
		return nil
	}
	if string(v) != MappingVersion {
		return fmt.Errorf("%w: index has %s, want %s; rebuild it from the segment store with `attune reindex`",
			ErrMappingVersion, v, MappingVersion)
	}
	return nil
}

// Close waits for writes still in flight (including ones whose caller gave up
// waiting), then closes the index. Calling it again returns the first result.
func (ix *Index) Close() error {
	ix.closeOnce.Do(func() {
		ix.mu.Lock()
		ix.closed = true
		ix.mu.Unlock()
		ix.inflight.Wait()
		if err := ix.bleve.Close(); err != nil {
			ix.closeErr = fmt.Errorf("close index %s: %w", ix.path, err)
		}
		asyncLoggers.CompareAndDelete(ix.storePath, ix.rawLogger)
		ix.logger.Info("index closed")
	})
	return ix.closeErr
}

// IndexDocs writes docs as one Bleve batch and returns nil only after the batch
// is persisted to disk, so the caller may acknowledge the events as soon as it
// returns. The document id is Event.ID: writing a doc again replaces it.
//
// Every doc is checked with ValidateDoc first; if one fails, nothing is
// written and the error wraps its attune.PermanentError. An empty docs is a
// no-op. If ctx ends first, IndexDocs returns ctx.Err() at once; the batch may
// still be written afterwards, which is harmless because writes are idempotent,
// but it must not be treated as written.
func (ix *Index) IndexDocs(ctx context.Context, docs []attune.Doc) error {
	if len(docs) == 0 {
		// Nothing to make durable. Do not send an empty batch: scorch would
		// still persist a new snapshot for it.
		return nil
	}
	for _, d := range docs {
		if err := ValidateDoc(d); err != nil {
			return fmt.Errorf("index %d docs: %w", len(docs), err)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	b := ix.bleve.NewBatch()
	for _, d := range docs {
		if err := b.Index(d.Event.ID, newEventDoc(d)); err != nil {
			return fmt.Errorf("index event %s: %w", d.Event.ID, err)
		}
	}
	start := time.Now()
	if err := ix.apply(ctx, b); err != nil {
		if ctx.Err() != nil {
			return err
		}
		return fmt.Errorf("index %d docs: %w", len(docs), err)
	}
	ts := make([]time.Time, len(docs))
	for i, d := range docs {
		ts[i] = d.Event.TS
	}
	ix.noteTimes(ts)
	ix.logger.Debug("docs indexed", "docs", len(docs), "took", time.Since(start))
	return nil
}

// apply runs b and waits until scorch has persisted it or ctx ends.
//
// With an on-disk scorch index and unsafe_batch false (Bleve's default, which
// Open forces), Index.Batch itself blocks until the persister has written the
// snapshot holding the batch: the segment file is fsynced and the bolt root
// committed and synced. The persisted callback is the documented signal of the
// same event; the persister fires it right after releasing Batch, so apply
// waits for both and never reports success on one alone. Batch cannot be
// interrupted, so it runs in its own goroutine and ctx only stops the waiting;
// Close waits for the goroutine.
//
// The callback channel is buffered so the persister never blocks on a caller
// that has left. If Batch fails, the callback may never fire (or fire much
// later, when the persister retries), so apply returns Batch's error without
// waiting for it.
func (ix *Index) apply(ctx context.Context, b *bleve.Batch) error {
	persisted := make(chan error, 1)
	b.SetPersistedCallback(func(err error) { persisted <- err })

	ix.mu.RLock()
	if ix.closed {
		ix.mu.RUnlock()
		return ErrClosed
	}
	ix.inflight.Add(1)
	ix.mu.RUnlock()

	applied := make(chan error, 1)
	go func() {
		defer ix.inflight.Done()
		if ix.beforeBatch != nil {
			ix.beforeBatch()
		}
		applied <- ix.bleve.Batch(b)
	}()

	select {
	case err := <-applied:
		if err != nil {
			return fmt.Errorf("apply batch: %w", err)
		}
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-persisted:
		if err != nil {
			return fmt.Errorf("persist batch: %w", err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// readable returns ErrClosed once Close has begun. Reads do not register in
// inflight: Bleve's own lock makes Close wait for a running search, and a
// search started after it fails with bleve.ErrorIndexClosed.
func (ix *Index) readable() error {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.closed {
		return ErrClosed
	}
	return nil
}

// asyncErrorCallbackName names the callback, registered once in
// scorch.RegistryAsyncErrorCallbacks, that logs background errors of every
// open Index through that index's logger.
const asyncErrorCallbackName = "attune/index"

// asyncLoggers maps a scorch store path to the logger of the Index open on it.
var asyncLoggers sync.Map

func init() {
	// The registry is a plain map that scorch reads when an index opens; Bleve
	// asks for it to be written only during initialisation.
	scorch.RegistryAsyncErrorCallbacks[asyncErrorCallbackName] = func(err error, path string) {
		l := slog.Default()
		if v, ok := asyncLoggers.Load(path); ok {
			l = v.(*slog.Logger)
		}
		l.Error("index background error", "stage", "index", "path", path, "err", err)
	}
}
