package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/attune-cx/attune"
	"github.com/attune-cx/attune/cluster"
	"github.com/attune-cx/attune/embed"
	"github.com/attune-cx/attune/index"
	"github.com/attune-cx/attune/ingest"
	"github.com/attune-cx/attune/nlp"
)

// pipeline is the worker's ingest.Handler: analyse, embed, store, assign to
// a segment, index. It also owns re-clustering, which swaps the segment model
// and re-indexes every event's segment.
type pipeline struct {
	an  *nlp.Analyzer
	emb *embed.Client // guarded by mu: switchModel replaces it
	// red redacts personal data before anything else sees the text; nil
	// when redaction is off.
	red   *nlp.Redactor
	store *cluster.Store
	ix    *index.Index
	nc    *nats.Conn // segment updates are published here; may be nil
	// js carries the segment feed (membership changes, alerts); nil turns
	// the feed off, as in tools that only re-cluster.
	js    jetstream.JetStream
	ccfg  cluster.Config
	every int // re-cluster after this many new events; 0 = on demand only
	min   int // no model before this many events
	log   *slog.Logger

	// mu serialises storing+assigning a batch with swapping the model, so a
	// batch is never assigned with a model that re-indexing then ignores.
	mu    sync.Mutex
	model *cluster.Model
	since int // events stored since the last fit
	// sincePath keeps since across restarts (see saveSince); "" = not kept.
	sincePath  string
	sinceSaved time.Time // when saveSince last wrote
	// drift counts every assigned event per segment and window; rebuilt
	// from the store at start and at every re-cluster.
	drift *cluster.DriftTracker
	// resync is set when the memberships a re-cluster changed are not all
	// published yet; the next batch publishes them before its own.
	resync bool

	fitMu      sync.Mutex // one fit at a time
	reclusterC chan struct{}

	// onEmbed, if set, observes each batch's embedding time in seconds
	// (the HTTP API's metrics). Set before the worker runs.
	onEmbed func(seconds float64)

	// shared, when cluster.shared is on, shares the model and the points
	// with the other workers (shared.go); nil for a worker on its own.
	shared *sharedState
}

func newPipeline(ctx context.Context, a *app) (*pipeline, error) {
	m, err := a.store.LoadModel()
	if err != nil {
		return nil, fmt.Errorf("load segment model: %w", err)
	}
	dc := a.cfg.Cluster.Drift
	tr, err := cluster.NewDriftTracker(cluster.DriftConfig{Window: dc.Window, Trailing: dc.Trailing, Sigma: dc.Sigma, MinEvents: dc.MinEvents})
	if err != nil {
		return nil, fmt.Errorf("segment drift: %w", err)
	}
	p := &pipeline{
		an: a.nlp, emb: a.emb, red: a.redactor, store: a.store, ix: a.ix, nc: a.nc, js: a.js,
		ccfg:       a.clusterConfig(),
		every:      a.cfg.Cluster.ReclusterEvery,
		min:        a.cfg.Cluster.MinEvents,
		log:        a.log,
		model:      m,
		drift:      tr,
		reclusterC: make(chan struct{}, 1),
		sincePath:  filepath.Join(a.cfg.DataDir, "events-since-fit.json"),
	}
	p.since = loadSince(p.sincePath, m, p.log)
	p.dueRecluster()
	if p.js != nil {
		if err := ensureFeedStream(ctx, p.js, a.cfg.Cluster.Feed, a.cfg.NATS.DuplicateWindow); err != nil {
			return nil, err
		}
	}
	if m == nil {
		return p, nil
	}
	// Rebuild the drift windows, and finish publishing the moves of a
	// re-cluster the last run saved but did not get to publish.
	start := time.Now()
	synced, err := p.store.Synced(m.FittedAt)
	if err != nil {
		return nil, err
	}
	var slim []attune.Doc
	if !synced && !a.cfg.Cluster.Shared {
		// The last re-cluster saved m but may have stopped before every
		// index document was re-labelled: finish that first (with shared
		// state, startShared does, over this worker's shard only).
		if slim, err = p.reindex(ctx, m); err != nil {
			return nil, fmt.Errorf("finish the last re-cluster's re-labelling: %w", err)
		}
		if err := p.ix.ReplaceSegments(ctx, m.Segments()); err != nil {
			return nil, fmt.Errorf("index segments: %w", err)
		}
	} else {
		err = p.assignAll(ctx, m, func(d attune.Doc) error {
			p.count(d)
			if !synced {
				slim = append(slim, slimDoc(d))
			}
			return nil
		})
	}
	if err != nil {
		return nil, fmt.Errorf("rebuild segment windows: %w", err)
	}
	if !synced {
		if err := p.syncMemberships(ctx, slim, nil, m); err != nil {
			return nil, fmt.Errorf("publish the last re-cluster's moves: %w", err)
		}
	}
	p.log.Info("segment state loaded", "events", p.drift.Len(), "segments", m.K(), "republished_moves", !synced, "took", time.Since(start).Round(time.Millisecond))
	return p, nil
}

