package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/attune-cx/attune/index"
	"github.com/attune-cx/attune/ingest"
)

func workerCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "worker",
		Short: "Consume events from NATS, analyse, embed, segment and index them",
		Long: `worker starts the embedded NATS server (unless nats.url is set), finds or starts
Ollama, checks the embedding model, and processes attune.events.> until stopped.
Other attune commands (search, segments, recluster) talk to it over NATS.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := g.load()
			if err != nil {
				return err
			}
			a := newApp(cfg, log)
			defer a.Close()
			ctx := cmd.Context()
			rw, err := a.startWorker(ctx, false)
			if err != nil {
				return err
			}
			log.Info("worker running; Ctrl-C to stop", "data_dir", cfg.DataDir)
			return rw.wait()
		},
	}
}

// runningWorker is a worker started by startWorker.
type runningWorker struct {
	w    *ingest.Worker
	p    *pipeline
	wg   sync.WaitGroup
	err  error
	done chan struct{}
	// httpAddr is where the HTTP API listens, empty when http.listen is.
	httpAddr string
}

func (r *runningWorker) wait() error {
	<-r.done
	return r.err
}

// startWorker brings up NATS, Ollama and the model, the stores, the control
// endpoints and the consume loop, which runs until ctx ends.
func (a *app) startWorker(ctx context.Context, buildModel bool) (*runningWorker, error) {
	if err := a.connectNATS(ctx, true); err != nil {
		return nil, err
	}
	cons, err := a.ensureStreams(ctx)
	if err != nil {
		return nil, err
	}
	if err := a.startEmbedding(ctx, buildModel, true); err != nil {
		return nil, err
	}
	if err := a.openStores(); err != nil {
		return nil, err
	}
	p, err := newPipeline(ctx, a)
	if err != nil {
		return nil, err
	}
	// Vectors of another model must not mix with this one's: re-embed what
	// is stored before consuming, then re-cluster in the new space.
	n, err := ensureEmbedSpace(ctx, a.cfg.DataDir, a.emb, a.store, a.log)
	if err != nil {
		return nil, fmt.Errorf("embedding space: %w", err)
	}
	if n > 0 {
		if _, err := p.Recluster(ctx); err != nil {
			a.log.Warn("re-cluster after re-embedding failed", "err", err)
		}
	}
	if a.cfg.Cluster.Shared {
		// Catch up with the other workers' events and model first.
		if _, err := a.startShared(ctx, p); err != nil {
			return nil, err
		}
	}
	w := ingest.NewWorker(a.js, cons, p, ingest.WorkerConfig{
		FetchBatch:    a.cfg.NATS.FetchBatch,
		FetchWait:     a.cfg.NATS.FetchWait,
		MaxEventBytes: a.cfg.NATS.MaxEventBytes,
		RetryBase:     a.cfg.NATS.RetryBase,
		RetryMax:      a.cfg.NATS.RetryMax,
		MaxDeliver:    a.cfg.NATS.MaxDeliver,
		Logger:        a.log,
	})
	if err := a.serveControl(p, w); err != nil {
		return nil, err
	}
	httpAddr, err := a.startWorkerAPI(p, w, cons)
	if err != nil {
		return nil, err
	}
	if p.shared != nil {
		p.shared.setHTTP(httpAddr)
	}
	rw := &runningWorker{w: w, p: p, done: make(chan struct{}), httpAddr: httpAddr}
	rw.wg.Add(3)
	go func() {
		defer rw.wg.Done()
		a.logStats(ctx, w, time.Minute)
	}()
	go func() {
		defer rw.wg.Done()
		p.runAutoRecluster(ctx)
	}()
	go func() {
		defer rw.wg.Done()
		rw.err = w.Run(ctx, a.cfg.NATS.Drain)
	}()
	go func() {
		rw.wg.Wait()
		close(rw.done)
	}()
	// Stop the loops before the stores they use are closed; then keep the
	// events-since-fit count for the next start.
	a.onClose(func() {
		<-rw.done
		p.mu.Lock()
		p.saveSinceNow()
		p.mu.Unlock()
	})
	return rw, nil
}

// stats is the reply of the stats control request.
type stats struct {
	Received     int64  `json:"received" yaml:"received"`
	Indexed      int64  `json:"indexed" yaml:"indexed"`
	DeadLettered int64  `json:"dead_lettered" yaml:"dead_lettered"`
	Retried      int64  `json:"retried" yaml:"retried"`
	IndexedDocs  uint64 `json:"indexed_docs" yaml:"indexed_docs"`
}

// logStats logs the worker's counters every interval while they change.
func (a *app) logStats(ctx context.Context, w *ingest.Worker, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	var last int64 = -1
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s := w.Stats()
		n := s.Received.Load()
		if n == last {
			continue
		}
		a.log.Info("worker progress", "received", n, "indexed", s.Indexed.Load(),
			"dead_lettered", s.DeadLettered.Load(), "retried", s.Retried.Load(),
			"per_sec", float64(n-max(last, 0))/every.Seconds())
		last = n
	}
}

func (a *app) serveControl(p *pipeline, w *ingest.Worker) error {
	handlers := map[string]func(context.Context, []byte) (any, error){
		"recluster": func(ctx context.Context, _ []byte) (any, error) {
			return p.Recluster(ctx)
		},
		"segments": func(ctx context.Context, _ []byte) (any, error) {
			return p.SegmentTable(), nil
		},
		"search": func(ctx context.Context, req []byte) (any, error) {
			var q index.Query
			if err := json.Unmarshal(req, &q); err != nil {
				return nil, fmt.Errorf("bad search request: %w", err)
			}
			return a.search(ctx, p, q)
		},
		"model": func(ctx context.Context, req []byte) (any, error) {
			var r modelSwitchRequest
			if err := json.Unmarshal(req, &r); err != nil || r.Model == "" {
				return nil, fmt.Errorf("bad model request %q: want {\"model\":\"NAME\"}", req)
			}
			if p.shared != nil {
				// One worker would re-embed while the others and the shared
				// points keep the old model's vectors.
				return nil, errors.New("model use is not supported with cluster.shared: stop every worker, set embed.model, and start them on fresh shared state")
			}
			return p.switchModel(ctx, a.cfg.DataDir, r.Model)
		},
		"health": func(ctx context.Context, _ []byte) (any, error) {
			return a.health(ctx, w), nil
		},
		"stats": func(ctx context.Context, _ []byte) (any, error) {
			s := w.Stats()
			n, err := a.ix.CountEvents(ctx)
			return stats{
				Received: s.Received.Load(), Indexed: s.Indexed.Load(),
				DeadLettered: s.DeadLettered.Load(), Retried: s.Retried.Load(),
				IndexedDocs: n,
			}, err
		},
	}
	maps.Copy(handlers, segmentControls(p))
	for verb, fn := range handlers {
		sub, err := ingest.ServeControl(a.nc, verb, 10*time.Minute, a.log, fn)
		if err != nil {
			return fmt.Errorf("serve control %s: %w", verb, err)
		}
		a.onClose(func() { _ = sub.Unsubscribe() })
	}
	return nil
}
