package main

// Shared segment state (cluster.shared): several `attune worker` processes on
// one NATS give every event the same segment id.
//
//   - Points. After a batch is stored and indexed, its worker publishes each
//     event's point (the analysed doc and its vector) on
//     attune.points.<event id> to the stream ATTUNE_POINTS, which keeps one
//     message per subject, so a retried batch replaces rather than adds.
//     Every worker replays the stream into its own segment store, so every
//     store holds every event and computes the same customer features; a
//     worker's index shard holds only the events it consumed.
//   - Model. The segment model lives in the KV bucket ATTUNE_MODEL (key
//     "model", gzip JSON, its KV revision is the model revision). Every
//     worker watches it and applies each new revision: it stores it,
//     re-assigns every event and re-indexes the events of its own shard. A
//     worker that starts catches up the points and loads the model from KV
//     before it consumes.
//   - Lease. One worker re-clusters: the holder of key "recluster" in the
//     KV bucket ATTUNE_LEASE (created if absent, renewed with a revision
//     check every third of cluster.shared_lease, the bucket's TTL). When it
//     dies the key expires and another worker takes it. `attune recluster`
//     reaching any worker is forwarded to the holder, which waits until it
//     has replayed every point, fits over all of them and publishes the
//     model with a revision check.
//   - Search. Every worker answers attune.shard.search with its own shard;
//     a search on any worker asks all live workers (the KV bucket
//     ATTUNE_WORKERS holds a heartbeat of each) and merges hits, totals and
//     facets (shardsearch.go).

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/attune-cx/attune"
	"github.com/attune-cx/attune/cluster"
	"github.com/attune-cx/attune/ingest"
)

