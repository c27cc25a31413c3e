package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/attune-cx/attune"
)

// Handler stores a batch of valid events. It must return nil only once every
// event is durably stored (indexed), because the worker acknowledges them
// right after. An error wrapping *attune.PermanentError means some event in
// the batch can never succeed; any other error is retryable (a dependency is
// away) and the worker retries the batch until it succeeds.
type Handler interface {
	Handle(ctx context.Context, events []attune.Event) error
}

// WorkerConfig tunes the consume loop.
type WorkerConfig struct {
	// FetchBatch is the most events fetched and handled at once, default 128.
	FetchBatch int
	// FetchWait is how long one fetch waits for events, default 1s.
	FetchWait time.Duration
	// MaxEventBytes is the largest accepted event payload, default 64 KiB.
	MaxEventBytes int
	// RetryBase and RetryMax bound the delay between attempts at a batch that
	// failed with a retryable error (doubling per attempt), default 1s / 1m.
	// The worker keeps the batch and retries it itself, marking its events in
	// progress, so a dependency outage neither redelivers nor counts towards
	// MaxDeliver, and nothing else is fetched meanwhile.
	RetryBase, RetryMax time.Duration
	// MaxDeliver is how many times an event may be delivered without being
	// settled before it is dead-lettered with reason max_deliver. Deliveries
	// only pile up when a worker dies (crash, kill, OOM) or stops while it
	// holds the event, so an event that keeps killing workers ends in the
	// dead-letter stream instead of in a crash loop. Redelivered events are
	// handled one at a time, so only the culprit gets there. Default 5; -1
	// never gives up.
	MaxDeliver int
	// Heartbeat is how often events being handled or waiting for a retry are
	// marked in progress, so AckWait never expires under a slow batch.
	// Default a third of the consumer's AckWait.
	Heartbeat time.Duration
	Logger    *slog.Logger
}