// Handle implements ingest.Handler. It returns only after the batch is in the
// segment store and persisted in the index.
func (p *pipeline) Handle(ctx context.Context, events []attune.Event) error {
	t0 := time.Now()
	docs := make([]attune.Doc, len(events))
	texts := make([]string, len(events))
	for i, ev := range events {
		if p.red != nil {
			// The original is never stored, embedded or indexed.
			ev.Text, _ = p.red.Redact(ev.Text)
		}
		docs[i] = attune.Doc{Event: ev}
		// Reject what the index can never store before spending an
		// embedding on it; the worker isolates and dead-letters it.
		if err := index.ValidateDoc(docs[i]); err != nil {
			return err
		}
		docs[i].Analysis = p.an.Analyze(ev.Text)
		texts[i] = docs[i].Analysis.Clean
	}
	t1 := time.Now()
	p.mu.Lock()
	emb := p.emb
	p.mu.Unlock()
	vecs, err := emb.Embed(ctx, texts)
	if err != nil {
		return fmt.Errorf("embed %d events: %w", len(events), err)
	}
	t2 := time.Now()
	if p.onEmbed != nil {
		p.onEmbed(t2.Sub(t1).Seconds())
	}
	if err := p.commitEmbedded(ctx, emb, texts, docs, vecs); err != nil {
		return err
	}
	p.log.Debug("batch stored", "events", len(docs), "nlp", t1.Sub(t0), "embed", t2.Sub(t1), "store+index+feed", time.Since(t2))
	return nil
}

// commit stores analysed and embedded docs, assigns them to segments,
// indexes them and publishes the membership changes and alerts they cause,
// returning only when all of that is durable. It is idempotent per event id,
// so a failed batch is simply committed again.
func (p *pipeline) commit(ctx context.Context, docs []attune.Doc, vecs []attune.Vector) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.commitLocked(ctx, docs, vecs)
}

// commitEmbedded commits docs whose texts were embedded with emb; if the model
// was switched meanwhile (switchModel), the texts are embedded again with the
// current one first, so the store never mixes spaces.
func (p *pipeline) commitEmbedded(ctx context.Context, emb *embed.Client, texts []string, docs []attune.Doc, vecs []attune.Vector) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.emb != emb {
		var err error
		if vecs, err = p.emb.Embed(ctx, texts); err != nil {
			return fmt.Errorf("embed %d events: %w", len(docs), err)
		}
	}
	return p.commitLocked(ctx, docs, vecs)
}

// commitLocked is commit with p.mu held.
func (p *pipeline) commitLocked(ctx context.Context, docs []attune.Doc, vecs []attune.Vector) error {
	customers, err := p.store.Put(docs, vecs)
	if err != nil {
		return fmt.Errorf("store %d events: %w", len(docs), err)
	}
	if p.model != nil {
		for i := range docs {
			seg := p.model.Assign(cluster.Point{Doc: docs[i], Vec: vecs[i], Customer: customers[cluster.CustomerOf(docs[i].Event)]})
			docs[i].SegmentID, docs[i].SegmentName = seg.ID, seg.Name
		}
	}
	if err := p.ix.IndexDocs(ctx, docs); err != nil {
		return fmt.Errorf("index %d events: %w", len(docs), err)
	}
	if p.shared != nil {
		// Before the ack, like the index: a failure retries the batch.
		if err := p.shared.publishPoints(ctx, docs, vecs); err != nil {
			return err
		}
	}
	// Publish before returning, so the batch is acknowledged only once its
	// moves and alerts are stored by JetStream; a failure retries the batch,
	// which stores, indexes and publishes the same again (idempotent by id).
	if p.model != nil {
		if err := p.feedBatch(ctx, docs, customers); err != nil {
			return err
		}
	}
	p.since += len(docs)
	p.saveSince()
	p.dueRecluster()
	return nil
}

