package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/attune-cx/attune/index"
	"github.com/attune-cx/attune/ingest"
)

//go:embed http_openapi.json
var openAPIDoc []byte

func (s *apiServer) openAPI(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, err := w.Write(openAPIDoc)
	return err
}

// healthReport is GET /healthz: 200 when every component this process uses
// answers, 503 naming the ones that do not.
type healthReport struct {
	// Status is "ok" or "degraded".
	Status     string                     `json:"status"`
	Components map[string]componentHealth `json:"components"`
}

type componentHealth struct {
	// Status is "ok", "down" or "not_used" (standalone serve has no NATS
	// or Ollama).
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

func (s *apiServer) health(w http.ResponseWriter, r *http.Request) error {
	rep := healthReport{Status: "ok", Components: map[string]componentHealth{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name, check := range s.checks {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
			defer cancel()
			c := componentHealth{Status: "ok"}
			if err := check(ctx); err != nil {
				c = componentHealth{Status: "down", Error: err.Error()}
			}
			mu.Lock()
			rep.Components[name] = c
			mu.Unlock()
		})
	}
	wg.Wait()
	for _, name := range s.notUsed {
		rep.Components[name] = componentHealth{Status: "not_used"}
	}
	status := http.StatusOK
	for _, c := range rep.Components {
		if c.Status == "down" {
			rep.Status, status = "degraded", http.StatusServiceUnavailable
		}
	}
	writeJSON(w, status, rep)
	return nil
}

// indexCheck: the index answers a count.
func indexCheck(ix *index.Index) func(context.Context) error {
	return func(ctx context.Context) error {
		_, err := ix.CountEvents(ctx)
		return err
	}
}

// natsCheck: connected, and JetStream answers for the events stream.
func natsCheck(nc *nats.Conn, js jetstream.JetStream, stream string) func(context.Context) error {
	return func(ctx context.Context) error {
		if st := nc.Status(); st != nats.CONNECTED {
			return fmt.Errorf("connection %s", st)
		}
		if _, err := js.Stream(ctx, stream); err != nil {
			return fmt.Errorf("stream %s: %w", stream, err)
		}
		return nil
	}
}

// workerCheck: the consume loop is running, not waiting out a failed
// dependency (Ollama, disk, store) with a batch in hand.
func workerCheck(w *ingest.Worker) func(context.Context) error {
	return func(context.Context) error {
		st := w.State()
		switch st.Status {
		case ingest.StatusRunning, ingest.StatusStarting:
			return nil
		case ingest.StatusWaiting:
			return fmt.Errorf("waiting since %s after %d failures: %s", st.WaitingSince.Format(time.RFC3339), st.Failures, st.LastError)
		default:
			return fmt.Errorf("worker %s", st.Status)
		}
	}
}

// ollamaCheck: the server answers and holds the model (a listing, not an
// embedding: probes must not queue behind the worker's batches).
func ollamaCheck(a *app) func(context.Context) error {
	return func(ctx context.Context) error { return a.emb.Ping(ctx) }
}

func promHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg, ErrorHandling: promhttp.ContinueOnError})
}

// newRegistry holds the process's own Go and process metrics, and the
// index size.
func newRegistry(ix *index.Index) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "attune_index_events",
		Help: "Event documents in the index.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, err := ix.CountEvents(ctx)
		if err != nil {
			return -1
		}
		return float64(n)
	}))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "attune_index_bytes",
		Help: "Size of the index's files on disk.",
	}, func() float64 {
		n, err := ix.Size()
		if err != nil {
			return -1
		}
		return float64(n)
	}))
	return reg
}

// embedLatency is the histogram of one batch's embedding time, which the
// worker's pipeline observes.
func embedLatency() prometheus.Histogram {
	return prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "attune_embed_duration_seconds",
		Help: "Time to embed one batch of events (Ollama /api/embed, vector cache hits included).",
		// 5 ms to about 80 s.
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 15),
	})
}