func (c *WorkerConfig) setDefaults() {
	if c.FetchBatch <= 0 {
		c.FetchBatch = 128
	}
	if c.FetchWait <= 0 {
		c.FetchWait = time.Second
	}
	if c.MaxEventBytes <= 0 {
		c.MaxEventBytes = 64 << 10
	}
	if c.RetryBase <= 0 {
		c.RetryBase = time.Second
	}
	if c.RetryMax <= 0 {
		c.RetryMax = time.Minute
	}
	if c.MaxDeliver == 0 {
		c.MaxDeliver = 5
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Stats counts what a worker did since it started. Safe for concurrent reads.
type Stats struct {
	Received     atomic.Int64 // messages fetched, redeliveries included
	Indexed      atomic.Int64 // events acknowledged after the handler stored them
	DeadLettered atomic.Int64 // events sent to the dead-letter subject
	Retried      atomic.Int64 // event handlings that failed with a retryable error and were retried
}

// Worker statuses reported by State.
const (
	StatusStarting = "starting" // Run not called yet
	StatusRunning  = "running"  // fetching and handling
	StatusWaiting  = "waiting"  // a dependency failed; the batch in hand is retried after a delay
	StatusStopped  = "stopped"  // Run returned
)

// State is a snapshot of the worker's health, for /healthz and metrics.
type State struct {
	Status        string `json:"status"`
	NATSConnected bool   `json:"nats_connected"`
	// LastError is the most recent failure (handling, fetching, settling)
	// and when it happened; it stays after recovery, for diagnosis.
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	// WaitingSince is when the batch in hand first failed; zero unless waiting.
	WaitingSince time.Time `json:"waiting_since,omitzero"`
	// Failures counts consecutive failed attempts at the batch in hand.
	Failures int `json:"failures"`
	// LastIndexedAt is when events were last acknowledged as stored.
	LastIndexedAt time.Time `json:"last_indexed_at,omitzero"`
	InFlight      int       `json:"in_flight"`
	Received      int64     `json:"received"`
	Indexed       int64     `json:"indexed"`
	DeadLettered  int64     `json:"dead_lettered"`
	Retried       int64     `json:"retried"`
}

// Worker consumes events from a JetStream pull consumer and hands them to a
// Handler in batches.
type Worker struct {
	js    jetstream.JetStream
	cons  jetstream.Consumer
	h     Handler
	cfg   WorkerConfig
	log   *slog.Logger
	stats Stats

	mu    sync.Mutex
	state State
}

// NewWorker returns a worker for the consumer; call Run to start it.
func NewWorker(js jetstream.JetStream, cons jetstream.Consumer, h Handler, cfg WorkerConfig) *Worker {
	cfg.setDefaults()
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 10 * time.Second
		if info := cons.CachedInfo(); info != nil && info.Config.AckWait > 0 {
			cfg.Heartbeat = max(info.Config.AckWait/3, 100*time.Millisecond)
		}
	}
	w := &Worker{js: js, cons: cons, h: h, cfg: cfg, log: cfg.Logger}
	w.state.Status = StatusStarting
	return w
}

// Stats returns the worker's live counters.
func (w *Worker) Stats() *Stats { return &w.stats }

// State returns a snapshot of the worker's health. Safe for concurrent use.
func (w *Worker) State() State {
	w.mu.Lock()
	s := w.state
	w.mu.Unlock()
	s.NATSConnected = w.js.Conn().IsConnected()
	s.Received = w.stats.Received.Load()
	s.Indexed = w.stats.Indexed.Load()
	s.DeadLettered = w.stats.DeadLettered.Load()
	s.Retried = w.stats.Retried.Load()
	return s
}

func (w *Worker) setState(f func(s *State)) {
	w.mu.Lock()
	f(&w.state)
	w.mu.Unlock()
}

func (w *Worker) noteError(err error) {
	w.setState(func(s *State) { s.LastError, s.LastErrorAt = truncate(err.Error(), 512), time.Now() })
}

// Run fetches and handles batches until ctx is cancelled. A batch in flight
// when ctx is cancelled is finished with a fresh context bounded by drain, so
// that what is stored gets acknowledged; anything not finished is left for
// redelivery. Run returns nil on cancellation.
func (w *Worker) Run(ctx context.Context, drain time.Duration) error {
	w.setState(func(s *State) { s.Status = StatusRunning })
	defer w.setState(func(s *State) { s.Status = StatusStopped })
	for ctx.Err() == nil {
		batch, err := w.cons.Fetch(w.cfg.FetchBatch, jetstream.FetchMaxWait(w.cfg.FetchWait))
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			w.log.Warn("fetch failed; retrying", "err", err)
			w.noteError(fmt.Errorf("fetch: %w", err))
			sleep(ctx, time.Second)
			continue
		}
		var msgs []jetstream.Msg
		for m := range batch.Messages() {
			msgs = append(msgs, m)
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, jetstream.ErrNoMessages) && ctx.Err() == nil {
			w.log.Warn("fetch ended with error", "err", err)
			w.noteError(fmt.Errorf("fetch: %w", err))
		}
		if len(msgs) == 0 {
			continue
		}
		w.stats.Received.Add(int64(len(msgs)))
		w.setState(func(s *State) { s.InFlight = len(msgs) })
		// The batch runs to completion unless the worker is stopping, in which
		// case it gets `drain` more to finish and settle its messages.
		hctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		stop := context.AfterFunc(ctx, func() { time.AfterFunc(drain, cancel) })
		// Everything fetched stays marked in progress until settled, also
		// events queued behind others or waiting for a retry.
		w.heartbeat(hctx, msgs, func() { w.process(hctx, ctx, msgs) })
		stop()
		cancel()
		w.setState(func(s *State) { s.InFlight = 0 })
	}
	return nil
}

