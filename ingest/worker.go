package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/attune-cx/attune"
)

// Handler stores a batch of valid events. It must return nil only once every
// event is durably stored (indexed), because the worker acknowledges them
// right after. An error wrapping *attune.PermanentError means some event in
// the batch can never succeed; any other error is retryable and the whole
// batch is redelivered later.
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
	// RetryBase and RetryMax bound the delay before a batch that failed with a
	// retryable error is redelivered (doubling per delivery), default 1s / 1m.
	RetryBase, RetryMax time.Duration
	Logger              *slog.Logger
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
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Stats counts what a worker did since it started. Safe for concurrent reads.
type Stats struct {
	Received     atomic.Int64 // messages fetched, redeliveries included
	Indexed      atomic.Int64 // events acknowledged after the handler stored them
	DeadLettered atomic.Int64 // events sent to the dead-letter subject
	Retried      atomic.Int64 // events negatively acknowledged for redelivery
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
}

// NewWorker returns a worker for the consumer; call Run to start it.
func NewWorker(js jetstream.JetStream, cons jetstream.Consumer, h Handler, cfg WorkerConfig) *Worker {
	cfg.setDefaults()
	return &Worker{js: js, cons: cons, h: h, cfg: cfg, log: cfg.Logger}
}

// Stats returns the worker's live counters.
func (w *Worker) Stats() *Stats { return &w.stats }

// Run fetches and handles batches until ctx is cancelled. A batch in flight
// when ctx is cancelled is finished with a fresh context bounded by drain, so
// that what is stored gets acknowledged; anything not finished is left for
// redelivery. Run returns nil on cancellation.
func (w *Worker) Run(ctx context.Context, drain time.Duration) error {
	for ctx.Err() == nil {
		batch, err := w.cons.Fetch(w.cfg.FetchBatch, jetstream.FetchMaxWait(w.cfg.FetchWait))
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			w.log.Warn("fetch failed; retrying", "err", err)
			sleep(ctx, time.Second)
			continue
		}
		var msgs []jetstream.Msg
		for m := range batch.Messages() {
			msgs = append(msgs, m)
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, jetstream.ErrNoMessages) && ctx.Err() == nil {
			w.log.Warn("fetch ended with error", "err", err)
		}
		if len(msgs) == 0 {
			continue
		}
		w.stats.Received.Add(int64(len(msgs)))
		// The batch runs to completion unless the worker is stopping, in which
		// case it gets `drain` more to finish and settle its messages.
		hctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		stop := context.AfterFunc(ctx, func() { time.AfterFunc(drain, cancel) })
		w.process(hctx, msgs)
		stop()
		cancel()
	}
	return nil
}

// process validates a fetched batch, dead-letters what is malformed, hands the
// rest to the handler and settles every message exactly once.
func (w *Worker) process(ctx context.Context, msgs []jetstream.Msg) {
	var (
		events []attune.Event
		good   []jetstream.Msg
	)
	for _, m := range msgs {
		ev, err := attune.DecodeEvent(m.Data(), w.cfg.MaxEventBytes)
		if err != nil {
			w.deadLetter(ctx, m, err)
			continue
		}
		events = append(events, ev)
		good = append(good, m)
	}
	if len(events) == 0 {
		return
	}
	err := w.h.Handle(ctx, dedupe(events))
	switch {
	case err == nil:
		w.ackAll(good)
	case isPermanent(err) && len(events) > 1:
		// Some event in the batch can never succeed: find it by handling
		// each event alone, so the others are not held hostage.
		for i := range events {
			w.process1(ctx, good[i], events[i])
		}
	case isPermanent(err):
		w.deadLetter(ctx, good[0], err)
	default:
		w.log.Warn("handle batch failed; redelivering", "events", len(events), "err", err)
		w.retryAll(good)
	}
}

func (w *Worker) process1(ctx context.Context, m jetstream.Msg, ev attune.Event) {
	err := w.h.Handle(ctx, []attune.Event{ev})
	switch {
	case err == nil:
		w.ackAll([]jetstream.Msg{m})
	case isPermanent(err):
		w.deadLetter(ctx, m, err)
	default:
		w.retryAll([]jetstream.Msg{m})
	}
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
			continue
		}
		w.stats.Indexed.Add(1)
	}
}

func (w *Worker) retryAll(msgs []jetstream.Msg) {
	for _, m := range msgs {
		delay := w.cfg.RetryBase
		if md, err := m.Metadata(); err == nil {
			for i := uint64(1); i < md.NumDelivered && delay < w.cfg.RetryMax; i++ {
				delay *= 2
			}
		}
		if err := m.NakWithDelay(min(delay, w.cfg.RetryMax)); err != nil {
			w.log.Warn("nak failed; event will be redelivered after ack wait", "subject", m.Subject(), "err", err)
		}
		w.stats.Retried.Add(1)
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