// sharedState is one worker's part in the shared segment state.
type sharedState struct {
	a   *app
	p   *pipeline
	sh  *ingest.Shared
	nc  *nats.Conn
	js  jetstream.JetStream
	id  string // this worker, stable across restarts (data_dir/worker-id)
	ttl time.Duration
	log *slog.Logger

	lease   *ingest.Lease
	leadMu  sync.Mutex
	lead    bool
	leadSub *nats.Subscription

	// pointsSeq is the last ATTUNE_POINTS sequence replayed into the
	// store; modelRev the ATTUNE_MODEL revision applied. Both persist in
	// data_dir/shared-state.json, so a restart resumes.
	pointsSeq atomic.Uint64
	modelRev  atomic.Uint64
	erasedRev atomic.Uint64
	// erasedHere are the erasures (ids) this worker already applied on
	// request, so that their tombstone does not erase again.
	erasedMu   sync.Mutex
	erasedHere map[string]bool
	applyMu    sync.Mutex // one model applied at a time
	stateMu    sync.Mutex // writes of the state file

	httpAddr string // reported in the heartbeat; guarded by leadMu
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// sharedFile is data_dir/shared-state.json.
type sharedFile struct {
	Worker    string `json:"worker"`
	PointsSeq uint64 `json:"points_seq"`
	ModelRev  uint64 `json:"model_rev"`
	// ErasedRev is the last ATTUNE_ERASED revision applied here.
	ErasedRev uint64 `json:"erased_rev,omitempty"`
}

// workerBeat is a worker's heartbeat value in ATTUNE_WORKERS.
type workerBeat struct {
	ID        string    `json:"id"`
	PID       int       `json:"pid"`
	Leader    bool      `json:"leader"`
	ModelRev  uint64    `json:"model_rev"`
	PointsSeq uint64    `json:"points_seq"`
	HTTP      string    `json:"http,omitempty"`
	At        time.Time `json:"at"`
}

// point is one event's message on ATTUNE_POINTS.
type point struct {
	Doc attune.Doc `json:"doc"`
	Vec []byte     `json:"vec"` // little-endian float32s
}

func (a *app) sharedPath() string { return filepath.Join(a.cfg.DataDir, "shared-state.json") }

// startShared joins the shared state: it replays the points other workers
// published, applies the model in KV if it is newer than the one stored,
// and then keeps both up to date, campaigns for the re-cluster lease,
// sends heartbeats and answers shard searches until the app closes. It
// returns once the worker may consume.
func (a *app) startShared(ctx context.Context, p *pipeline) (*sharedState, error) {
	ttl := a.cfg.Cluster.SharedLease
	sh, err := ingest.EnsureShared(ctx, a.js, ttl)
	if err != nil {
		return nil, err
	}
	st, err := loadSharedFile(a.sharedPath())
	if err != nil {
		return nil, err
	}
	if st.Worker == "" {
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		host, _ := os.Hostname()
		st.Worker = strings.NewReplacer(".", "-", " ", "-").Replace(host) + "-" + hex.EncodeToString(b)
	}
	s := &sharedState{
		a: a, p: p, sh: sh, nc: a.nc, js: a.js, id: st.Worker, ttl: ttl,
		log:   a.log.With("stage", "shared", "worker", st.Worker),
		lease: ingest.NewLease(sh.Lease, ingest.LeaseKey, st.Worker),
	}
	// Shared state newer than the server's (a NATS server started afresh)
	// is forgotten: replay every point, take whatever model KV has.
	info, err := sh.Points.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("points stream info: %w", err)
	}
	if info.State.LastSeq < st.PointsSeq {
		a.log.Warn("the points stream is behind this worker's record; replaying it whole", "stream_last_seq", info.State.LastSeq, "recorded", st.PointsSeq)
		st.PointsSeq = 0
	}
	kvRev := uint64(0)
	if e, err := sh.Model.Get(ctx, ingest.ModelKey); err == nil {
		kvRev = e.Revision()
	} else if !errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, fmt.Errorf("read shared model: %w", err)
	}
	if kvRev < st.ModelRev {
		a.log.Warn("the shared model is behind this worker's record; taking the shared one", "kv_revision", kvRev, "recorded", st.ModelRev)
		st.ModelRev = 0
	}
	s.pointsSeq.Store(st.PointsSeq)
	s.modelRev.Store(st.ModelRev)
	s.erasedRev.Store(st.ErasedRev)
	s.erasedHere = map[string]bool{}
	if err := s.saveState(); err != nil {
		return nil, err
	}
	// Erasures made while this worker was stopped, before any point is
	// replayed: what the store holds of those customers predates them.
	if err := s.applyErasures(ctx); err != nil {
		return nil, err
	}
	p.shared = s
	bg, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	a.onClose(s.stop)

	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.replay(bg)
	}()
	start := time.Now()
	if err := s.waitCaughtUp(ctx, 0); err != nil {
		return nil, fmt.Errorf("replay shared points: %w", err)
	}
	e, err := sh.Model.Get(ctx, ingest.ModelKey)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
	case err != nil:
		return nil, fmt.Errorf("read shared model: %w", err)
	default:
		if _, err := s.apply(ctx, e.Revision(), e.Value(), false); err != nil {
			return nil, err
		}
	}
	// A model applied before a kill may not have re-labelled every document
	// of this shard (newPipeline leaves that to here): finish it.
	p.mu.Lock()
	cur := p.model
	p.mu.Unlock()
	if cur != nil {
		synced, err := p.store.Synced(cur.FittedAt)
		if err != nil {
			return nil, err
		}
		if !synced {
			if _, err := p.applyModel(ctx, cur, time.Now()); err != nil {
				return nil, fmt.Errorf("finish re-labelling this shard: %w", err)
			}
		}
	}
	s.log.Info("joined shared segment state", "points_seq", s.pointsSeq.Load(), "model_rev", s.modelRev.Load(), "took", time.Since(start).Round(time.Millisecond))

	srch, err := s.nc.Subscribe(ingest.ShardSearch, s.serveShardSearch)
	if err != nil {
		return nil, fmt.Errorf("serve shard search: %w", err)
	}
	a.onClose(func() { _ = srch.Unsubscribe() })
	ers, err := s.nc.Subscribe(ingest.ShardErase, s.serveShardErase)
	if err != nil {
		return nil, fmt.Errorf("serve shard erasure: %w", err)
	}
	a.onClose(func() { _ = ers.Unsubscribe() })
	s.wg.Add(4)
	go func() {
		defer s.wg.Done()
		s.watchModel(bg)
	}()
	go func() {
		defer s.wg.Done()
		s.watchErasures(bg)
	}()
	go func() {
		defer s.wg.Done()
		s.campaign(bg)
	}()
	go func() {
		defer s.wg.Done()
		s.heartbeat(bg)
	}()
	return s, nil
}

