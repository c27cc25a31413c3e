package main

import (
	"encoding/json"
	"io"

	"github.com/spf13/cobra"
)

func benchCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Benchmarks on the real datasets, as ratios against baselines measured in the same run",
	}
	cmd.AddCommand(benchNLPCmd(g), benchEmbedCmd(g), benchClusterCmd(g), benchIndexCmd(g), benchSoakCmd(g))
	return cmd
}

// writeBench prints the result of a bench subcommand: one indented JSON
// object with --json (asJSON), the subcommand's table otherwise.
func writeBench[T any](w io.Writer, asJSON bool, res T, table func(io.Writer, T)) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	table(w, res)
	return nil
}
