package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/attune-cx/attune"
	"github.com/attune-cx/attune/cluster"
	"github.com/attune-cx/attune/ingest"
)

// SegmentRow is one line of `attune segments` (and of the segments control
// reply): the segment and its drift in the latest time window. Embedding
// keeps the JSON a superset of attune.Segment's.
type SegmentRow struct {
	attune.Segment
	// Drift is the segment's window at the latest event time seen; nil
	// when the worker is not running (the table then comes from the index).
	Drift *cluster.Window `json:"drift,omitempty"`
	// Alert names the spikes of that window ("volume +3.1σ"); empty when
	// none.
	Alert string `json:"alert,omitempty"`
}

// SegmentTable returns the current segments, largest first, each with its
// drift in the latest window.
func (p *pipeline) SegmentTable() []SegmentRow {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.model == nil {
		return nil
	}
	latest := p.drift.Latest()
	var rows []SegmentRow
	for _, s := range p.model.Segments() {
		r := SegmentRow{Segment: s}
		if w, ok := latest[s.ID]; ok {
			r.Drift = &w
			r.Alert = alertText(w)
		}
		rows = append(rows, r)
	}
	return rows
}

func alertText(w cluster.Window) string {
	var parts []string
	if w.VolumeSpike {
		parts = append(parts, fmt.Sprintf("volume %+.1fσ", w.VolumeZ))
	}
	if w.SentimentSpike {
		parts = append(parts, fmt.Sprintf("sentiment %+.1fσ", w.SentimentZ))
	}
	return strings.Join(parts, ", ")
}

func printSegmentRows(w io.Writer, rows []SegmentRow) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSIZE\tCUSTOMERS\tSENTIMENT\tWINDOW\tALERT\tTOP TERMS\tEXEMPLAR")
	for _, s := range rows {
		ex := ""
		if len(s.Exemplars) > 0 {
			ex = oneLine(s.Exemplars[0], 60)
		}
		terms := s.TopTerms
		if len(terms) > 5 {
			terms = terms[:5]
		}
		win, alert := "-", s.Alert
		if s.Drift != nil {
			win = fmt.Sprintf("%s n=%d", s.Drift.Start.Format("2006-01-02T15"), s.Drift.Count)
		}
		if alert == "" {
			alert = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%+.2f\t%s\t%s\t%s\t%s\n", s.ID, s.Name, s.Size, s.Customers, s.MeanSentiment, win, alert, strings.Join(terms, ", "), ex)
	}
	tw.Flush()
}

// RenameSegment gives segment id a user name that later re-clusters keep
// while the segment keeps its id (see cluster.Model.Rename), stores it, and
// re-indexes the segment's events and the segment table under the new name.
// Memberships and drift are by id and do not change.
func (p *pipeline) RenameSegment(ctx context.Context, id, name string) (attune.Segment, error) {
	p.fitMu.Lock() // a fit in progress would carry the old name over
	defer p.fitMu.Unlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.model == nil {
		return attune.Segment{}, fmt.Errorf("rename %s: no segments yet: %w", id, cluster.ErrUnknownSegment)
	}
	m, err := p.store.RenameSegment(id, name)
	if err != nil {
		return attune.Segment{}, err
	}
	p.model = m
	if p.shared != nil {
		if err := p.shared.publishLocal(ctx, m); err != nil {
			return attune.Segment{}, fmt.Errorf("share the renamed model with the other workers: %w", err)
		}
	}
	// Only the segment's own events carry its name in the index.
	if err := reindexSegment(ctx, p.store, p.ix, m, id); err != nil {
		return attune.Segment{}, fmt.Errorf("re-index segment %s under its new name: %w", id, err)
	}
	segs := m.Segments()
	if err := p.ix.ReplaceSegments(ctx, segs); err != nil {
		return attune.Segment{}, fmt.Errorf("index segments: %w", err)
	}
	p.publishSegments(segs)
	for _, s := range segs {
		if s.ID == id {
			return s, nil
		}
	}
	return attune.Segment{}, fmt.Errorf("rename %s: %w", id, cluster.ErrUnknownSegment)
}

// SegmentDetail is what `attune segments show` prints: the segment's profile
// (size, sentiment, aspects, top terms, behavior against the population,
// exemplars, lineage) and its trend over the latest drift windows.
type SegmentDetail struct {
	cluster.Profile
	Trend []cluster.Window `json:"trend"`
}

// trendWindows is how many windows `segments show` lists.
const trendWindows = 14

// ShowSegment describes segment id (or the segment named id). It reads
// every stored event for the aspect profile.
func (p *pipeline) ShowSegment(ctx context.Context, id string) (SegmentDetail, error) {
	p.mu.Lock()
	m := p.model
	p.mu.Unlock()
	if m == nil {
		return SegmentDetail{}, fmt.Errorf("show %s: no segments yet: %w", id, cluster.ErrUnknownSegment)
	}
	pts, err := p.store.Points(ctx)
	if err != nil {
		return SegmentDetail{}, err
	}
	for _, pr := range m.Profiles(pts) {
		if pr.ID == id || pr.Name == id {
			p.mu.Lock()
			trend := p.drift.Trend(pr.ID, trendWindows)
			p.mu.Unlock()
			return SegmentDetail{Profile: pr, Trend: trend}, nil
		}
	}
	return SegmentDetail{}, fmt.Errorf("show %s: %w", id, cluster.ErrUnknownSegment)
}

