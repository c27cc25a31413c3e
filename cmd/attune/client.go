package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/attune-cx/attune"
	"github.com/attune-cx/attune/index"
	"github.com/attune-cx/attune/ingest"
)

func publishCmd(g *globals) *cobra.Command {
	var (
		format  string
		mapping []string
		attrs   []string
		source  string
		quiet   bool
	)
	cmd := &cobra.Command{
		Use:   "publish FILE",
		Short: "Publish events from a JSONL, CSV or TSV file to NATS (attune.events.<source>)",
		Long: `publish reads events and publishes them to JetStream with the event id as
Nats-Msg-Id, so publishing a file twice stores each event once.

JSONL lines are sent unchanged (each line one event, see the README schema);
a malformed line is published anyway and dead-lettered by the worker with its
reason. CSV/TSV rows are mapped to events: --map field=column for id, text,
customer_id, ts, rating and source; --attrs lists the columns kept as attrs
(default: every unmapped column).

It connects to nats.url, or to a running worker's embedded server; when none
answers it starts the embedded server itself so the events wait on disk for
the next worker.`,
		Example: `  attune publish events.jsonl
  attune publish Tweets.csv --map id=tweet_id,customer_id=name,ts=tweet_created --attrs airline,retweet_count --source ticket`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, log, err := g.load()
			if err != nil {
				return err
			}
			m, err := parseMapping(mapping, attrs, source)
			if err != nil {
				return err
			}
			a := newApp(cfg, log)
			defer a.Close()
			ctx := cmd.Context()
			if err := a.connectNATS(ctx, false); err != nil {
				if cfg.NATS.URL != "" {
					return err
				}
				log.Info("no NATS server answers; starting the embedded one for this publish", "listen", cfg.NATS.Listen)
				if err := a.connectNATS(ctx, true); err != nil {
					return err
				}
			}
			if _, err := a.ensureStreams(ctx); err != nil {
				return err
			}
			res, err := publishFile(ctx, a, args[0], format, m, !quiet)
			fmt.Fprintf(cmd.OutOrStdout(), "published %d new events (%d duplicates dropped by id)\n", res.Published, res.Duplicates)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&format, "format", "", "jsonl, csv or tsv (default: from the file extension)")
	f.StringSliceVar(&mapping, "map", nil, "CSV column mapping, field=column (fields: id, text, customer_id, ts, rating, source)")
	f.StringSliceVar(&attrs, "attrs", nil, "CSV columns to keep as attrs (default all unmapped)")
	f.StringVar(&source, "source", attune.SourceReview, "source of CSV rows and of JSONL lines without one (subject attune.events.<source>)")
	f.BoolVarP(&quiet, "quiet", "q", false, "no progress bar")
	return cmd
}

func parseMapping(pairs, attrs []string, source string) (ingest.Mapping, error) {
	m := ingest.Mapping{Source: source, Attrs: attrs}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			return m, fmt.Errorf("--map %q: want field=column", p)
		}
		switch strings.TrimSpace(k) {
		case "id":
			m.ID = v
		case "text":
			m.Text = v
		case "customer_id", "customer":
			m.Customer = v
		case "ts", "time":
			m.TS = v
		case "rating":
			m.Rating = v
		case "source":
			m.SourceColumn = v
		default:
			return m, fmt.Errorf("--map %q: unknown field %q", p, k)
		}
	}
	return m, nil
}

