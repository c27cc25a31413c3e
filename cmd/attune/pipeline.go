package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

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
	emb *embed.Client
	// red redacts personal data before anything else sees the text; nil
	// when redaction is off.
	red   *nlp.Redactor
	store *cluster.Store
	ix    *index.Index
	nc    *nats.Conn // segment updates are published here; may be nil
	ccfg  cluster.Config
	every int // re-cluster after this many new events; 0 = on demand only
	min   int // no model before this many events
	log   *slog.Logger

	// mu serialises storing+assigning a batch with swapping the model, so a
	// batch is never assigned with a model that re-indexing then ignores.
	mu    sync.Mutex
	model *cluster.Model
	since int // events stored since the last fit

	fitMu      sync.Mutex // one fit at a time
	reclusterC chan struct{}

	// onEmbed, if set, observes each batch's embedding time in seconds
	// (the HTTP API's metrics). Set before the worker runs.
	onEmbed func(seconds float64)
}

func newPipeline(a *app) (*pipeline, error) {
	m, err := a.store.LoadModel()
	if err != nil {
		return nil, fmt.Errorf("load segment model: %w", err)
	}
	return &pipeline{
		an: a.nlp, emb: a.emb, red: a.redactor, store: a.store, ix: a.ix, nc: a.nc,
		ccfg:       a.clusterConfig(),
		every:      a.cfg.Cluster.ReclusterEvery,
		min:        a.cfg.Cluster.MinEvents,
		log:        a.log,
		model:      m,
		reclusterC: make(chan struct{}, 1),
	}, nil
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
	vecs, err := p.emb.Embed(ctx, texts)
	if err != nil {
		return fmt.Errorf("embed %d events: %w", len(events), err)
	}
	t2 := time.Now()
	if p.onEmbed != nil {
		p.onEmbed(t2.Sub(t1).Seconds())
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	customers, err := p.store.Put(docs, vecs)
	if err != nil {
		return fmt.Errorf("store %d events: %w", len(events), err)
	}
	if p.model != nil {
		for i := range docs {
			seg := p.model.Assign(cluster.Point{Doc: docs[i], Vec: vecs[i], Customer: customers[docs[i].Event.CustomerID]})
			docs[i].SegmentID, docs[i].SegmentName = seg.ID, seg.Name
		}
	}
	t3 := time.Now()
	if err := p.ix.IndexDocs(ctx, docs); err != nil {
		return fmt.Errorf("index %d events: %w", len(events), err)
	}
	p.log.Debug("batch stored", "events", len(docs), "nlp", t1.Sub(t0), "embed", t2.Sub(t1), "store", t3.Sub(t2), "index", time.Since(t3))
	p.since += len(docs)
	if (p.model == nil && p.every > 0 && p.since >= p.min) || (p.every > 0 && p.since >= p.every) {
		select {
		case p.reclusterC <- struct{}{}:
		default:
		}
	}
	return nil
}

// runAutoRecluster re-clusters whenever Handle asks for it, until ctx ends.
func (p *pipeline) runAutoRecluster(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.reclusterC:
			if _, err := p.Recluster(ctx); err != nil && ctx.Err() == nil {
				p.log.Error("automatic re-cluster failed", "err", err)
			}
		}
	}
}

// Recluster fits a new segment model on every stored event, re-assigns and
// re-indexes all events, replaces the segment documents and publishes the new
// segment table on attune.segments.updated.
func (p *pipeline) Recluster(ctx context.Context) ([]attune.Segment, error) {
	p.fitMu.Lock()
	defer p.fitMu.Unlock()
	start := time.Now()
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
	fitTook := time.Since(start)

	// Swap the model and re-assign under mu so that no batch is assigned with
	// the old model after this point.
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.store.SaveModel(m); err != nil {
		return nil, fmt.Errorf("save segment model: %w", err)
	}
	p.model = m
	p.since = 0
	n, err := p.reindex(ctx, m)
	if err != nil {
		return nil, err
	}
	segs := m.Segments()
	if err := p.ix.ReplaceSegments(ctx, segs); err != nil {
		return nil, fmt.Errorf("index segments: %w", err)
	}
	p.publishSegments(segs)
	p.log.Info("re-clustered", "events", n, "segments", len(segs), "fit", fitTook.Round(time.Millisecond), "total", time.Since(start).Round(time.Millisecond))
	return segs, nil
}

// reindex re-assigns every stored event with m and rewrites its index
// document in batches.
func (p *pipeline) reindex(ctx context.Context, m *cluster.Model) (int, error) {
	pts, err := p.store.Points(ctx)
	if err != nil {
		return 0, err
	}
	const batch = 1000
	docs := make([]attune.Doc, 0, batch)
	flush := func() error {
		if len(docs) == 0 {
			return nil
		}
		if err := p.ix.IndexDocs(ctx, docs); err != nil {
			return fmt.Errorf("re-index segments: %w", err)
		}
		docs = docs[:0]
		return nil
	}
	for _, pt := range pts {
		seg := m.Assign(pt)
		d := pt.Doc
		d.SegmentID, d.SegmentName = seg.ID, seg.Name
		docs = append(docs, d)
		if len(docs) == batch {
			if err := flush(); err != nil {
				return 0, err
			}
		}
	}
	return len(pts), flush()
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