// ExplainEvent says why stored event id is in its segment (nearest terms,
// aspects, the blocks of features that pull it in against the runner-up).
func (p *pipeline) ExplainEvent(id string) (cluster.Why, error) {
	p.mu.Lock()
	m := p.model
	p.mu.Unlock()
	pt, ok, err := p.store.Point(id)
	switch {
	case err != nil:
		return cluster.Why{}, err
	case !ok:
		return cluster.Why{}, fmt.Errorf("why %s: %w", id, errUnknownEvent)
	case m == nil:
		return cluster.Why{}, fmt.Errorf("why %s: no segments yet", id)
	}
	return m.Explain(pt)
}

var errUnknownEvent = errors.New("no such event stored")

// segmentControls are the control verbs of segments, for serveControl.
func segmentControls(p *pipeline) map[string]func(context.Context, []byte) (any, error) {
	type req struct {
		ID   string `json:"id"`
		Name string `json:"name,omitempty"`
	}
	parse := func(b []byte) (req, error) {
		var r req
		if err := json.Unmarshal(b, &r); err != nil {
			return r, fmt.Errorf("bad request: %w", err)
		}
		if r.ID == "" {
			return r, errors.New("bad request: no id")
		}
		return r, nil
	}
	return map[string]func(context.Context, []byte) (any, error){
		"segments.rename": func(ctx context.Context, b []byte) (any, error) {
			r, err := parse(b)
			if err != nil {
				return nil, err
			}
			return p.RenameSegment(ctx, r.ID, r.Name)
		},
		"segments.show": func(ctx context.Context, b []byte) (any, error) {
			r, err := parse(b)
			if err != nil {
				return nil, err
			}
			return p.ShowSegment(ctx, r.ID)
		},
		"segments.why": func(ctx context.Context, b []byte) (any, error) {
			r, err := parse(b)
			if err != nil {
				return nil, err
			}
			return p.ExplainEvent(r.ID)
		},
	}
}

// askWorkerWith is askWorker with a request body.
func askWorkerWith(cmd *cobra.Command, g *globals, verb string, req, out any) error {
	a, err := clientApp(cmd, g)
	if err != nil {
		return err
	}
	defer a.Close()
	return ingest.Control(cmd.Context(), a.nc, verb, req, out)
}

func segmentsRenameCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "rename ID NAME",
		Short: "Rename a segment; the name survives re-clustering while the segment keeps its id",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var s attune.Segment
			if err := askWorkerWith(cmd, g, "segments.rename", map[string]string{"id": args[0], "name": args[1]}, &s); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s is now %q\n", s.ID, s.Name)
			return nil
		},
	}
}

func segmentsShowCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Describe a segment: size, sentiment, aspects, top terms, behavior vs population, exemplars, trend",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var d SegmentDetail
			if err := askWorkerWith(cmd, g, "segments.show", map[string]string{"id": args[0]}, &d); err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(d)
			}
			printSegmentDetail(cmd.OutOrStdout(), d)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func segmentsWhyCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "why EVENT_ID",
		Short: "Explain (JSON) why an event is in its segment: nearest terms, aspects, pulling features",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var w cluster.Why
			if err := askWorkerWith(cmd, g, "segments.why", map[string]string{"id": args[0]}, &w); err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(w)
		},
	}
}

func printSegmentDetail(w io.Writer, d SegmentDetail) {
	fmt.Fprintf(w, "%s  %s", d.ID, d.Name)
	if d.UserNamed {
		fmt.Fprint(w, "  (named by a user)")
	}
	fmt.Fprintf(w, "\nsize %d events (%.1f%%), %d customers; mean sentiment %+.2f (%+.1fσ vs all)\n", d.Size, 100*d.Share, d.Customers, d.MeanSentiment, d.SentimentZ)
	fmt.Fprintf(w, "top terms: %s\n", strings.Join(d.TopTerms, ", "))
	if len(d.Aspects) > 0 {
		fmt.Fprintln(w, "aspects (share of texts, lift vs all, sentiment):")
		for _, a := range d.Aspects {
			fmt.Fprintf(w, "  %-16s %5.1f%%  ×%.1f  %+.2f\n", a.Aspect, 100*a.Share, a.Lift, a.MeanSentiment)
		}
	}
	if len(d.Behavior) > 0 {
		fmt.Fprintln(w, "behavior (segment mean vs population mean):")
		for _, b := range d.Behavior {
			fmt.Fprintf(w, "  %-16s %10.2f vs %10.2f  (%+.1fσ)\n", b.Name, b.Mean, b.PopulationMean, b.Z)
		}
	}
	if len(d.Exemplars) > 0 {
		fmt.Fprintln(w, "exemplars (closest to the centre):")
		for _, e := range d.Exemplars {
			fmt.Fprintf(w, "  - %s\n", oneLine(e, 140))
		}
	}
	if d.Lineage != nil {
		fmt.Fprintf(w, "lineage: %s", d.Lineage.Kind)
		for _, f := range d.Lineage.From {
			fmt.Fprintf(w, "  %s (%.0f%%)", f.ID, 100*f.Share)
		}
		fmt.Fprintln(w)
	}
	if len(d.Trend) > 0 {
		fmt.Fprintln(w, "trend (window start, events, mean sentiment, volume z, sentiment z):")
		for _, t := range d.Trend {
			mark := ""
			if t.VolumeSpike || t.SentimentSpike {
				mark = "  ALERT " + alertText(t)
			}
			fmt.Fprintf(w, "  %s %6d  %+.2f  %+5.1f  %+5.1f%s\n", t.Start.Format("2006-01-02T15:04"), t.Count, t.MeanSentiment, t.VolumeZ, nanTo0(t.SentimentZ), mark)
		}
	}
}

func nanTo0(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return v
}

// attitudeBands are the attitude bands for the configured sentiment scorer.
func attitudeBands(scorer string) cluster.Bands {
	if scorer == "lexicon" {
		return cluster.LexiconBands
	}
	return cluster.ModelBands
}
