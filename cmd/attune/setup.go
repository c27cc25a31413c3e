package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func setupCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "setup",
		Short: "Make sure Ollama and the embedding model are ready (build and register them if missing)",
		Long: `setup finds or starts Ollama (building it once per machine from the Go module
proxy when no ollama binary exists) and checks the configured embedding model;
the project's own model is trained and registered if missing. It then stops a
managed Ollama again. The worker, demo and tests find everything cached.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := g.load()
			if err != nil {
				return err
			}
			a := newApp(cfg, log)
			defer a.Close()
			if err := a.startEmbedding(cmd.Context(), true, false); err != nil {
				return err
			}
			dim, err := a.emb.Check(cmd.Context())
			if err != nil {
				return err
			}
			v, _ := a.ollama.Version(cmd.Context())
			fmt.Fprintf(cmd.OutOrStdout(), "ready: ollama %s at %s (managed %v), model %s, dimension %d\n",
				v, a.ollama.Host(), a.ollama.Managed(), cfg.Embed.Model, dim)
			return nil
		},
	}
}
