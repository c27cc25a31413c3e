package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/attune-cx/attune/cluster"
	"github.com/attune-cx/attune/embed"
	"github.com/attune-cx/attune/embed/wordvec"
	"github.com/attune-cx/attune/embed/wordvec/evaluate"
)

// benchEmbedResult is the JSON `attune bench embed --json` prints. The
// first keys are the issue's; the rest explain them.
type benchEmbedResult struct {
	Model                  string           `json:"model"`
	Dim                    int              `json:"dim"`
	Batch                  int              `json:"batch"`
	AttuneTextsPerSec      float64          `json:"attune_texts_per_sec"`
	PlainLoopTextsPerSec   float64          `json:"plain_loop_texts_per_sec"`
	SingleCallTextsPerSec  float64          `json:"single_call_texts_per_sec"`
	CacheReplaySpeedup     float64          `json:"cache_replay_speedup"`
	Banking77              benchClusterFigs `json:"banking77"`
	AirlineNegative        benchClusterFigs `json:"airline_negative"`
	AttuneVsPlain          float64          `json:"attune_vs_plain"`
	AttuneVsSingle         float64          `json:"attune_vs_single"`
	CacheReplayTextsPerSec float64          `json:"cache_replay_texts_per_sec"`
	ThroughputTexts        int              `json:"throughput_texts"`
	Rounds                 int              `json:"rounds"`
	InFlight               int              `json:"in_flight"`
	Threads                int              `json:"threads"`
	Seeds                  int              `json:"seeds"`
	NInit                  int              `json:"n_init"`
	ModelTrainSeconds      float64          `json:"model_train_seconds,omitempty"`
	OllamaVersion          string           `json:"ollama_version"`
	Seconds                float64          `json:"seconds"`
	PeakRSSMiB             float64          `json:"peak_rss_mib"`
}

type benchClusterFigs struct {
	Texts    int     `json:"texts"`
	K        int     `json:"k"`
	NMI      float64 `json:"nmi"`
	ARI      float64 `json:"ari"`
	TFIDFNMI float64 `json:"tfidf_nmi"`
	TFIDFARI float64 `json:"tfidf_ari"`
}