// dueRecluster asks for an automatic re-cluster when enough events arrived
// since the last fit; call with mu held (or before the pipeline runs).
func (p *pipeline) dueRecluster() {
	if (p.model == nil && p.every > 0 && p.since >= p.min) || (p.every > 0 && p.since >= p.every) {
		select {
		case p.reclusterC <- struct{}{}:
		default:
		}
	}
}

// sinceFile is the events-since-fit count on disk, with the fit it counts
// from.
type sinceFile struct {
	FittedAt time.Time `json:"fitted_at"`
	Since    int       `json:"since"`
}

// saveSince records since, so that a restart does not forget the events
// that count toward the next automatic re-cluster: at most once a second
// (a crash forgets at most that second's events), without fsync (a rename of
// a small file survives a process crash, not a power cut); a failure only
// costs the count. saveSinceNow writes at once (at a fit, at shutdown).
func (p *pipeline) saveSince() {
	if time.Since(p.sinceSaved) < time.Second {
		return
	}
	p.saveSinceNow()
}

func (p *pipeline) saveSinceNow() {
	if p.sincePath == "" {
		return
	}
	p.sinceSaved = time.Now()
	var f sinceFile
	if p.model != nil {
		f.FittedAt = p.model.FittedAt
	}
	f.Since = p.since
	b, _ := json.Marshal(f)
	tmp := p.sincePath + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err == nil {
		_ = os.Rename(tmp, p.sincePath)
	}
}

// loadSince returns the count saveSince recorded for model m, 0 when it
// counted from another model or none is recorded.
func loadSince(path string, m *cluster.Model, log *slog.Logger) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	var f sinceFile
	if err := json.Unmarshal(b, &f); err != nil {
		log.Warn("ignoring an unreadable events-since-fit count", "path", path, "err", err)
		return 0
	}
	var fitted time.Time
	if m != nil {
		fitted = m.FittedAt
	}
	if !f.FittedAt.Equal(fitted) {
		return 0
	}
	return max(f.Since, 0)
}

// runAutoRecluster re-clusters whenever Handle asks for it, until ctx ends.
func (p *pipeline) runAutoRecluster(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.reclusterC:
			if p.shared != nil && !p.shared.leading() {
				continue // the leader counts every worker's events and fits
			}
			if _, err := p.Recluster(ctx); err != nil && ctx.Err() == nil {
				p.log.Error("automatic re-cluster failed", "err", err)
			}
		}
	}
}

// Recluster fits a new segment model on every stored event, re-assigns and
// re-indexes all events, replaces the segment documents and publishes the new
// segment table on attune.segments.updated. With shared state the elected
// worker fits and every worker applies the model (shared.go).
func (p *pipeline) Recluster(ctx context.Context) ([]attune.Segment, error) {
	if p.shared != nil {
		return p.shared.recluster(ctx)
	}
	p.fitMu.Lock()
	defer p.fitMu.Unlock()
	start := time.Now()
	m, err := p.fit(ctx)
	if err != nil {
		return nil, err
	}
	return p.applyModel(ctx, m, start)
}

// fit fits a new model on every stored event, from the current one.
func (p *pipeline) fit(ctx context.Context) (*cluster.Model, error) {
	pts, err := p.store.Points(ctx)
	if err != nil {
		return nil, err
	}
	if len(pts) < p.min {
		return nil, fmt.Errorf("only %d events stored; segments need at least %d (cluster.min_events)", len(pts), p.min)
	}
	p.mu.Lock()
	prev := p.model
	p.mu.Unlock()
	m, err := cluster.Fit(ctx, pts, p.ccfg, prev)
	if err != nil {
		return nil, fmt.Errorf("fit segments: %w", err)
	}
	return m, nil
}