// process validates a fetched batch, dead-letters what is malformed or was
// delivered too often, hands the rest to the handler and settles every
// message exactly once. ctx bounds the work; stop ends retries.
func (w *Worker) process(ctx, stop context.Context, msgs []jetstream.Msg) {
	var (
		fresh, again     []jetstream.Msg
		freshEv, againEv []attune.Event
	)
	for _, m := range latestDeliveries(msgs) {
		ev, err := decode(m.Data(), w.cfg.MaxEventBytes)
		if err != nil {
			w.deadLetter(ctx, m, err)
			continue
		}
		delivered := uint64(1)
		if md, err := m.Metadata(); err == nil {
			delivered = md.NumDelivered
		}
		switch {
		case w.cfg.MaxDeliver > 0 && delivered > uint64(w.cfg.MaxDeliver):
			w.deadLetter(ctx, m, attune.Permanent(attune.ReasonMaxDeliver,
				fmt.Errorf("event %s delivered %d times without being settled (limit %d): workers stopped or crashed while holding it", ev.ID, delivered, w.cfg.MaxDeliver)))
		case delivered > 1:
			again, againEv = append(again, m), append(againEv, ev)
		default:
			fresh, freshEv = append(fresh, m), append(freshEv, ev)
		}
	}
	if len(fresh) > 0 {
		w.handle(ctx, stop, fresh, freshEv)
	}
	// An event a worker died holding is handled alone: if it is what kills
	// workers, only it reaches MaxDeliver.
	for i := range again {
		w.handle(ctx, stop, again[i:i+1], againEv[i:i+1])
	}
}

// latestDeliveries drops all but the last delivery of each stream message.
// After a crash JetStream can hand one fetch the same message twice (its
// ack wait ran out again while the fetch was being filled); settling the
// last delivery settles the message.
func latestDeliveries(msgs []jetstream.Msg) []jetstream.Msg {
	last := make(map[uint64]int, len(msgs))
	for i, m := range msgs {
		if md, err := m.Metadata(); err == nil {
			last[md.Sequence.Stream] = i
		}
	}
	out := msgs[:0:0]
	for i, m := range msgs {
		if md, err := m.Metadata(); err == nil && last[md.Sequence.Stream] != i {
			continue
		}
		out = append(out, m)
	}
	return out
}

// decode is attune.DecodeEvent that turns a panic into a dead letter.
func decode(b []byte, limit int) (ev attune.Event, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = attune.Permanent(attune.ReasonPanic, fmt.Errorf("decoding panicked: %v", r))
		}
	}()
	return attune.DecodeEvent(b, limit)
}

// handle hands events (msgs[i] carries events[i]) to the handler until they
// are stored, isolated and dead-lettered, or the worker stops.
func (w *Worker) handle(ctx, stop context.Context, msgs []jetstream.Msg, events []attune.Event) {
	for attempt := 1; ; attempt++ {
		err := w.call(ctx, dedupe(events))
		switch {
		case err == nil:
			w.ackAll(msgs)
			w.setState(func(s *State) {
				s.Status, s.WaitingSince, s.Failures, s.LastIndexedAt = StatusRunning, time.Time{}, 0, time.Now()
			})
			return
		case isPermanent(err) && len(events) > 1:
			// Some event in the batch can never succeed: find it by handling
			// each event alone, so the others are not held hostage.
			for i := range events {
				w.handle(ctx, stop, msgs[i:i+1], events[i:i+1])
			}
			return
		case isPermanent(err):
			w.deadLetter(ctx, msgs[0], err)
			return
		}
		w.stats.Retried.Add(int64(len(msgs)))
		w.noteError(err)
		delay := w.cfg.RetryBase
		for i := 1; i < attempt && delay < w.cfg.RetryMax; i++ {
			delay *= 2
		}
		delay = min(delay, w.cfg.RetryMax)
		w.setState(func(s *State) {
			if s.WaitingSince.IsZero() {
				s.WaitingSince = time.Now()
			}
			s.Status, s.Failures = StatusWaiting, s.Failures+1
		})
		w.log.Warn("handle batch failed; retrying", "events", len(events), "attempt", attempt, "in", delay, "err", err)
		sleep(stop, delay)
		if stop.Err() != nil || ctx.Err() != nil {
			// Stopping: hand the events back at once, for the next worker.
			for _, m := range msgs {
				if err := m.Nak(); err != nil {
					w.log.Warn("nak failed; event will be redelivered after ack wait", "subject", m.Subject(), "err", err)
				}
			}
			return
		}
	}
}

