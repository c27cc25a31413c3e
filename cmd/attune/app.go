package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"gopkg.in/yaml.v3"

	"github.com/attune-cx/attune/cluster"
	"github.com/attune-cx/attune/configs"
	"github.com/attune-cx/attune/embed"
	"github.com/attune-cx/attune/embed/wordvec"
	"github.com/attune-cx/attune/index"
	"github.com/attune-cx/attune/ingest"
	"github.com/attune-cx/attune/nlp"
)

// app holds the components a command started, and stops them in reverse.
type app struct {
	cfg *Config
	log *slog.Logger

	nats   *ingest.Server // nil when an external server is used
	nc     *nats.Conn
	js     jetstream.JetStream
	ollama *embed.Server
	emb    *embed.Client
	store  *cluster.Store
	ix     *index.Index
	nlp    *nlp.Analyzer
	// redactor removes personal data before anything is stored; nil = off.
	redactor *nlp.Redactor

	closers []func()
}

func newApp(cfg *Config, log *slog.Logger) *app { return &app{cfg: cfg, log: log} }

func (a *app) onClose(f func()) { a.closers = append(a.closers, f) }

// Close stops everything started, last started first.
func (a *app) Close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	a.closers = nil
}

// connectNATS connects to nats.url, or to the embedded server's address. When
// embedded is true and no external URL is configured, it starts the embedded
// server first (the worker and the demo do; client commands only connect).
func (a *app) connectNATS(ctx context.Context, embedded bool) error {
	url := a.cfg.NATS.URL
	if url == "" && embedded {
		if err := os.MkdirAll(a.cfg.natsDir(), 0o755); err != nil {
			return fmt.Errorf("create nats store dir: %w", err)
		}
		srv, err := ingest.StartServer(ingest.ServerConfig{
			Listen: a.cfg.NATS.Listen, StoreDir: a.cfg.natsDir(),
			MaxPayload: int32(a.cfg.NATS.MaxPayload), Auth: a.cfg.NATS.auth(),
		})
		if err != nil {
			return err
		}
		a.nats = srv
		a.onClose(srv.Shutdown)
		url = srv.ClientURL()
		a.log.Info("embedded NATS started", "url", url, "store", a.cfg.natsDir())
	} else if url == "" {
		url = "nats://" + a.cfg.NATS.Listen
	}
	authOpts, err := a.cfg.NATS.auth().ClientOptions()
	if err != nil {
		return err
	}
	nc, err := nats.Connect(url, append(authOpts,
		nats.Name("attune"),
		nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(false),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				a.log.Warn("NATS disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { a.log.Info("NATS reconnected", "url", c.ConnectedUrlRedacted()) }),
	)...)
	if err != nil {
		if a.cfg.NATS.URL == "" && !embedded {
			return fmt.Errorf("connect to NATS at %s: %w (is `attune worker` running? or set nats.url)", redactURL(url), err)
		}
		return fmt.Errorf("connect to NATS at %s: %w", redactURL(url), err)
	}
	a.nc = nc
	a.onClose(func() {
		// Flush so acks sent last reach the server before it may stop.
		_ = nc.FlushTimeout(5 * time.Second)
		nc.Close()
	})
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	a.js = js
	return nil
}

// ensureStreams declares the streams and the durable consumer.
func (a *app) ensureStreams(ctx context.Context) (jetstream.Consumer, error) {
	return ingest.EnsureStreams(ctx, a.js, ingest.StreamConfig{
		Stream:        a.cfg.NATS.Stream,
		DLQStream:     a.cfg.NATS.DLQStream,
		Consumer:      a.cfg.NATS.Consumer,
		Duplicates:    a.cfg.NATS.DuplicateWindow,
		AckWait:       a.cfg.NATS.AckWait,
		MaxAckPending: a.cfg.NATS.MaxAckPending,
	})
}

// startEmbedding finds or starts Ollama and checks the model. With build set,
// a missing own model is built and registered; otherwise it is an error that
// names the command that fixes it.
//
// With cache, vectors are cached on disk under data_dir (embed.cache); only
// one process may hold that file, so only the worker and the demo ask.
func (a *app) startEmbedding(ctx context.Context, build, cache bool) error {
	scfg := embed.ServerConfig{
		Host:     a.cfg.Ollama.Host,
		Manage:   a.cfg.Ollama.Manage,
		Binary:   a.cfg.Ollama.Binary,
		CacheDir: a.cfg.cacheDir(),
		Version:  a.cfg.Ollama.Version,
		Logger:   a.log,
	}
	srv, err := embed.EnsureServer(ctx, scfg)
	if err != nil {
		return fmt.Errorf("ollama: %w", err)
	}
	a.ollama = srv
	if srv.Managed() {
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			a.superviseOllama(scfg, srv, stop)
		}()
		a.onClose(func() {
			close(stop)
			<-done
		})
	} else {
		a.onClose(func() { _ = srv.Stop() })
	}
	opts := []embed.Option{
		embed.WithBatchSize(a.cfg.Embed.BatchSize),
		embed.WithBatchChars(a.cfg.Embed.BatchChars),
		embed.WithMaxInFlight(a.cfg.Embed.MaxInFlight),
		embed.WithTimeout(a.cfg.Embed.Timeout),
		embed.WithThreads(a.cfg.Embed.Threads),
		embed.WithLogger(a.log),
	}
	if a.cfg.Embed.Model == ownModel {
		// Long texts are split under the own model's 510-piece context and
		// combined, never truncated.
		opts = append(opts, embed.WithMissingModelHint("run `attune model build`"), embed.WithChunker(wordvec.Split))
	}
	if cache && a.cfg.Embed.Cache {
		if err := os.MkdirAll(a.cfg.DataDir, 0o755); err != nil {
			return fmt.Errorf("create data dir: %w", err)
		}
		c, err := embed.OpenCache(filepath.Join(a.cfg.DataDir, "embed-cache.db"), a.cfg.Embed.CacheEntries)
		if err != nil {
			return fmt.Errorf("open vector cache: %w", err)
		}
		a.onClose(func() { _ = c.Close() })
		opts = append(opts, embed.WithCache(c))
	}
	emb, err := embed.NewClient(srv.Host(), a.cfg.Embed.Model, opts...)
	if err != nil {
		return err
	}
	a.emb = emb
	dim, err := emb.Check(ctx)
	if errors.Is(err, embed.ErrModelMissing) && build && a.cfg.Embed.Model == ownModel {
		a.log.Info("embedding model missing; building the project's own", "model", ownModel)
		if err := buildOwnModel(ctx, a.cfg, emb, a.log, os.Stderr); err != nil {
			return err
		}
		dim, err = emb.Check(ctx)
	}
	if err != nil {
		return err
	}
	if want := wordvec.ServedDimFor(a.cfg.Model.Dim); a.cfg.Embed.Model == ownModel && dim != want {
		// The registered own model was built with another model.dim (an
		// older default, or a changed setting): rebuild it where asked to.
		if !build {
			a.log.Warn("the registered own model does not match model.dim; run `attune model build` to rebuild it",
				"model", ownModel, "served_dim", dim, "model_dim", a.cfg.Model.Dim, "want_served_dim", want)
		} else {
			a.log.Info("own embedding model built with another model.dim; rebuilding it",
				"model", ownModel, "served_dim", dim, "want_served_dim", want)
			if err := buildOwnModel(ctx, a.cfg, emb, a.log, os.Stderr); err != nil {
				return err
			}
			sp, err := emb.Space(ctx) // forgets the old model's digest
			if err != nil {
				return err
			}
			dim = sp.Dim
		}
	}
	a.log.Info("embedding model ready", "model", a.cfg.Embed.Model, "dim", dim, "ollama", srv.Host(), "managed", srv.Managed())
	return nil
}

