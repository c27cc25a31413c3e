package main

import "github.com/spf13/cobra"

func benchCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Benchmarks on the real datasets, as ratios against baselines measured in the same run",
	}
	cmd.AddCommand(benchNLPCmd(g), benchEmbedCmd(g), benchClusterCmd(g), benchIndexCmd(g), benchSoakCmd(g))
	return cmd
}