// call runs the handler and turns a panic
// into a permanent error, so that the event behind it is isolated and
// dead-lettered instead of taking the worker down.
func (w *Worker) call(ctx context.Context, events []attune.Event) (err error) {
	defer func() {
		if r := recover(); r != nil {
			w.log.Error("handler panicked; isolating the event", "events", len(events), "panic", r, "stack", string(debug.Stack()))
			err = attune.Permanent(attune.ReasonPanic, fmt.Errorf("handler panicked: %v", r))
		}
	}()
	return w.h.Handle(ctx, events)
}

// heartbeat runs fn while marking msgs in progress every cfg.Heartbeat, so
// JetStream does not redeliver them to another worker meanwhile.
func (w *Worker) heartbeat(ctx context.Context, msgs []jetstream.Msg, fn func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(w.cfg.Heartbeat)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				for _, m := range msgs {
					if err := m.InProgress(); err != nil {
						w.log.Debug("in-progress mark failed", "subject", m.Subject(), "err", err)
					}
				}
			}
		}
	}()
	fn()
	close(done)
	wg.Wait()
}

// dedupe keeps the last event of each id, so a batch holding a redelivered
// copy and a republished one stores it once.
func dedupe(events []attune.Event) []attune.Event {
	seen := make(map[string]int, len(events))
	out := events[:0:0]
	for _, ev := range events {
		if i, ok := seen[ev.ID]; ok {
			out[i] = ev
			continue
		}
		seen[ev.ID] = len(out)
		out = append(out, ev)
	}
	return out
}

func isPermanent(err error) bool {
	_, ok := attune.IsPermanent(err)
	return ok
}

func (w *Worker) ackAll(msgs []jetstream.Msg) {
	for _, m := range msgs {
		if err := m.Ack(); err != nil {
			// The event is stored; a lost ack only means a harmless
			// idempotent redelivery.
			w.log.Warn("ack failed", "subject", m.Subject(), "err", err)
			w.noteError(fmt.Errorf("ack: %w", err))
			continue
		}
		w.stats.Indexed.Add(1)
	}
}

// deadLetter publishes the original payload and headers to
// attune.dlq.<reason> with the reason and error added, and terminates the
// original only once the dead letter is stored. If publishing fails, the
// original is left for redelivery: nothing is lost.
func (w *Worker) deadLetter(ctx context.Context, m jetstream.Msg, cause error) {
	reason, ok := attune.IsPermanent(cause)
	if !ok {
		reason = "unknown"
	}
	dl := nats.NewMsg(DLQPrefix + reason)
	dl.Data = m.Data()
	for k, vs := range m.Headers() {
		if k == jetstream.MsgIDHeader {
			continue
		}
		for _, v := range vs {
			dl.Header.Add(k, v)
		}
	}
	dl.Header.Set(HeaderReason, reason)
	dl.Header.Set(HeaderError, truncate(cause.Error(), 1024))
	dl.Header.Set(HeaderSubject, m.Subject())
	var pubOpts []jetstream.PublishOpt
	if md, err := m.Metadata(); err == nil {
		seq := strconv.FormatUint(md.Sequence.Stream, 10)
		dl.Header.Set(HeaderSeq, seq)
		// A crash between this publish and the Term below redelivers the
		// original; the message id keeps the dead letter single.
		pubOpts = append(pubOpts, jetstream.WithMsgID(fmt.Sprintf("dlq-%s-%s", md.Stream, seq)))
	}
	if _, err := w.js.PublishMsg(ctx, dl, pubOpts...); err != nil {
		w.log.Error("dead-letter publish failed; leaving event for redelivery", "subject", m.Subject(), "reason", reason, "err", err)
		w.noteError(fmt.Errorf("dead-letter publish: %w", err))
		_ = m.NakWithDelay(w.cfg.RetryBase)
		return
	}
	if err := m.TermWithReason(reason); err != nil {
		w.log.Warn("term failed after dead-lettering", "subject", m.Subject(), "err", err)
	}
	w.stats.DeadLettered.Add(1)
	w.log.Info("event dead-lettered", "subject", m.Subject(), "reason", reason, "err", truncate(cause.Error(), 200))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary so headers stay valid UTF-8.
	for n > 0 && (s[n]&0xC0) == 0x80 {
		n--
	}
	return s[:n] + "…"
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