// applyModel makes m the model: stores it, re-assigns and re-indexes every
// event, replaces the segment documents and publishes the segment table and
// the membership moves.
func (p *pipeline) applyModel(ctx context.Context, m *cluster.Model, start time.Time) ([]attune.Segment, error) {
	fitTook := time.Since(start)
	// Swap the model and re-assign under mu so that no batch is assigned with
	// the old model after this point.
	p.mu.Lock()
	defer p.mu.Unlock()
	prev := p.model
	if err := p.store.SaveModel(m); err != nil {
		return nil, fmt.Errorf("save segment model: %w", err)
	}
	p.model = m
	p.since = 0
	p.saveSinceNow()
	slim, err := p.reindex(ctx, m)
	if err != nil {
		return nil, err
	}
	segs := m.Segments()
	if err := p.ix.ReplaceSegments(ctx, segs); err != nil {
		return nil, fmt.Errorf("index segments: %w", err)
	}
	p.publishSegments(segs)
	if err := p.syncMemberships(ctx, slim, prev, m); err != nil {
		// The model stands; the next batch (or the next start) publishes
		// the moves before anything else.
		p.resync = true
		return nil, fmt.Errorf("re-clustered, but publishing membership changes failed (retried with the next batch): %w", err)
	}
	p.log.Info("re-clustered", "events", len(slim), "segments", len(segs), "fit", fitTook.Round(time.Millisecond), "total", time.Since(start).Round(time.Millisecond))
	return segs, nil
}

// assignAll assigns every stored event with m and calls fn with its doc,
// segment set, in event-id order, reading the store page by page.
func (p *pipeline) assignAll(ctx context.Context, m *cluster.Model, fn func(attune.Doc) error) error {
	custs := map[string]attune.Customer{}
	return p.store.Each(func(d attune.Doc, vec attune.Vector) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		cid := cluster.CustomerOf(d.Event)
		c, ok := custs[cid]
		if !ok {
			var err error
			if c, _, err = p.store.Customer(cid); err != nil {
				return err
			}
			custs[cid] = c
		}
		seg := m.Assign(cluster.Point{Doc: d, Vec: vec, Customer: c})
		d.SegmentID, d.SegmentName = seg.ID, seg.Name
		return fn(d)
	})
}

// reindex re-assigns every stored event with m, rewrites its index document
// in batches and recounts the drift windows. It returns every event in
// slimDoc form, for the membership feed.
func (p *pipeline) reindex(ctx context.Context, m *cluster.Model) ([]attune.Doc, error) {
	const batch = 1000
	docs := make([]attune.Doc, 0, batch)
	var slim []attune.Doc
	flush := func() error {
		if len(docs) == 0 {
			return nil
		}
		write := docs
		if p.shared != nil {
			// The store holds every worker's events; this shard indexes
			// its own.
			var err error
			if write, err = p.shared.owned(ctx, docs); err != nil {
				return err
			}
		}
		if err := p.ix.IndexDocs(ctx, write); err != nil {
			return fmt.Errorf("re-index segments: %w", err)
		}
		docs = docs[:0]
		return nil
	}
	p.drift.Reset()
	err := p.assignAll(ctx, m, func(d attune.Doc) error {
		p.count(d)
		slim = append(slim, slimDoc(d))
		docs = append(docs, d)
		if len(docs) == batch {
			return flush()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return slim, flush()
}

// slimDoc keeps what membership needs of a doc: ids, time, segment.
func slimDoc(d attune.Doc) attune.Doc {
	return attune.Doc{
		Event:     attune.Event{ID: d.Event.ID, CustomerID: cluster.CustomerOf(d.Event), TS: d.Event.TS},
		SegmentID: d.SegmentID, SegmentName: d.SegmentName,
	}
}

// count counts d in its segment's drift window, or un-counts it when it has
// no segment; it reports whether d is counted.
func (p *pipeline) count(d attune.Doc) bool {
	if d.SegmentID == "" {
		p.drift.Add(d.Event.ID, cluster.Observation{})
		return false
	}
	return p.drift.Add(d.Event.ID, cluster.Observation{Segment: d.SegmentID, TS: d.Event.TS, Sentiment: d.Analysis.Sentiment.Score})
}

func (p *pipeline) publishSegments(segs []attune.Segment) {
	if p.nc == nil {
		return
	}
	b, err := json.Marshal(segs)
	if err == nil {
		err = p.nc.Publish(ingest.SegmentsUpdated, b)
	}
	if err != nil {
		p.log.Warn("publish segment update failed", "err", err)
	}
}

// Segments returns the current segment table, from the model in memory.
func (p *pipeline) Segments() []attune.Segment {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.model == nil {
		return nil
	}
	return p.model.Segments()
}