// registerWorkerMetrics exposes the worker's counters and its queue lag.
func registerWorkerMetrics(reg *prometheus.Registry, w *ingest.Worker, cons jetstream.Consumer) {
	st := w.Stats()
	counter := func(name, help string, f func() float64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f))
	}
	counter("attune_events_received_total", "Event messages fetched from JetStream, redeliveries included.", func() float64 { return float64(st.Received.Load()) })
	counter("attune_events_indexed_total", "Events stored, indexed and acknowledged.", func() float64 { return float64(st.Indexed.Load()) })
	counter("attune_events_dead_lettered_total", "Events sent to the dead-letter subject.", func() float64 { return float64(st.DeadLettered.Load()) })
	counter("attune_events_retried_total", "Events negatively acknowledged for redelivery (a dependency failed).", func() float64 { return float64(st.Retried.Load()) })
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "attune_queue_lag_events",
		Help: "Events the consumer has not yet acknowledged: pending delivery plus delivered and unacknowledged (-1 when JetStream does not answer).",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, err := ingest.Pending(ctx, cons)
		if err != nil {
			return -1
		}
		return float64(n)
	}))
}

// purgeStreams returns a function that deletes a customer's raw events from
// the events stream (by event id, the Nats-Msg-Id) and their dead letters
// (by the customer_id in the payload). It reads the streams with ordered
// consumers, headers only for the events stream, so it costs one pass over
// each stream.
func purgeStreams(js jetstream.JetStream, events, dlq string) func(ctx context.Context, customer string, ids []string) (int, error) {
	return func(ctx context.Context, customer string, ids []string) (int, error) {
		n := 0
		want := map[string]bool{}
		for _, id := range ids {
			want[id] = true
		}
		if len(want) > 0 {
			k, err := purgeMatching(ctx, js, events, true, func(m jetstream.Msg) bool {
				return want[m.Headers().Get(jetstream.MsgIDHeader)]
			})
			n += k
			if err != nil {
				return n, err
			}
		}
		k, err := purgeMatching(ctx, js, dlq, false, func(m jetstream.Msg) bool {
			return dlqCustomer(m.Data()) == customer
		})
		return n + k, err
	}
}

// purgeMatching deletes every message of stream that match selects.
func purgeMatching(ctx context.Context, js jetstream.JetStream, stream string, headersOnly bool, match func(jetstream.Msg) bool) (int, error) {
	st, err := js.Stream(ctx, stream)
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", stream, err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", stream, err)
	}
	if info.State.Msgs == 0 {
		return 0, nil
	}
	last := info.State.LastSeq
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{HeadersOnly: headersOnly})
	if err != nil {
		return 0, fmt.Errorf("read stream %s: %w", stream, err)
	}
	// Ask for exactly the messages the stream holds, so the last fetch
	// does not wait out its timeout; stop at the last sequence.
	var seqs []uint64
	remaining := int(info.State.Msgs)
	for remaining > 0 {
		batch, err := cons.Fetch(min(512, remaining), jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return 0, fmt.Errorf("read stream %s: %w", stream, err)
		}
		got, done := 0, false
		for m := range batch.Messages() {
			got++
			md, err := m.Metadata()
			if err != nil {
				continue
			}
			if match(m) {
				seqs = append(seqs, md.Sequence.Stream)
			}
			if md.Sequence.Stream >= last {
				done = true
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return 0, fmt.Errorf("read stream %s: %w", stream, err)
		}
		remaining -= got
		if done || got == 0 {
			// The end, or nothing more to read (deleted meanwhile).
			if err := ctx.Err(); err != nil {
				return 0, err
			}
			break
		}
	}
	n := 0
	for _, seq := range seqs {
		if err := st.SecureDeleteMsg(ctx, seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
			return n, fmt.Errorf("delete message %d of %s: %w", seq, stream, err)
		}
		n++
	}
	return n, nil
}

// dlqCustomer is the customer id in a dead letter's payload, if it parses.
func dlqCustomer(payload []byte) string {
	var ev struct {
		CustomerID string `json:"customer_id"`
	}
	if json.Unmarshal(payload, &ev) != nil {
		return ""
	}
	return ev.CustomerID
}