func benchEmbedCmd(g *globals) *cobra.Command {
	var (
		asJSON  bool
		n       int
		rounds  int
		singles int
		seeds   int
		batch   int
		flight  int
		nInit   int
		quick   bool
	)
	cmd := &cobra.Command{
		Use:   "embed",
		Short: "Embedding throughput against plain /api/embed loops, cache replay, and cluster quality of the served vectors",
		Long: `embed starts its own managed Ollama on a free loopback port (with its own
models directory, so it never disturbs a running worker), registers the
embedding model there (the project's own is trained first if
` + "`attune model build`" + ` has not cached its file yet), and measures in one run:

  - texts/s of Attune's embed.Client, of a plain loop of /api/embed calls
    with the same batch size, and of one text per call, on the same tweets;
  - the speed-up of replaying those texts through the on-disk vector cache;
  - NMI/ARI of k-means on the vectors served by Ollama, against TF-IDF with
    the same k-means and seeds: Banking77 test (k = 77) and the airline
    negative tweets against negativereason (without "Can't Tell", k = 9).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := g.load()
			if err != nil {
				return err
			}
			if batch == 0 {
				batch = cfg.Embed.BatchSize
			}
			res, err := runBenchEmbed(cmd.Context(), cfg, log, benchEmbedOpts{
				n: n, rounds: rounds, singles: singles, seeds: seeds, batch: batch, inFlight: flight,
				nInit: nInit, throughputOnly: quick, progress: cmd.ErrOrStderr(),
			})
			if err != nil {
				return err
			}
			return writeBench(cmd.OutOrStdout(), asJSON, res, printBenchEmbed)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&asJSON, "json", false, "print one JSON object instead of a table")
	f.IntVar(&n, "texts", 1024, "airline tweets per throughput pass")
	f.IntVar(&rounds, "rounds", 2, "alternating passes of Attune and the plain loop")
	f.IntVar(&singles, "single", 256, "texts sent one per call")
	f.IntVar(&seeds, "seeds", 5, "k-means seeds averaged")
	f.IntVar(&batch, "batch", 0, "texts per request (default embed.batch_size)")
	f.IntVar(&flight, "in-flight", embed.DefaultMaxInFlight, "requests Attune's client keeps open at once")
	f.BoolVar(&quick, "throughput-only", false, "skip the cluster quality measurements")
	f.IntVar(&nInit, "n-init", 10, "k-means++ restarts per seed, lowest inertia kept (scikit-learn's classic n_init and the recipe note's)")
	return cmd
}

type benchEmbedOpts struct {
	n, rounds, singles, seeds, batch, inFlight, nInit int
	throughputOnly                                    bool
	progress                                          io.Writer
}

func runBenchEmbed(ctx context.Context, cfg *Config, log *slog.Logger, o benchEmbedOpts) (*benchEmbedResult, error) {
	start := time.Now()
	res := &benchEmbedResult{Model: cfg.Embed.Model, Batch: o.batch, InFlight: o.inFlight, Threads: cfg.Embed.Threads, Seeds: o.seeds, NInit: max(1, o.nInit), Rounds: o.rounds}
	step := func(format string, args ...any) { fmt.Fprintf(o.progress, "bench embed: "+format+"\n", args...) }

	port, err := embFreePort()
	if err != nil {
		return nil, err
	}
	srv, err := embed.EnsureServer(ctx, embed.ServerConfig{
		Host:      "127.0.0.1:" + port,
		Manage:    true,
		Binary:    cfg.Ollama.Binary,
		CacheDir:  cfg.cacheDir(),
		ModelsDir: filepath.Join(cfg.cacheDir(), "bench-ollama-models"),
		Version:   cfg.Ollama.Version,
		Logger:    log,
	})
	if err != nil {
		return nil, fmt.Errorf("ollama: %w", err)
	}
	defer srv.Stop()
	if res.OllamaVersion, err = srv.Version(ctx); err != nil {
		return nil, err
	}
	newClient := func(opts ...embed.Option) (*embed.Client, error) {
		base := []embed.Option{
			embed.WithBatchSize(o.batch), embed.WithTimeout(cfg.Embed.Timeout),
			embed.WithThreads(cfg.Embed.Threads), embed.WithLogger(log), embed.WithMaxInFlight(o.inFlight),
		}
		if cfg.Embed.Model == ownModel {
			base = append(base, embed.WithChunker(wordvec.Split))
		}
		return embed.NewClient(srv.Host(), cfg.Embed.Model, append(base, opts...)...)
	}
	emb, err := newClient()
	if err != nil {
		return nil, err
	}
	if cfg.Embed.Model == ownModel {
		path, trained, err := benchOwnModel(ctx, cfg, log, step)
		if err != nil {
			return nil, err
		}
		res.ModelTrainSeconds = trained.Seconds()
		if err := emb.CreateFromGGUF(ctx, ownModel, path); err != nil {
			return nil, err
		}
	}
	if res.Dim, err = emb.Check(ctx); err != nil {
		return nil, err
	}

	// Throughput, same texts for every contender.
	tweets, err := embReadCSVColumns(filepath.Join(cfg.Model.DatasetsDir, "twitter_us_airline_sentiment", "Tweets.csv"),
		"text", "airline_sentiment", "negativereason")
	if err != nil {
		return nil, err
	}
	texts := embDistinct(tweets[0], o.n)
	res.ThroughputTexts = len(texts)
	plain := &plainEmbedLoop{host: srv.Host(), model: cfg.Embed.Model, threads: cfg.Embed.Threads}
	var attuneDur, plainDur time.Duration
	for r := range o.rounds {
		d, err := embTimeIt(func() error { _, err := emb.Embed(ctx, texts); return err })
		if err != nil {
			return nil, fmt.Errorf("attune pass: %w", err)
		}
		attuneDur += d
		d, err = embTimeIt(func() error { return plain.run(ctx, texts, o.batch) })
		if err != nil {
			return nil, fmt.Errorf("plain loop: %w", err)
		}
		plainDur += d
		step("round %d: attune %.0f texts/s, plain loop %.0f texts/s", r+1,
			float64((r+1)*len(texts))/attuneDur.Seconds(), float64((r+1)*len(texts))/plainDur.Seconds())
	}
	res.AttuneTextsPerSec = float64(o.rounds*len(texts)) / attuneDur.Seconds()
	res.PlainLoopTextsPerSec = float64(o.rounds*len(texts)) / plainDur.Seconds()
	single := texts[:min(o.singles, len(texts))]
	d, err := embTimeIt(func() error { return plain.run(ctx, single, 1) })
	if err != nil {
		return nil, fmt.Errorf("one text per call: %w", err)
	}
	res.SingleCallTextsPerSec = float64(len(single)) / d.Seconds()
	res.AttuneVsPlain = res.AttuneTextsPerSec / res.PlainLoopTextsPerSec
	res.AttuneVsSingle = res.AttuneTextsPerSec / res.SingleCallTextsPerSec

	// Cache: fill it once, then time a replay.
	dir, err := os.MkdirTemp("", "attune-bench-cache-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	cache, err := embed.OpenCache(filepath.Join(dir, "vectors.db"), 0)
	if err != nil {
		return nil, err
	}
	defer cache.Close()
	cached, err := newClient(embed.WithCache(cache))
	if err != nil {
		return nil, err
	}
	if _, err := cached.Embed(ctx, texts); err != nil {
		return nil, fmt.Errorf("fill cache: %w", err)
	}
	d, err = embTimeIt(func() error { _, err := cached.Embed(ctx, texts); return err })
	if err != nil {
		return nil, fmt.Errorf("cache replay: %w", err)
	}
	res.CacheReplayTextsPerSec = float64(len(texts)) / d.Seconds()
	res.CacheReplaySpeedup = res.CacheReplayTextsPerSec / res.AttuneTextsPerSec
	step("cache replay %.0f texts/s (%.0f×)", res.CacheReplayTextsPerSec, res.CacheReplaySpeedup)

	if o.throughputOnly {
		res.Seconds = time.Since(start).Seconds()
		res.PeakRSSMiB = peakRSSMiB()
		return res, nil
	}

	// Cluster quality of the served vectors against TF-IDF.
	bank, err := embReadCSVColumns(filepath.Join(cfg.Model.DatasetsDir, "banking77", "test.csv"), "text", "category")
	if err != nil {
		return nil, err
	}
	if res.Banking77, err = benchClusters(ctx, emb, bank[0], bank[1], 77, o.seeds, res.NInit); err != nil {
		return nil, fmt.Errorf("banking77: %w", err)
	}
	step("banking77: NMI %.3f ARI %.3f (TF-IDF %.3f / %.3f)", res.Banking77.NMI, res.Banking77.ARI, res.Banking77.TFIDFNMI, res.Banking77.TFIDFARI)
	var negTexts, negReasons []string
	for i := range tweets[0] {
		if tweets[1][i] == "negative" && tweets[2][i] != "" && tweets[2][i] != "Can't Tell" {
			negTexts = append(negTexts, tweets[0][i])
			negReasons = append(negReasons, tweets[2][i])
		}
	}
	if res.AirlineNegative, err = benchClusters(ctx, emb, negTexts, negReasons, 9, o.seeds, res.NInit); err != nil {
		return nil, fmt.Errorf("airline negative: %w", err)
	}
	step("airline negative: NMI %.3f ARI %.3f (TF-IDF %.3f / %.3f)", res.AirlineNegative.NMI, res.AirlineNegative.ARI, res.AirlineNegative.TFIDFNMI, res.AirlineNegative.TFIDFARI)

	res.Seconds = time.Since(start).Seconds()
	res.PeakRSSMiB = peakRSSMiB()
	return res, nil
}

// benchOwnModel returns the GGUF of the own model for the configured
// settings, the file `attune model build` caches, training it if missing
// (and how long that took).
func benchOwnModel(ctx context.Context, cfg *Config, log *slog.Logger, step func(string, ...any)) (string, time.Duration, error) {
	spec := defaultModelSpec(cfg)
	path, err := modelPath(cfg, spec)
	if err != nil {
		return "", 0, err
	}
	if _, err := os.Stat(path); err == nil {
		return path, 0, nil
	}
	step("training the own model (dim %d, seed %d) for %s", spec.dim, spec.seed, filepath.Base(path))
	start := time.Now()
	if err := trainModelFile(ctx, spec, path, log, io.Discard); err != nil {
		return "", 0, err
	}
	return path, time.Since(start), nil
}

// benchClusters embeds texts through emb and clusters them with k-means,
// and their TF-IDF vectors with the same k-means and seeds.
func benchClusters(ctx context.Context, emb *embed.Client, texts, labels []string, k, seeds, nInit int) (benchClusterFigs, error) {
	figs := benchClusterFigs{Texts: len(texts), K: k}
	vecs, err := emb.Embed(ctx, texts)
	if err != nil {
		return figs, err
	}
	x := make([][]float64, len(vecs))
	for i, v := range vecs {
		x[i] = make([]float64, len(v))
		for j, f := range v {
			x[i][j] = float64(f)
		}
	}
	sp := evaluate.TFIDF(texts, wordvec.Tokenize)
	for s := range seeds {
		seed := uint64(s + 1)
		a := evaluate.KMeans(evaluate.Dense(x), k, nInit, seed)
		figs.NMI += cluster.NMI(a, labels) / float64(seeds)
		figs.ARI += cluster.ARI(a, labels) / float64(seeds)
		b := evaluate.KMeans(sp, k, nInit, seed)
		figs.TFIDFNMI += cluster.NMI(b, labels) / float64(seeds)
		figs.TFIDFARI += cluster.ARI(b, labels) / float64(seeds)
	}
	return figs, nil
}

// plainEmbedLoop is the baseline: /api/embed called in a loop with nothing
// but net/http and encoding/json, as a hand-written client would.
type plainEmbedLoop struct {
	host, model string
	threads     int
}

func (p *plainEmbedLoop) run(ctx context.Context, texts []string, batch int) error {
	for start := 0; start < len(texts); start += batch {
		body := map[string]any{"model": p.model, "input": texts[start:min(start+batch, len(texts))]}
		if p.threads > 0 {
			body["options"] = map[string]any{"num_thread": p.threads}
		}
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.host+"/api/embed", bytes.NewReader(b))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		var out struct {
			Embeddings [][]float32 `json:"embeddings"`
		}
		err = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK || len(out.Embeddings) != min(batch, len(texts)-start) {
			return fmt.Errorf("status %s, %d vectors", resp.Status, len(out.Embeddings))
		}
	}
	return nil
}

func embTimeIt(fn func() error) (time.Duration, error) {
	start := time.Now()
	err := fn()
	return time.Since(start), err
}

// embFreePort returns a loopback port nobody listens on right now.
func embFreePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	_, port, err := net.SplitHostPort(l.Addr().String())
	return port, err
}

// embDistinct returns up to n texts in order, without repeats.
func embDistinct(texts []string, n int) []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range texts {
		if len(out) == n {
			break
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// embReadCSVColumns reads the named columns of a CSV file with a header.
func embReadCSVColumns(path string, names ...string) ([][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w (set model.datasets_dir)", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	idx := make([]int, len(names))
	for i, name := range names {
		idx[i] = -1
		for j, h := range header {
			if strings.TrimPrefix(h, "\ufeff") == name {
				idx[i] = j
			}
		}
		if idx[i] < 0 {
			return nil, fmt.Errorf("read %s: no column %q", path, name)
		}
	}
	out := make([][]string, len(names))
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		for i, j := range idx {
			v := ""
			if j < len(rec) {
				v = rec[j]
			}
			out[i] = append(out[i], v)
		}
	}
}

func printBenchEmbed(w io.Writer, r *benchEmbedResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "model\t%s (dim %d, ollama %s, %d thread(s))\n", r.Model, r.Dim, r.OllamaVersion, r.Threads)
	fmt.Fprintf(tw, "throughput\t%d tweets × %d rounds, batch %d\n", r.ThroughputTexts, r.Rounds, r.Batch)
	fmt.Fprintf(tw, "  attune embed.Client\t%.0f texts/s\n", r.AttuneTextsPerSec)
	fmt.Fprintf(tw, "  plain /api/embed loop\t%.0f texts/s\t(attune %.2f×)\n", r.PlainLoopTextsPerSec, r.AttuneVsPlain)
	fmt.Fprintf(tw, "  one text per call\t%.0f texts/s\t(attune %.2f×)\n", r.SingleCallTextsPerSec, r.AttuneVsSingle)
	fmt.Fprintf(tw, "  cache replay\t%.0f texts/s\t(%.0f×)\n", r.CacheReplayTextsPerSec, r.CacheReplaySpeedup)
	for _, c := range []struct {
		name string
		f    benchClusterFigs
	}{{"banking77 test", r.Banking77}, {"airline negative", r.AirlineNegative}} {
		fmt.Fprintf(tw, "%s\t%d texts, k=%d, mean of %d seeds, n_init %d\n", c.name, c.f.Texts, c.f.K, r.Seeds, r.NInit)
		fmt.Fprintf(tw, "  served vectors\tNMI %.3f\tARI %.3f\n", c.f.NMI, c.f.ARI)
		fmt.Fprintf(tw, "  TF-IDF\tNMI %.3f\tARI %.3f\n", c.f.TFIDFNMI, c.f.TFIDFARI)
	}
	fmt.Fprintf(tw, "run\t%.0f s, peak RSS %.0f MiB\n", r.Seconds, r.PeakRSSMiB)
	tw.Flush()
}