// publishFile publishes one file, with a progress bar on stderr.
func publishFile(ctx context.Context, a *app, path, format string, m ingest.Mapping, progress bool) (ingest.PublishResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return ingest.PublishResult{}, err
	}
	defer f.Close()
	if format == "" {
		format = strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
	}
	var tick func()
	if progress {
		st, _ := f.Stat()
		cr := &countingReader{r: f}
		bar := progressbar.NewOptions64(st.Size(),
			progressbar.OptionSetDescription("publishing "+filepath.Base(path)),
			progressbar.OptionSetWriter(os.Stderr),
			progressbar.OptionShowBytes(true),
			progressbar.OptionSetVisibility(isTerminal(os.Stderr)),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish())
		defer bar.Finish()
		tick = func() { _ = bar.Set64(cr.n) }
		return ingest.Publish(ctx, a.js, ingest.Records(cr, format, m), 512, tick)
	}
	return ingest.Publish(ctx, a.js, ingest.Records(f, format, m), 512, nil)
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func searchCmd(g *globals) *cobra.Command {
	var (
		q          index.Query
		from, to   string
		smin, smax float64
		facets     []string
		asJSON     bool
	)
	cmd := &cobra.Command{
		Use:   "search [QUERY]",
		Short: "Search indexed events (query string syntax) with filters, facets and sort",
		Long: `search finds events by a Bleve query string ("lost bag", +refund -thanks,
label:negative) and filters: segment, sentiment label or score range, aspect
(and the attitude toward it), source, customer, language and time range.
--facets counts the matching events per segment, aspect, aspect_sentiment,
source, label, language, sentiment band and time interval ("all" for every
one). Hits are ranked by relevance with a query and newest first without;
--sort time|sentiment|relevance and --order asc|desc change that.`,
		Example: `  attune search "lost bag" --sentiment negative
  attune search refund --segment delay-frustrated --limit 20
  attune search --aspect delivery --aspect-label negative --from 2018-01-01 --facets time,segment
  attune search --sort sentiment --order asc --sentiment-max -0.5 --source review`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				q.Text = args[0]
			}
			f := cmd.Flags()
			if f.Changed("sentiment-min") {
				q.SentimentMin = &smin
			}
			if f.Changed("sentiment-max") {
				q.SentimentMax = &smax
			}
			var err error
			if q.From, err = parseFlagTime("from", from); err != nil {
				return err
			}
			if q.To, err = parseFlagTime("to", to); err != nil {
				return err
			}
			for _, name := range facets {
				if name == "all" {
					q.Facets = index.Facets
					break
				}
				q.Facets = append(q.Facets, name)
			}
			// Refuse bad input before connecting anywhere.
			if err := q.Validate(); err != nil {
				return err
			}
			var res index.Result
			if err := query(cmd.Context(), g, "search", q, &res, func(a *app) (any, error) {
				return a.ix.Search(cmd.Context(), q)
			}); err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(res)
			}
			printHits(cmd.OutOrStdout(), &res)
			printFacets(cmd.OutOrStdout(), q.Facets, res.Facets)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&q.Segment, "segment", "", "segment id or name")
	f.StringVar(&q.Label, "sentiment", "", "sentiment label: positive, neutral, negative or unknown")
	f.Float64Var(&smin, "sentiment-min", -1, "lowest sentiment score, -1..1")
	f.Float64Var(&smax, "sentiment-max", 1, "highest sentiment score, -1..1")
	f.StringVar(&q.Source, "source", "", "event source")
	f.StringVar(&q.Customer, "customer", "", "customer id")
	f.StringVar(&q.Aspect, "aspect", "", "aspect the text talks about (delivery, price, …)")
	f.StringVar(&q.AspectLabel, "aspect-label", "", "with --aspect: attitude toward it (positive, neutral, negative)")
	f.StringVar(&q.Language, "language", "", "detected language code (en, pt, …)")
	f.StringVar(&from, "from", "", "events at or after this time (RFC 3339 or YYYY-MM-DD, UTC)")
	f.StringVar(&to, "to", "", "events before this time (RFC 3339 or YYYY-MM-DD, UTC)")
	f.StringSliceVar(&facets, "facets", nil, "facets to count: "+strings.Join(index.Facets, ",")+", or all")
	f.IntVar(&q.FacetSize, "facet-size", 0, fmt.Sprintf("buckets per term facet (default %d, at most %d)", index.DefaultFacetSize, index.MaxFacetSize))
	f.StringVar(&q.Sort, "sort", "", "relevance, time or sentiment (default: relevance with a query, time without)")
	f.StringVar(&q.Order, "order", "", "desc (default) or asc")
	f.IntVarP(&q.Limit, "limit", "n", 10, fmt.Sprintf("hits to show (at most %d)", index.MaxLimit))
	f.IntVar(&q.Offset, "offset", 0, "hits to skip")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

// parseFlagTime reads a --from/--to value: RFC 3339, or a date (UTC midnight).
func parseFlagTime(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--%s %q: want RFC 3339 (2015-02-24T11:35:52Z) or a date (2015-02-24)", name, v)
}

// printFacets prints the facets in the order asked for, one line per bucket
// with a bar scaled to the largest.
func printFacets(w io.Writer, names []string, facets map[string]index.Facet) {
	for _, name := range names {
		fc, ok := facets[name]
		if !ok {
			continue
		}
		title := name
		if fc.Interval != "" {
			title += " (per " + fc.Interval + ")"
		}
		fmt.Fprintf(w, "\n%s\n", title)
		top := 0
		for _, b := range fc.Buckets {
			top = max(top, b.Count)
		}
		for _, b := range fc.Buckets {
			v := b.Value
			if fc.Interval != "" {
				v = b.Start.Format(timeLayout(fc.Interval))
			}
			if b.Label != "" && b.Label != b.Value {
				v += " " + b.Label
			}
			bar := ""
			if top > 0 {
				bar = strings.Repeat("█", (b.Count*30+top-1)/top)
			}
			fmt.Fprintf(w, "  %-34s %7d  %s\n", oneLine(v, 34), b.Count, bar)
		}
		if fc.Other > 0 {
			fmt.Fprintf(w, "  %-34s %7d\n", "(other)", fc.Other)
		}
		if fc.Missing > 0 {
			fmt.Fprintf(w, "  %-34s %7d\n", "(none)", fc.Missing)
		}
	}
}

func timeLayout(interval string) string {
	switch interval {
	case index.IntervalHour:
		return "2006-01-02 15:00"
	case index.IntervalMonth:
		return "2006-01"
	case index.IntervalYear:
		return "2006"
	}
	return time.DateOnly
}

func segmentsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "segments",
		Short: "Print the segment table: id, name, size, sentiment, latest window and ALERT, top terms, an exemplar",
		Long: `segments prints the running worker's segments with each one's latest drift
window (by event time) and an ALERT when its volume or mean sentiment spiked
beyond cluster.drift.sigma. With no worker running it prints the table kept
in the index, without drift.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var rows []SegmentRow
			if err := query(cmd.Context(), g, "segments", nil, &rows, func(a *app) (any, error) {
				segs, err := a.ix.Segments(cmd.Context())
				rows := make([]SegmentRow, len(segs))
				for i, s := range segs {
					rows[i] = SegmentRow{Segment: s}
				}
				return rows, err
			}); err != nil {
				return err
			}
			printSegmentRows(cmd.OutOrStdout(), rows)
			return nil
		},
	}
	cmd.AddCommand(segmentsRenameCmd(g), segmentsShowCmd(g), segmentsWhyCmd(g))
	return cmd
}

func reclusterCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "recluster",
		Short: "Ask the running worker to re-cluster all events now and print the new segments",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var segs []attune.Segment
			if err := askWorker(cmd, g, "recluster", &segs); err != nil {
				return err
			}
			printSegments(cmd.OutOrStdout(), segs)
			return nil
		},
	}
}

// query asks a running worker over NATS; when no worker runs, it opens the
// index on disk itself and calls local.
func query(ctx context.Context, g *globals, verb string, req, out any, local func(*app) (any, error)) error {
	cfg, log, err := g.load()
	if err != nil {
		return err
	}
	a := newApp(cfg, log)
	defer a.Close()
	if err := a.connectNATS(ctx, false); err == nil {
		cctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		err := ingest.Control(cctx, a.nc, verb, req, out)
		if !errors.Is(err, ingest.ErrNoWorker) {
			return err
		}
	}
	if _, err := os.Stat(cfg.indexDir()); err != nil {
		return fmt.Errorf("no worker answers and no index at %s: %w", cfg.indexDir(), err)
	}
	if err := a.openStores(); err != nil {
		return err
	}
	res, err := local(a)
	if err != nil {
		return err
	}
	switch o := out.(type) {
	case *index.Result:
		*o = *res.(*index.Result)
	case *[]attune.Segment:
		*o = res.([]attune.Segment)
	case *[]SegmentRow:
		*o = res.([]SegmentRow)
	}
	return nil
}

func printHits(w io.Writer, res *index.Result) {
	fmt.Fprintf(w, "%d hits (%s)\n", res.Total, res.Took.Round(time.Millisecond))
	for _, h := range res.Hits {
		seg := h.SegmentName
		if seg == "" {
			seg = "-"
		}
		text := h.Text
		if h.Snippet != "" {
			text = plainSnippet(h.Snippet, isTerminal(w))
		}
		fmt.Fprintf(w, "  %-20s %-9s %+.2f  [%s]  %s\n", h.ID, h.Label, h.Sentiment, seg, oneLine(text, 140))
	}
}

func printSegments(w io.Writer, segs []attune.Segment) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSIZE\tCUSTOMERS\tSENTIMENT\tTOP TERMS\tEXEMPLAR")
	for _, s := range segs {
		ex := ""
		if len(s.Exemplars) > 0 {
			ex = oneLine(s.Exemplars[0], 70)
		}
		terms := s.TopTerms
		if len(terms) > 5 {
			terms = terms[:5]
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%+.2f\t%s\t%s\n", s.ID, s.Name, s.Size, s.Customers, s.MeanSentiment, strings.Join(terms, ", "), ex)
	}
	tw.Flush()
}

// plainSnippet turns the index's HTML snippet into terminal text: matches in
// bold on a terminal, unmarked otherwise.
func plainSnippet(s string, tty bool) string {
	on, off := "", ""
	if tty {
		on, off = "\x1b[1m", "\x1b[0m"
	}
	s = strings.NewReplacer("<mark>", on, "</mark>", off).Replace(s)
	return html.UnescapeString(s)
}

// isTerminal reports whether w is an interactive terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func statsCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "stats",
		Short: "Print the running worker's counters: received, indexed, dead-lettered, retried",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var s stats
			if err := askWorker(cmd, g, "stats", &s); err != nil {
				return err
			}
			return printYAML(cmd.OutOrStdout(), s)
		},
	}
}

// clientApp loads the configuration and connects to NATS without starting an
// embedded server: what commands that talk to a running worker need.
func clientApp(cmd *cobra.Command, g *globals) (*app, error) {
	cfg, log, err := g.load()
	if err != nil {
		return nil, err
	}
	a := newApp(cfg, log)
	if err := a.connectNATS(cmd.Context(), false); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// askWorker sends a control request with no body to the running worker and
// decodes its result into out.
func askWorker(cmd *cobra.Command, g *globals, verb string, out any) error {
	a, err := clientApp(cmd, g)
	if err != nil {
		return err
	}
	defer a.Close()
	return ingest.Control(cmd.Context(), a.nc, verb, nil, out)
}