func (s *sharedState) stop() {
	s.cancel()
	s.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.lease.Release(ctx); err != nil {
		s.log.Warn("release re-cluster lease", "err", err)
	}
	_ = s.sh.Workers.Delete(ctx, s.id)
}

func loadSharedFile(path string) (sharedFile, error) {
	var st sharedFile
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err == nil {
		err = json.Unmarshal(b, &st)
	}
	if err != nil {
		return st, fmt.Errorf("read %s: %w", path, err)
	}
	return st, nil
}

// saveState writes the state file atomically (temp file, rename).
func (s *sharedState) saveState() error {
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	b, err := json.Marshal(sharedFile{Worker: s.id, PointsSeq: s.pointsSeq.Load(), ModelRev: s.modelRev.Load(), ErasedRev: s.erasedRev.Load()})
	if err != nil {
		return err
	}
	path := s.a.sharedPath()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write shared state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write shared state: %w", err)
	}
	return nil
}

func (s *sharedState) setHTTP(addr string) {
	s.leadMu.Lock()
	defer s.leadMu.Unlock()
	s.httpAddr = addr
}

func (s *sharedState) http() string {
	s.leadMu.Lock()
	defer s.leadMu.Unlock()
	return s.httpAddr
}

func (s *sharedState) leading() bool {
	s.leadMu.Lock()
	defer s.leadMu.Unlock()
	return s.lead
}