// superviseOllama restarts the managed Ollama whenever its process exits,
// until stop is closed, then stops the current one. While it is away, embedding
// fails with retryable errors and events wait in JetStream.
func (a *app) superviseOllama(cfg embed.ServerConfig, srv *embed.Server, stop <-chan struct{}) {
	defer func() { _ = srv.Stop() }()
	backoff := time.Second
	for {
		select {
		case <-stop:
			return
		case <-srv.Done():
		}
		a.log.Warn("managed ollama exited; restarting it", "log", srv.LogPath())
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			next, err := embed.EnsureServer(ctx, cfg)
			cancel()
			if err == nil {
				srv, backoff = next, time.Second
				a.log.Info("managed ollama restarted", "host", srv.Host())
				break
			}
			a.log.Error("restarting ollama failed; retrying", "err", err, "in", backoff)
			select {
			case <-stop:
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, time.Minute)
		}
	}
}

// openStores opens the segment store and the index under data_dir.
func (a *app) openStores() error {
	if err := os.MkdirAll(a.cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	st, err := cluster.OpenStore(a.cfg.storePath(),
		cluster.WithMonetary(a.cfg.Cluster.MonetaryAttr),
		cluster.WithEngagement(a.cfg.Cluster.EngagementAttrs...))
	if err != nil {
		return fmt.Errorf("open segment store: %w", err)
	}
	a.store = st
	a.onClose(func() { _ = st.Close() })
	ix, err := index.Open(a.cfg.indexDir(), index.WithLogger(a.log))
	if err != nil {
		return fmt.Errorf("open index: %w", err)
	}
	a.ix = ix
	a.onClose(func() { _ = ix.Close() })
	an, red, err := newNLP(a.cfg.NLP)
	if err != nil {
		return err
	}
	a.nlp, a.redactor = an, red
	return nil
}

// newNLP builds the analyzer (aspects from nlp.aspects_file or the built-in
// set, sentiment model or lexicon) and the redactor (nil when nlp.redact is
// empty).
func newNLP(cfg NLPConfig) (*nlp.Analyzer, *nlp.Redactor, error) {
	aspects := configs.Aspects
	if cfg.AspectsFile != "" {
		b, err := os.ReadFile(cfg.AspectsFile)
		if err != nil {
			return nil, nil, fmt.Errorf("nlp aspects: %w", err)
		}
		aspects = b
	}
	set, err := nlp.ParseAspectsBytes(aspects)
	if err != nil {
		return nil, nil, fmt.Errorf("nlp aspects: %w", err)
	}
	opts := []nlp.Option{nlp.WithAspects(set)}
	if cfg.Sentiment == "lexicon" {
		opts = append(opts, nlp.WithLexiconOnly())
	}
	an, err := nlp.New(opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("nlp: %w", err)
	}
	if len(cfg.Redact) == 0 {
		return an, nil, nil
	}
	kinds := make([]nlp.PII, len(cfg.Redact))
	for i, k := range cfg.Redact {
		kinds[i] = nlp.PII(k)
	}
	red, err := nlp.NewRedactor(kinds...)
	if err != nil {
		return nil, nil, fmt.Errorf("nlp redaction: %w", err)
	}
	return an, red, nil
}

func (a *app) clusterConfig() cluster.Config {
	c := a.cfg.Cluster
	return cluster.Config{
		K:              c.K,
		KMin:           c.KMin,
		KMax:           c.KMax,
		MaxShare:       c.MaxShare,
		SampleSize:     c.SampleSize,
		MaxIter:        c.MaxIter,
		Seed:           c.Seed,
		Weights:        cluster.Weights{Embedding: c.Weights.Embedding, Sentiment: c.Weights.Sentiment, Behavior: c.Weights.Behavior},
		TopTerms:       c.TopTerms,
		Algorithm:      c.Algorithm,
		Inits:          c.Inits,
		BatchSize:      c.BatchSize,
		PCADims:        c.PCADims,
		Attributes:     c.Attributes,
		MinClusterSize: c.MinClusterSize,
		MinSamples:     c.MinSamples,
		Bands:          attitudeBands(a.cfg.NLP.Sentiment),

		Membership:       c.Membership,
		CustomerHalfLife: c.CustomerHalfLife,
	}.WithDefaults()
}

func printYAML(w io.Writer, v any) error {
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	defer enc.Close()
	return enc.Encode(v)
}

// peakRSSMiB is this process's peak resident set size (VmHWM), in MiB.
func peakRSSMiB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		var kb float64
		if _, err := fmt.Sscanf(line, "VmHWM: %f kB", &kb); err == nil {
			return kb / 1024
		}
	}
	return 0
}
