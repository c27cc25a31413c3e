// Command attune runs Attune: the NATS worker that turns customer text into
// named attitudinal segments, and the tools around it (publish, search,
// segments, recluster, model build, demo).
//
// This package is the only place where the stages (ingest, nlp, embed,
// cluster, index) meet.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRoot().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "attune:", err)
		os.Exit(1)
	}
}

// globals are the flags every command takes.
type globals struct {
	configPath string
	dataDir    string
	natsURL    string
	ollamaHost string
	model      string
	sets       []string
}

func (g *globals) load() (*Config, *slog.Logger, error) {
	sets := append([]string(nil), g.sets...)
	add := func(key, v string) {
		if v != "" {
			sets = append(sets, key+"="+v)
		}
	}
	add("data_dir", g.dataDir)
	add("nats.url", g.natsURL)
	add("ollama.host", g.ollamaHost)
	add("embed.model", g.model)
	cfg, err := LoadConfig(g.configPath, os.Environ(), sets)
	if err != nil {
		return nil, nil, err
	}
	return cfg, newLogger(cfg.LogLevel), nil
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

func newRoot() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "attune",
		Short:         "Turn customer text on NATS into named attitudinal micro-segments",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.StringVarP(&g.configPath, "config", "c", os.Getenv("ATTUNE_CONFIG"), "config file (defaults: configs/attune.yaml, built in)")
	pf.StringVar(&g.dataDir, "data-dir", "", "override data_dir")
	pf.StringVar(&g.natsURL, "nats-url", "", "override nats.url (external NATS server)")
	pf.StringVar(&g.ollamaHost, "ollama-host", "", "override ollama.host")
	pf.StringVar(&g.model, "model", "", "override embed.model")
	pf.StringArrayVar(&g.sets, "set", nil, "override any setting, key=value (e.g. --set cluster.k=12); repeatable")
	root.AddCommand(
		workerCmd(g),
		publishCmd(g),
		searchCmd(g),
		segmentsCmd(g),
		statsCmd(g),
		dlqCmd(g),
		reclusterCmd(g),
		reindexCmd(g),
		modelCmd(g),
		demoCmd(g),
		setupCmd(g),
		benchCmd(g),
		configCmd(g),
		serveCmd(g),
	)
	return root
}

func configCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "config",
		Short: "Print the effective configuration (defaults, file, ATTUNE_* env and --set applied)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := g.load()
			if err != nil {
				return err
			}
			return printYAML(cmd.OutOrStdout(), cfg.Redacted())
		},
	}
}

// isCanceled tells a shutdown apart from a failure.
func isCanceled(ctx context.Context, err error) bool {
	return ctx.Err() != nil && (errors.Is(err, context.Canceled) || strings.Contains(err.Error(), "context canceled"))
}
