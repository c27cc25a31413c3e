package main

import (
	"encoding/json"
	"io"
	"syscall"
	"time"

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

// processCPU is the user and system CPU time of this process so far. Bench
// figures report it beside wall time: on a shared machine wall time follows
// the load, CPU time the work.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
