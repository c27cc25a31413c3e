package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/attune-cx/attune/ingest"
)

func dlqCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dlq",
		Short: "Inspect and replay dead-lettered events (stream " + "ATTUNE_DLQ" + ")",
	}
	var (
		reason string
		limit  int
		asJSON bool
		seq    uint64
	)
	list := &cobra.Command{
		Use:   "list",
		Short: "List dead letters with their reason and error",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := clientApp(cmd, g)
			if err != nil {
				return err
			}
			defer a.Close()
			dls, err := ingest.ListDeadLetters(cmd.Context(), a.js, a.cfg.NATS.DLQStream, reason, limit)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				for _, d := range dls {
					if err := enc.Encode(d); err != nil {
						return err
					}
				}
				return nil
			}
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "SEQ\tREASON\tORIGIN\tERROR\tPAYLOAD")
			for _, d := range dls {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", d.Seq, d.Reason, d.Origin, oneLine(d.Error, 60), oneLine(string(d.Payload), 60))
			}
			return tw.Flush()
		},
	}
	replay := &cobra.Command{
		Use:   "replay",
		Short: "Publish dead letters again on their original subject (after fixing the cause) and remove them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if seq == 0 && reason == "" {
				return fmt.Errorf("name what to replay: --seq N or --reason R")
			}
			a, err := clientApp(cmd, g)
			if err != nil {
				return err
			}
			defer a.Close()
			dls, err := ingest.ListDeadLetters(cmd.Context(), a.js, a.cfg.NATS.DLQStream, reason, 0)
			if err != nil {
				return err
			}
			n := 0
			for _, d := range dls {
				if seq != 0 && d.Seq != seq {
					continue
				}
				if err := ingest.Replay(cmd.Context(), a.js, a.cfg.NATS.DLQStream, d); err != nil {
					return err
				}
				n++
			}
			fmt.Fprintf(cmd.OutOrStdout(), "replayed %d dead letters\n", n)
			return nil
		},
	}
	for _, c := range []*cobra.Command{list, replay} {
		c.Flags().StringVar(&reason, "reason", "", "only dead letters with this reason (malformed, missing_field, empty, oversized, invalid_utf8, …)")
	}
	list.Flags().IntVarP(&limit, "limit", "n", 100, "at most this many (0 = all)")
	list.Flags().BoolVar(&asJSON, "json", false, "one JSON object per line, payload included")
	replay.Flags().Uint64Var(&seq, "seq", 0, "replay only the dead letter with this sequence number")
	cmd.AddCommand(list, replay)
	return cmd
}
