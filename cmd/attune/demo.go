package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/attune-cx/attune/index"
	"github.com/attune-cx/attune/ingest"
)

func demoCmd(g *globals) *cobra.Command {
	var (
		file  string
		query string
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run everything embedded on the airline tweets and print the segments",
		Long: `demo starts an embedded NATS server, finds or starts Ollama (building it once
per machine if needed), builds and registers the project's own embedding model
if it is missing, starts a worker, publishes the Twitter US Airline Sentiment
tweets through NATS, waits until every event is indexed, re-clusters, and
prints the segment table and a sample search.

Unless --data-dir is given, it works in a new temporary directory and prints
its path, so you can run attune search/segments against it afterwards.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			start := time.Now()
			if g.dataDir == "" {
				dir, err := os.MkdirTemp("", "attune-demo-")
				if err != nil {
					return err
				}
				g.dataDir = dir
			}
			cfg, log, err := g.load()
			if err != nil {
				return err
			}
			// A free port, so the demo never collides with a running worker.
			cfg.NATS.Listen = "127.0.0.1:0"
			// One re-cluster over all events at the end instead of several
			// during the run.
			cfg.Cluster.ReclusterEvery = 0
			if file == "" {
				file = filepath.Join(cfg.Model.DatasetsDir, "twitter_us_airline_sentiment", "Tweets.csv")
			}
			if _, err := os.Stat(file); err != nil {
				return fmt.Errorf("demo data: %w (set --file or model.datasets_dir)", err)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Attune demo — data dir %s\n", cfg.DataDir)

			// The demo exits when done; its data is browsed afterwards with
			// `attune serve`, so its worker binds no HTTP port.
			listen := cfg.HTTP.Listen
			cfg.HTTP.Listen = ""

			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			a := newApp(cfg, log)
			defer a.Close()
			defer cancel() // stop the worker before a.Close closes its stores
			rw, err := a.startWorker(ctx, true)
			if err != nil {
				return err
			}
			ready := time.Now()

			m := ingest.Mapping{
				ID: "tweet_id", Text: "text", Customer: "name", TS: "tweet_created",
				Source: "ticket", Attrs: []string{"airline", "retweet_count"},
			}
			res, err := publishFile(ctx, a, file, "csv", m, true)
			if err != nil {
				return fmt.Errorf("publish %s: %w", file, err)
			}
			fmt.Fprintf(out, "published %d events (%d duplicate rows dropped by id)\n", res.Published, res.Duplicates)

			if err := waitDrained(ctx, a, rw, res.Published); err != nil {
				return err
			}
			processed := time.Now()
			st := rw.w.Stats()
			n, err := a.ix.CountEvents(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "indexed %d events, dead-lettered %d, in %s (%.0f events/s)\n",
				n, st.DeadLettered.Load(), processed.Sub(ready).Round(time.Second),
				float64(n)/processed.Sub(ready).Seconds())

			segs, err := rw.p.Recluster(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "\n%d segments:\n", len(segs))
			printSegments(out, segs)

			q := index.Query{Text: query, Label: "negative", Limit: 5}
			hits, err := a.ix.Search(ctx, q)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "\nsearch %q --sentiment negative:\n", query)
			printHits(out, hits)

			fmt.Fprintf(out, "\ndone in %s (setup %s); peak RSS of attune %.0f MiB\n",
				time.Since(start).Round(time.Second), ready.Sub(start).Round(time.Second), peakRSSMiB())
			fmt.Fprintf(out, "explore: attune segments --data-dir %s ; attune search \"refund\" --data-dir %s\n", cfg.DataDir, cfg.DataDir)
			fmt.Fprintf(out, "web UI and API: attune serve --data-dir %s (then http://%s/)\n", cfg.DataDir, listen)
			return nil
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "CSV to publish (default: <datasets_dir>/twitter_us_airline_sentiment/Tweets.csv)")
	cmd.Flags().StringVar(&query, "query", "lost luggage", "sample search to run at the end")
	return cmd
}

// waitDrained waits until the consumer has nothing pending, showing progress.
func waitDrained(ctx context.Context, a *app, rw *runningWorker, total int) error {
	cons, err := a.js.Consumer(ctx, a.cfg.NATS.Stream, a.cfg.NATS.Consumer)
	if err != nil {
		return fmt.Errorf("consumer: %w", err)
	}
	bar := progressbar.NewOptions(total, progressbar.OptionSetDescription("indexing"),
		progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("events"),
		progressbar.OptionSetWriter(os.Stderr), progressbar.OptionSetVisibility(isTerminal(os.Stderr)),
		progressbar.OptionClearOnFinish())
	defer bar.Finish()
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		st := rw.w.Stats()
		_ = bar.Set(int(st.Indexed.Load() + st.DeadLettered.Load()))
		n, err := ingest.Pending(ctx, cons)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-rw.done:
			return fmt.Errorf("worker stopped: %v", rw.err)
		case <-t.C:
		}
	}
}