// publishPoints publishes the points of a stored batch and waits until
// JetStream stored them all.
func (s *sharedState) publishPoints(ctx context.Context, docs []attune.Doc, vecs []attune.Vector) error {
	futs := make([]jetstream.PubAckFuture, 0, len(docs))
	for i, d := range docs {
		b, err := json.Marshal(point{Doc: d, Vec: vecs[i].Bytes()})
		if err != nil {
			return fmt.Errorf("encode point %s: %w", d.Event.ID, err)
		}
		msg := nats.NewMsg(ingest.PointSubject(d.Event.ID))
		msg.Header.Set(ingest.HeaderOrigin, s.id)
		msg.Data = b
		f, err := s.js.PublishMsgAsync(msg)
		if err != nil {
			return fmt.Errorf("publish point %s: %w", d.Event.ID, err)
		}
		futs = append(futs, f)
	}
	for _, f := range futs {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("publish point: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// owned returns the docs of this worker's shard: those its index holds.
// A doc stored and not indexed (a crash between the two) is not acknowledged
// and will be indexed where it is redelivered.
func (s *sharedState) owned(ctx context.Context, docs []attune.Doc) ([]attune.Doc, error) {
	ids := make([]string, len(docs))
	for i, d := range docs {
		ids[i] = d.Event.ID
	}
	has, err := s.p.ix.Has(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("find own events: %w", err)
	}
	out := make([]attune.Doc, 0, len(docs))
	for _, d := range docs {
		if has[d.Event.ID] {
			out = append(out, d)
		}
	}
	return out, nil
}

// replay keeps the store up to date with ATTUNE_POINTS, from the last
// sequence replayed, until ctx ends.
func (s *sharedState) replay(ctx context.Context) {
	backoff := 200 * time.Millisecond
	for ctx.Err() == nil {
		err := s.replayFrom(ctx)
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("replaying shared points failed; retrying", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

func (s *sharedState) replayFrom(ctx context.Context) error {
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{ingest.PointsPrefix + ">"}}
	if seq := s.pointsSeq.Load(); seq > 0 {
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = seq + 1
	}
	cons, err := s.js.OrderedConsumer(ctx, ingest.PointsStream, cfg)
	if err != nil {
		return err
	}
	for ctx.Err() == nil {
		// The stream's last sequence before the fetch: when the fetch finds
		// nothing, every point up to it has been seen, even if the last
		// ones were purged (an erasure) and are never delivered.
		info, err := s.sh.Points.Info(ctx)
		if err != nil {
			return err
		}
		lastBefore := info.State.LastSeq
		batch, err := cons.Fetch(512, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			return err
		}
		var docs []attune.Doc
		var vecs []attune.Vector
		var last uint64
		n := 0
		for msg := range batch.Messages() {
			n++
			meta, err := msg.Metadata()
			if err != nil {
				return err
			}
			last = meta.Sequence.Stream
			if msg.Headers().Get(ingest.HeaderOrigin) == s.id {
				continue // stored when this worker committed it
			}
			var pt point
			if err := json.Unmarshal(msg.Data(), &pt); err != nil {
				s.log.Error("skipping an undecodable point", "subject", msg.Subject(), "err", err)
				continue
			}
			v, err := attune.VectorFromBytes(pt.Vec)
			if err != nil || len(v) == 0 || pt.Doc.Event.ID == "" {
				s.log.Error("skipping a point without id or vector", "subject", msg.Subject(), "err", err)
				continue
			}
			docs, vecs = append(docs, pt.Doc), append(vecs, v)
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return err
		}
		if len(docs) > 0 {
			if err := s.p.storeReplicated(docs, vecs); err != nil {
				return err
			}
			if err := s.dropDuplicates(ctx, docs); err != nil {
				return err
			}
		}
		if n == 0 {
			last = lastBefore
		}
		if last > s.pointsSeq.Load() {
			s.pointsSeq.Store(last)
			if err := s.saveState(); err != nil {
				return err
			}
		}
	}
	return ctx.Err()
}

// storeReplicated stores other workers' events: they count toward their
// customers' features, drift windows and the next fit, but are indexed by
// the worker that consumed them.
func (p *pipeline) storeReplicated(docs []attune.Doc, vecs []attune.Vector) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	customers, err := p.store.Put(docs, vecs)
	if err != nil {
		return fmt.Errorf("store %d shared points: %w", len(docs), err)
	}
	if p.model != nil {
		var current []attune.Doc
		for i := range docs {
			c := customers[cluster.CustomerOf(docs[i].Event)]
			seg := p.model.Assign(cluster.Point{Doc: docs[i], Vec: vecs[i], Customer: c})
			docs[i].SegmentID, docs[i].SegmentName = seg.ID, seg.Name
			p.count(docs[i])
			// As feedBatch: an event older than its customer's latest does
			// not say where the customer is now.
			if docs[i].Event.TS.IsZero() || !c.Last.After(docs[i].Event.TS) {
				current = append(current, docs[i])
			}
		}
		// The worker that consumed them published their moves; record them
		// here without publishing, so this worker's next moves start from
		// where the customers are.
		ms, err := p.store.CustomerMemberships(cluster.MembershipOf(current), p.model, p.ccfg)
		if err != nil {
			return fmt.Errorf("shared memberships: %w", err)
		}
		if _, err := p.store.Move(ms); err != nil {
			return fmt.Errorf("record shared memberships: %w", err)
		}
	}
	p.since += len(docs)
	p.saveSince()
	p.dueRecluster()
	return nil
}

// dropDuplicates removes from this shard the events of docs (other workers'
// points) that this shard also holds: an event redelivered after a crash to
// another worker was indexed twice. The worker whose point is the stream's
// latest for the event keeps it; it is checked under the pipeline's lock, so
// a batch of this worker committing the same event meanwhile cannot be lost.
func (s *sharedState) dropDuplicates(ctx context.Context, docs []attune.Doc) error {
	ids := make([]string, len(docs))
	for i, d := range docs {
		ids[i] = d.Event.ID
	}
	p := s.p
	p.mu.Lock()
	defer p.mu.Unlock()
	has, err := p.ix.Has(ctx, ids)
	if err != nil {
		return fmt.Errorf("find doubly indexed events: %w", err)
	}
	var drop []string
	for _, id := range ids {
		if !has[id] {
			continue
		}
		m, err := s.sh.Points.GetLastMsgForSubject(ctx, ingest.PointSubject(id))
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgNotFound) {
				continue
			}
			return fmt.Errorf("latest point of %s: %w", id, err)
		}
		if m.Header.Get(ingest.HeaderOrigin) != s.id {
			drop = append(drop, id)
		}
	}
	if len(drop) == 0 {
		return nil
	}
	n, err := p.ix.DeleteEvents(ctx, drop)
	if err != nil {
		return err
	}
	s.log.Info("dropped events another worker indexed as well", "events", n)
	return nil
}

// waitCaughtUp waits until every point in the stream now has been replayed,
// for at most limit (0: until ctx ends).
func (s *sharedState) waitCaughtUp(ctx context.Context, limit time.Duration) error {
	info, err := s.sh.Points.Info(ctx)
	if err != nil {
		return fmt.Errorf("points stream info: %w", err)
	}
	want := info.State.LastSeq
	if limit > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, limit)
		defer cancel()
	}
	for s.pointsSeq.Load() < want {
		select {
		case <-ctx.Done():
			return fmt.Errorf("replayed points up to %d of %d: %w", s.pointsSeq.Load(), want, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// watchModel applies every new model revision until ctx ends.
func (s *sharedState) watchModel(ctx context.Context) {
	s.watchKV(ctx, "shared model", func() (jetstream.KeyWatcher, error) {
		return s.sh.Model.Watch(ctx, ingest.ModelKey)
	}, func(e jetstream.KeyValueEntry) {
		if e.Operation() != jetstream.KeyValuePut {
			return
		}
		if _, err := s.apply(ctx, e.Revision(), e.Value(), true); err != nil && ctx.Err() == nil {
			s.log.Error("applying shared model failed", "revision", e.Revision(), "err", err)
		}
	})
}

// watchKV hands each update of the watcher open returns to handle until
// ctx ends, opening a new watcher a second after open fails or whenever
// the updates end.
func (s *sharedState) watchKV(ctx context.Context, what string, open func() (jetstream.KeyWatcher, error), handle func(jetstream.KeyValueEntry)) {
	for ctx.Err() == nil {
		w, err := open()
		if err != nil {
			s.log.Warn("watch "+what+" failed; retrying", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		for e := range w.Updates() {
			if e != nil {
				handle(e)
			}
		}
		_ = w.Stop()
	}
}

// apply makes the model of KV revision rev current, unless a revision as
// new is applied already. With wait it first replays the points published
// so far, so every worker assigns over the same events.
func (s *sharedState) apply(ctx context.Context, rev uint64, val []byte, wait bool) ([]attune.Segment, error) {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	if rev <= s.modelRev.Load() {
		return nil, nil
	}
	m, err := cluster.DecodeModel(val)
	if err != nil {
		return nil, fmt.Errorf("shared model revision %d: %w", rev, err)
	}
	return s.applyModel(ctx, rev, m, wait)
}

// applyModel is apply with applyMu held and the model decoded.
func (s *sharedState) applyModel(ctx context.Context, rev uint64, m *cluster.Model, wait bool) ([]attune.Segment, error) {
	if wait {
		if err := s.waitCaughtUp(ctx, 2*time.Minute); err != nil {
			s.log.Warn("applying the shared model before every point is replayed", "err", err)
		}
	}
	segs, err := s.p.applyModel(ctx, m, time.Now())
	if err != nil {
		return nil, err
	}
	s.modelRev.Store(rev)
	if err := s.saveState(); err != nil {
		return nil, err
	}
	s.log.Info("shared model applied", "revision", rev, "segments", m.K())
	return segs, nil
}

// recluster is Recluster with shared state: the lease holder fits; any other
// worker forwards the request to it.
func (s *sharedState) recluster(ctx context.Context) ([]attune.Segment, error) {
	if s.leading() {
		return s.fitAndPublish(ctx)
	}
	m, err := s.nc.RequestWithContext(ctx, ingest.LeaderRecluster, nil)
	if errors.Is(err, nats.ErrNoResponders) {
		// Nobody leads right now (the leader just died): try to.
		if ok, _ := s.lease.Acquire(ctx); ok {
			s.setLeading(true)
			return s.fitAndPublish(ctx)
		}
		return nil, errors.New("no worker holds the re-cluster lease right now; try again")
	}
	if err != nil {
		return nil, fmt.Errorf("ask the re-clustering worker: %w", err)
	}
	var rep struct {
		Error  string           `json:"error"`
		Result []attune.Segment `json:"result"`
	}
	if err := json.Unmarshal(m.Data, &rep); err != nil {
		return nil, fmt.Errorf("decode the re-clustering worker's reply: %w", err)
	}
	if rep.Error != "" {
		return nil, errors.New(rep.Error)
	}
	return rep.Result, nil
}

// fitAndPublish fits over every worker's events, publishes the model to KV
// (only over the revision this worker applied: a model published meanwhile
// is not overwritten) and applies it here; the others apply it when their
// watch sees it.
func (s *sharedState) fitAndPublish(ctx context.Context) ([]attune.Segment, error) {
	p := s.p
	p.fitMu.Lock()
	defer p.fitMu.Unlock()
	start := time.Now()
	if err := s.waitCaughtUp(ctx, 2*time.Minute); err != nil {
		s.log.Warn("fitting before every point is replayed", "err", err)
	}
	m, err := p.fit(ctx)
	if err != nil {
		return nil, err
	}
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	if !s.lease.Held() {
		return nil, errors.New("lost the re-cluster lease while fitting; the new leader re-clusters")
	}
	rev, err := s.publishModel(ctx, m)
	if err != nil {
		return nil, err
	}
	s.log.Info("published shared model", "revision", rev, "segments", m.K(), "fit", time.Since(start).Round(time.Millisecond))
	return s.applyModel(ctx, rev, m, false)
}

// publishModel puts m in KV over the revision this worker applied last.
func (s *sharedState) publishModel(ctx context.Context, m *cluster.Model) (uint64, error) {
	b, err := cluster.EncodeModel(m)
	if err != nil {
		return 0, err
	}
	var rev uint64
	if cur := s.modelRev.Load(); cur == 0 {
		rev, err = s.sh.Model.Create(ctx, ingest.ModelKey, b)
	} else {
		rev, err = s.sh.Model.Update(ctx, ingest.ModelKey, b, cur)
	}
	if err != nil {
		return 0, fmt.Errorf("publish shared model (over revision %d; another one was published meanwhile?): %w", s.modelRev.Load(), err)
	}
	return rev, nil
}

// publishLocal shares a model this worker changed in place (a rename, an
// erasure's exemplars): the others apply it, this worker already has. It is
// called with the pipeline's locks held, so it does not take applyMu (an
// apply takes applyMu, then the pipeline's lock); the revision check in KV
// refuses it if another model was published meanwhile.
func (s *sharedState) publishLocal(ctx context.Context, m *cluster.Model) error {
	rev, err := s.publishModel(ctx, m)
	if err != nil {
		return err
	}
	for cur := s.modelRev.Load(); cur < rev && !s.modelRev.CompareAndSwap(cur, rev); cur = s.modelRev.Load() {
	}
	return s.saveState()
}

func (s *sharedState) setLeading(on bool) {
	s.leadMu.Lock()
	defer s.leadMu.Unlock()
	if on == s.lead {
		return
	}
	s.lead = on
	if !on {
		if s.leadSub != nil {
			_ = s.leadSub.Unsubscribe()
			s.leadSub = nil
		}
		s.log.Warn("lost the re-cluster lease")
		return
	}
	sub, err := s.nc.Subscribe(ingest.LeaderRecluster, func(msg *nats.Msg) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		var rep struct {
			Error  string           `json:"error,omitempty"`
			Result []attune.Segment `json:"result,omitempty"`
		}
		segs, err := s.fitAndPublish(ctx)
		if err != nil {
			rep.Error = err.Error()
		}
		rep.Result = segs
		b, _ := json.Marshal(rep)
		_ = msg.Respond(b)
	})
	if err != nil {
		s.log.Error("serve forwarded re-clusters", "err", err)
	}
	s.leadSub = sub
	s.log.Info("holding the re-cluster lease")
}

// campaign takes or renews the lease every third of its TTL.
func (s *sharedState) campaign(ctx context.Context) {
	t := time.NewTicker(s.ttl / 3)
	defer t.Stop()
	for {
		actx, cancel := context.WithTimeout(ctx, s.ttl/3)
		ok, err := s.lease.Acquire(actx)
		cancel()
		if err != nil && ctx.Err() == nil {
			s.log.Warn("re-cluster lease", "err", err)
		}
		s.setLeading(ok && err == nil)
		select {
		case <-ctx.Done():
			s.setLeading(false)
			return
		case <-t.C:
		}
	}
}

// heartbeat keeps this worker's entry in ATTUNE_WORKERS fresh.
func (s *sharedState) heartbeat(ctx context.Context) {
	t := time.NewTicker(s.ttl / 3)
	defer t.Stop()
	for {
		b, _ := json.Marshal(workerBeat{
			ID: s.id, PID: os.Getpid(), Leader: s.leading(), ModelRev: s.modelRev.Load(),
			PointsSeq: s.pointsSeq.Load(), HTTP: s.http(), At: time.Now().UTC(),
		})
		pctx, cancel := context.WithTimeout(ctx, s.ttl/3)
		if _, err := s.sh.Workers.Put(pctx, s.id, b); err != nil && ctx.Err() == nil {
			s.log.Warn("worker heartbeat", "err", err)
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// liveWorkers reads every heartbeat in ATTUNE_WORKERS.
func liveWorkers(ctx context.Context, kv jetstream.KeyValue) ([]workerBeat, error) {
	lister, err := kv.ListKeys(ctx)
	if err != nil {
		return nil, err
	}
	var out []workerBeat
	for k := range lister.Keys() {
		e, err := kv.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var b workerBeat
		if err := json.Unmarshal(e.Value(), &b); err == nil {
			out = append(out, b)
		}
	}
	return out, nil
}

// tombstone is a value of ATTUNE_ERASED.
type tombstone struct {
	ID       string    `json:"id"` // this erasure, unique
	Customer string    `json:"customer"`
	At       time.Time `json:"at"`
}

// applyErasures erases here every customer erased (ATTUNE_ERASED) after the
// revision this worker applied last.
func (s *sharedState) applyErasures(ctx context.Context) error {
	lister, err := s.sh.Erased.ListKeys(ctx)
	if err != nil {
		return fmt.Errorf("list erasures: %w", err)
	}
	var keys []string
	for k := range lister.Keys() {
		keys = append(keys, k)
	}
	for _, k := range keys {
		e, err := s.sh.Erased.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read erasure: %w", err)
		}
		if err := s.applyTombstone(ctx, e); err != nil {
			return err
		}
	}
	return nil
}

// applyTombstone erases the customer of e unless this worker applied that
// erasure already (on request, or an earlier revision).
func (s *sharedState) applyTombstone(ctx context.Context, e jetstream.KeyValueEntry) error {
	if e.Operation() != jetstream.KeyValuePut || e.Revision() <= s.erasedRev.Load() {
		return nil
	}
	var ts tombstone
	if err := json.Unmarshal(e.Value(), &ts); err != nil {
		s.log.Error("skipping an unreadable erasure", "key", e.Key(), "err", err)
		return nil
	}
	s.erasedMu.Lock()
	done := s.erasedHere[ts.ID]
	s.erasedMu.Unlock()
	if !done {
		events, docs, errText := s.eraseLocal(ctx, ts.Customer)
		if errText != "" {
			return fmt.Errorf("apply the erasure of %s: %s", ts.Customer, errText)
		}
		s.log.Info("applied an erasure made while this worker was away", "customer", ts.Customer, "erased_at", ts.At, "events", events, "index_docs", docs)
	}
	for cur := s.erasedRev.Load(); cur < e.Revision() && !s.erasedRev.CompareAndSwap(cur, e.Revision()); cur = s.erasedRev.Load() {
	}
	return s.saveState()
}

// watchErasures records (and, if not done on request, applies) each new
// erasure until ctx ends.
func (s *sharedState) watchErasures(ctx context.Context) {
	s.watchKV(ctx, "erasures", func() (jetstream.KeyWatcher, error) {
		return s.sh.Erased.WatchAll(ctx, jetstream.UpdatesOnly())
	}, func(e jetstream.KeyValueEntry) {
		if err := s.applyTombstone(ctx, e); err != nil && ctx.Err() == nil {
			s.log.Error("applying an erasure failed", "err", err)
		}
	})
}
