package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/attune-cx/attune/embed"
	"github.com/attune-cx/attune/embed/wordvec"
	"github.com/attune-cx/attune/index"
	"github.com/attune-cx/attune/ingest"
)

func serveCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Serve the HTTP API and web UI over a data dir no worker holds",
		Long: `serve opens the segment store, the index and the vector cache under data_dir
and serves the HTTP API and the web UI on http.listen, without consuming events:
for browsing the data a demo left, or a deployment whose worker is stopped.

The stores admit one process. While a worker runs on the data dir, serve
refuses to start: the worker serves the same API itself on http.listen.
Without a worker there is no NATS connection, so erasing a customer here
cannot purge their raw events from the JetStream streams; the reply says so.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := g.load()
			if err != nil {
				return err
			}
			if cfg.HTTP.Listen == "" {
				return errors.New("http.listen is empty: nothing to serve on")
			}
			a := newApp(cfg, log)
			defer a.Close()
			srv, err := a.standaloneAPI()
			if err != nil {
				return err
			}
			_, stop, err := listenHTTP(cfg.HTTP, srv.Handler(), log)
			if err != nil {
				return err
			}
			a.onClose(stop)
			<-cmd.Context().Done()
			return nil
		},
	}
}

// errWorkerHolds explains a store another process holds.
func errWorkerHolds(dataDir, listen string) error {
	return fmt.Errorf("data dir %s is held by another process, most likely a running `attune worker`; "+
		"the worker serves this API itself on http.listen (%s), so use that, or stop the worker first", dataDir, listen)
}

// standaloneAPI opens the stores of data_dir (not NATS, not Ollama) and
// returns the API over them.
func (a *app) standaloneAPI() (*apiServer, error) {
	if _, err := os.Stat(a.cfg.storePath()); err != nil {
		return nil, fmt.Errorf("no segment store at %s: run `attune worker` (or `attune demo`) on this data dir first", a.cfg.storePath())
	}
	if err := a.openStores(); err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, errWorkerHolds(a.cfg.DataDir, a.cfg.HTTP.Listen)
		}
		return nil, err
	}
	state := &storeState{store: a.store}
	srv := a.newAPI(state)
	srv.notUsed = []string{"nats", "ollama"}

	// The vector cache, if the worker kept one: erasure drops the
	// customer's vectors from it, keyed by the model the stored vectors
	// came from.
	cachePath := filepath.Join(a.cfg.DataDir, "embed-cache.db")
	space, spaceErr := recordedSpace(a.cfg.DataDir)
	if _, err := os.Stat(cachePath); err == nil && spaceErr == nil {
		c, err := embed.OpenCache(cachePath, a.cfg.Embed.CacheEntries)
		if err != nil {
			if errors.Is(err, bolterrors.ErrTimeout) {
				return nil, errWorkerHolds(a.cfg.DataDir, a.cfg.HTTP.Listen)
			}
			return nil, err
		}
		a.onClose(func() { _ = c.Close() })
		chunk := chunkerFor(space.Model)
		srv.forget = func(_ context.Context, texts []string) (int, error) {
			return c.Forget(space.Model, space.Digest, texts, chunk)
		}
	}
	return srv, nil
}

// recordedSpace is the embedding space the worker recorded in dataDir.
func recordedSpace(dataDir string) (embed.Space, error) {
	var sp embed.Space
	b, err := os.ReadFile(filepath.Join(dataDir, embedSpaceFile))
	if err != nil {
		return sp, err
	}
	return sp, json.Unmarshal(b, &sp)
}

// chunkerFor is the chunker startEmbedding gives the client for model.
func chunkerFor(model string) func(string) []string {
	if model == ownModel {
		return wordvec.Split
	}
	return func(s string) []string { return embed.SplitSentences(s, embed.DefaultMaxChunkChars) }
}

// newAPI is the API over the app's open stores.
func (a *app) newAPI(state segmentState) *apiServer {
	reg := newRegistry(a.ix)
	return &apiServer{
		cfg: a.cfg.HTTP, log: a.log.With("stage", "http"),
		store: a.store, ix: a.ix, state: state,
		checks:    map[string]func(context.Context) error{"index": indexCheck(a.ix)},
		reg:       reg,
		openReads: isLoopback(a.cfg.HTTP.Listen),
		stats:     &statsCache{store: a.store, state: state},
	}
}

// startWorkerAPI serves the API inside the worker, over its open stores and
// its pipeline's lock, with its counters and queue lag as metrics. It does
// nothing when http.listen is empty. It returns the bound address.
func (a *app) startWorkerAPI(p *pipeline, w *ingest.Worker, cons jetstream.Consumer) (string, error) {
	if a.cfg.HTTP.Listen == "" {
		return "", nil
	}
	srv := a.newAPI(workerState{p})
	srv.checks["nats"] = natsCheck(a.nc, a.js, a.cfg.NATS.Stream)
	srv.checks["ollama"] = ollamaCheck(a)
	srv.checks["worker"] = workerCheck(w)
	registerWorkerMetrics(srv.reg, w, cons)
	h := embedLatency()
	srv.reg.MustRegister(h)
	p.onEmbed = func(d float64) { h.Observe(d) }
	if a.emb.Cache() != nil {
		srv.forget = a.emb.Forget
	}
	srv.purge = purgeStreams(a.js, a.cfg.NATS.Stream, a.cfg.NATS.DLQStream)
	if p.shared != nil {
		srv.searchFn = func(ctx context.Context, q index.Query) (*index.Result, error) { return a.search(ctx, p, q) }
		srv.eraseShared = p.shared.eraseShared
	}
	addr, stop, err := listenHTTP(a.cfg.HTTP, srv.Handler(), a.log)
	if err != nil {
		return "", err
	}
	a.onClose(stop)
	return addr, nil
}
