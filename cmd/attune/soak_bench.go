package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/spf13/cobra"
)

func benchSoakCmd(g *globals) *cobra.Command {
	var (
		asJSON     bool
		o          soakOpts
		dir        string
		keep       bool
		backlogRun time.Duration
	)
	cmd := &cobra.Command{
		Use:   "soak",
		Short: "Crash, outage, poison, back-pressure and scale-out soak of real attune worker processes",
		Long: `soak runs this binary's ` + "`attune worker`" + ` as child processes against a NATS
server and an Ollama it owns, and checks what the issue promises:

  1. crash/outage run: publishes --events real texts from the shared datasets
     (airline tweets, Banking77, Olist and Amazon Alexa reviews; replayed with
     new ids past the corpus) plus --poison hostile events, kill -9s the
     worker --kills times at random points (re-clustering before the second
     kill and comparing segments after it), stops Ollama for --outage, restarts
     the NATS server, drains, stops the worker with SIGTERM, then reopens its
     index and store and counts every event: lost and duplicates must be 0,
     every poison event dead-lettered, no good one;
  2. throughput: --tput-events events with 1, 2 and 3 workers on one durable
     consumer (one index shard each), events/s and the ratio to 1 worker;
     with --shared each run is repeated with cluster.shared (one segment
     model over the workers) and compared with the run before it;
  3. back-pressure: --backlog events waiting while one worker runs for
     --backlog-run; its peak RSS.

Peak RSS is the workers' VmHWM (Ollama's own memory is not included).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := g.load()
			if err != nil {
				return err
			}
			bin, err := os.Executable()
			if err != nil {
				return err
			}
			if dir == "" {
				if dir, err = os.MkdirTemp("", "attune-soak-"); err != nil {
					return err
				}
				if !keep {
					defer os.RemoveAll(dir)
				}
			}
			o.Bin, o.Dir, o.Base, o.Log, o.Progress, o.BacklogRun = bin, dir, cfg, log, cmd.ErrOrStderr(), backlogRun
			o.TputMax = 3
			res, err := runSoak(cmd.Context(), o)
			if err != nil {
				return fmt.Errorf("soak (data in %s): %w", dir, err)
			}
			return writeBench(cmd.OutOrStdout(), asJSON, res, printSoakBench)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&asJSON, "json", false, "print one JSON object")
	f.IntVar(&o.Events, "events", 100000, "good events in the crash/outage run")
	f.IntVar(&o.Poison, "poison", 70, "hostile events mixed in")
	f.BoolVar(&o.Big, "big", true, "add one 10 MB event to the poison")
	f.IntVar(&o.Kills, "kills", 3, "kill -9s of the worker")
	f.DurationVar(&o.Outage, "outage", time.Minute, "how long Ollama is stopped")
	f.BoolVar(&o.Restart, "nats-restart", true, "restart the NATS server once")
	f.DurationVar(&o.AckWait, "ack-wait", 10*time.Second, "nats.ack_wait of the workers (how soon a killed worker's batch is redelivered)")
	f.IntVar(&o.TputEvents, "tput-events", 20000, "events per throughput run (1, 2, 3 workers); 0 skips")
	f.BoolVar(&o.TputShared, "shared", false, "repeat each throughput run with cluster.shared (one segment model over the workers)")
	f.IntVar(&o.Backlog, "backlog", 1000000, "events waiting for the back-pressure run; 0 skips")
	f.IntVar(&o.BacklogBaseline, "backlog-baseline", 40000, "events waiting in the baseline run of the back-pressure measure (enough to keep the worker busy for --backlog-run); 0 skips")
	f.DurationVar(&backlogRun, "backlog-run", time.Minute, "how long the worker runs against the backlog")
	f.Uint64Var(&o.Seed, "seed", 1, "seed of the kill points and poison positions")
	f.DurationVar(&o.Timeout, "timeout", time.Hour, "bound on each wait for the stream to drain")
	f.StringVar(&dir, "dir", "", "directory for the run's data (default: a temporary one, removed)")
	f.BoolVar(&keep, "keep", false, "keep the temporary directory")
	return cmd
}

func printSoakBench(w io.Writer, res *soakResult) {
	fmt.Fprintf(w, "published %d, indexed %d, dead-lettered %d (poison %d, good %d), lost %d, duplicates %d\n",
		res.Published, res.Indexed, res.DeadLettered, res.PoisonPublished, res.GoodDeadLettered, res.Lost, res.Duplicates)
	fmt.Fprintf(w, "kills %d, outage %.0fs (ollama reported: %v), NATS restarts %d, segments recovered %v, graceful exit %v\n",
		res.Kills, res.OutageSeconds, res.OllamaOutageSeen, res.NATSRestarts, res.SegmentsRecovered, res.GracefulExit)
	ks := make([]string, 0, len(res.EventsPerSec))
	for k := range res.EventsPerSec {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	for _, k := range ks {
		fmt.Fprintf(w, "%s worker(s): %.1f events/s (%.2fx)\n", k, res.EventsPerSec[k], res.Ratio[k])
		if v, ok := res.EventsPerSecShared[k]; ok {
			fmt.Fprintf(w, "%s shared worker(s): %.1f events/s (%.2fx unshared)\n", k, v, res.SharedRatio[k])
		}
	}
	fmt.Fprintf(w, "peak worker RSS %.1f MiB; with %d events waiting: %.1f MiB (%.2fx the %.1f MiB with %d waiting)\n",
		res.PeakRSSMB, res.BacklogEvents, res.BacklogPeakRSSMB, res.BacklogRSSRatio, res.BacklogBaselinePeakRSSMB, res.BacklogBaselineEvents)
}
