package main

import (
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/attune-cx/attune"
	"github.com/attune-cx/attune/cluster"
)

// segmentState is the current segment model and the lock that orders
// changes to it against ingestion and re-clustering.
type segmentState interface {
	// Model returns the current model, nil before the first fit.
	Model(ctx context.Context) (*cluster.Model, error)
	// Update runs fn under the write lock with the current model; a non-nil
	// model fn returns becomes current, even when fn also fails (it has been
	// stored by then).
	Update(ctx context.Context, fn func(ctx context.Context, cur *cluster.Model) (*cluster.Model, error)) error
}

// workerState is the worker's pipeline: renames and erasures wait for a
// re-cluster in progress (fitMu, or the fit would bring back a name or an
// exemplar from before) and exclude batches (mu), exactly as swapping the
// model does.
type workerState struct{ p *pipeline }

func (s workerState) Model(context.Context) (*cluster.Model, error) {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	return s.p.model, nil
}

func (s workerState) Update(ctx context.Context, fn func(context.Context, *cluster.Model) (*cluster.Model, error)) error {
	s.p.fitMu.Lock()
	defer s.p.fitMu.Unlock()
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	prev := s.p.model
	m, err := fn(ctx, prev)
	if m != nil {
		s.p.model = m
		if s.p.shared != nil && m != prev {
			// Renames and erased exemplars reach every worker.
			err = errors.Join(err, s.p.shared.publishLocal(ctx, m))
		}
	}
	return err
}

// segmentRenamer is a segmentState with a rename path of its own. The
// worker's is the pipeline's, the one the control verb takes: stored,
// re-indexed, and published on attune.segments.updated for the services that
// follow segment names.
type segmentRenamer interface {
	Rename(ctx context.Context, ref, name string) (attune.Segment, error)
}

// Rename renames the segment with id or name ref through the pipeline.
func (s workerState) Rename(ctx context.Context, ref, name string) (attune.Segment, error) {
	s.p.mu.Lock()
	cur := s.p.model
	s.p.mu.Unlock()
	if cur == nil {
		return attune.Segment{}, notFound("no segments yet: they are fitted after cluster.min_events events")
	}
	return s.p.RenameSegment(ctx, resolveSegment(cur, ref), name)
}

// storeState is `attune serve` without a worker: the stored model, and a
// lock among this process's requests (no other process can open the store).
type storeState struct {
	store *cluster.Store
	mu    sync.Mutex
}

func (s *storeState) Model(context.Context) (*cluster.Model, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.store.LoadModel()
}

func (s *storeState) Update(ctx context.Context, fn func(context.Context, *cluster.Model) (*cluster.Model, error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.store.LoadModel()
	if err != nil {
		return err
	}
	_, err = fn(ctx, m)
	return err
}

// segmentStats is what the segment endpoints show beyond the model: every
// stored event assigned with the current model, summarised per segment and
// per customer. One pass over the store computes it for all segments.
type segmentStats struct {
	model    *cluster.Model
	events   int
	profiles []cluster.Profile
	// members holds each segment's customers (their latest event is in it),
	// sorted by id.
	members  map[string][]memberRow
	trend    map[string][]trendBucket
	interval string
	at       time.Time
}

// memberRow is one customer of a segment, as exported.
type memberRow struct {
	Customer    string    `json:"customer_id"`
	SegmentID   string    `json:"segment_id"`
	SegmentName string    `json:"segment_name"`
	Events      int       `json:"events"`
	InSegment   int       `json:"events_in_segment"`
	Sentiment   float64   `json:"mean_sentiment"`
	First       time.Time `json:"first,omitzero"`
	Last        time.Time `json:"last,omitzero"`
	MeanRating  *float64  `json:"mean_rating,omitempty"`
	Monetary    *float64  `json:"monetary,omitempty"`
	Engagement  *float64  `json:"engagement,omitempty"`
}

// trendBucket is one time window of a segment's events.
type trendBucket struct {
	Start         time.Time `json:"start"`
	Events        int       `json:"events"`
	MeanSentiment float64   `json:"mean_sentiment"`
}

func (st *segmentStats) find(ref string) (cluster.Profile, bool) {
	for _, p := range st.profiles {
		if p.ID == ref {
			return p, true
		}
	}
	for _, p := range st.profiles {
		if p.Name == ref {
			return p, true
		}
	}
	return cluster.Profile{}, false
}

func (st *segmentStats) view(p cluster.Profile) segmentView {
	return segmentView{
		Profile:     p,
		Members:     len(st.members[p.ID]),
		Interval:    st.interval,
		Trend:       nonNil(st.trend[p.ID]),
		Explanation: explain(p),
	}
}

// statsCache recomputes segmentStats when the model or the number of stored
// events changed, but not more often than every few times its own cost, so
// that a busy worker is not re-read on every request.
type statsCache struct {
	store *cluster.Store
	state segmentState

	mu   sync.Mutex
	cur  *segmentStats
	cost time.Duration
}

func (c *statsCache) invalidate() {
	c.mu.Lock()
	c.cur = nil
	c.mu.Unlock()
}

func (c *statsCache) get(ctx context.Context) (*segmentStats, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, err := c.state.Model(ctx)
	if err != nil {
		return nil, err
	}
	n, err := c.store.Len()
	if err != nil {
		return nil, err
	}
	if cur := c.cur; cur != nil {
		fresh := cur.model == m && cur.events == n
		minAge := max(10*time.Second, 5*c.cost)
		if fresh || time.Since(cur.at) < minAge && cur.model == m {
			return cur, nil
		}
	}
	start := time.Now()
	st, err := computeStats(ctx, c.store, m)
	if err != nil {
		return nil, err
	}
	c.cur, c.cost = st, time.Since(start)
	return st, nil
}

func computeStats(ctx context.Context, store *cluster.Store, m *cluster.Model) (*segmentStats, error) {
	st := &segmentStats{model: m, at: time.Now(), members: map[string][]memberRow{}, trend: map[string][]trendBucket{}}
	if m == nil {
		n, err := store.Len()
		st.events = n
		return st, err
	}
	pts, err := store.Points(ctx)
	if err != nil {
		return nil, err
	}
	st.events = len(pts)
	st.profiles = m.Profiles(pts)

	type latest struct {
		seg string
		ts  time.Time
	}
	type custAcc struct {
		c      attune.Customer
		latest latest
		n      map[string]int
		sent   map[string]float64
	}
	custs := map[string]*custAcc{}
	segOf := make([]string, len(pts))
	var lo, hi time.Time
	for i, pt := range pts {
		seg := m.Assign(pt).ID
		segOf[i] = seg
		if seg == "" {
			continue
		}
		cid := pt.Doc.Event.CustomerID
		if cid == "" {
			cid = "event:" + pt.Doc.Event.ID
		}
		a := custs[cid]
		if a == nil {
			a = &custAcc{c: pt.Customer, n: map[string]int{}, sent: map[string]float64{}}
			custs[cid] = a
		}
		a.n[seg]++
		a.sent[seg] += pt.Doc.Analysis.Sentiment.Score
		if ts := pt.Doc.Event.TS; a.latest.seg == "" || !ts.Before(a.latest.ts) {
			a.latest = latest{seg, ts}
		}
		if ts := pt.Doc.Event.TS; !ts.IsZero() {
			if lo.IsZero() || ts.Before(lo) {
				lo = ts
			}
			if ts.After(hi) {
				hi = ts
			}
		}
	}
	names := map[string]string{}
	for _, c := range m.Clusters {
		names[c.ID] = c.Name
	}
	for cid, a := range custs {
		seg := a.latest.seg
		row := memberRow{
			Customer: cid, SegmentID: seg, SegmentName: names[seg],
			Events: int(a.c.Frequency), InSegment: a.n[seg], Sentiment: a.sent[seg] / float64(a.n[seg]),
			First: a.c.First, Last: a.c.Last,
		}
		if a.c.Ratings > 0 {
			r := a.c.RatingSum / a.c.Ratings
			row.MeanRating = &r
		}
		if a.c.HasMonetary {
			row.Monetary = &a.c.Monetary
		}
		if a.c.HasEngagement {
			row.Engagement = &a.c.Engagement
		}
		st.members[seg] = append(st.members[seg], row)
	}
	for _, rows := range st.members {
		slices.SortFunc(rows, func(a, b memberRow) int { return cmp.Compare(a.Customer, b.Customer) })
	}

	// Trend: windows of one width for every segment, so they compare.
	if lo.IsZero() {
		return st, nil
	}
	width, name := trendInterval(hi.Sub(lo))
	st.interval = name
	start := lo.UTC().Truncate(width)
	nb := int(hi.UTC().Sub(start)/width) + 1
	type acc struct {
		n   int
		sum float64
	}
	per := map[string][]acc{}
	for i, pt := range pts {
		seg, ts := segOf[i], pt.Doc.Event.TS
		if seg == "" || ts.IsZero() {
			continue
		}
		b := per[seg]
		if b == nil {
			b = make([]acc, nb)
			per[seg] = b
		}
		j := int(ts.UTC().Sub(start) / width)
		b[j].n++
		b[j].sum += pt.Doc.Analysis.Sentiment.Score
	}
	for seg, bs := range per {
		out := make([]trendBucket, nb)
		for j, b := range bs {
			out[j] = trendBucket{Start: start.Add(time.Duration(j) * width), Events: b.n}
			if b.n > 0 {
				out[j].MeanSentiment = round3(b.sum / float64(b.n))
			}
		}
		st.trend[seg] = out
	}
	return st, nil
}

// trendInterval picks the window width for a span: the finest of hour, 6
// hours, day, week and 30 days that gives at most 60 windows.
func trendInterval(span time.Duration) (time.Duration, string) {
	for _, c := range []struct {
		d    time.Duration
		name string
	}{
		{time.Hour, "hour"}, {6 * time.Hour, "6h"}, {24 * time.Hour, "day"},
		{7 * 24 * time.Hour, "week"}, {30 * 24 * time.Hour, "30d"},
	} {
		if span/c.d < 60 {
			return c.d, c.name
		}
	}
	return 365 * 24 * time.Hour, "year"
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// explain words what sets a segment apart, strongest first.
func explain(p cluster.Profile) []string {
	var out []string
	switch z := p.SentimentZ; {
	case z <= -0.5:
		out = append(out, fmt.Sprintf("Much more negative than average (sentiment %.2f, %.1f sd below the mean).", p.MeanSentiment, -z))
	case z >= 0.5:
		out = append(out, fmt.Sprintf("Much more positive than average (sentiment %.2f, %.1f sd above the mean).", p.MeanSentiment, z))
	default:
		out = append(out, fmt.Sprintf("Sentiment close to average (%.2f).", p.MeanSentiment))
	}
	for i, a := range p.Aspects {
		if i == 3 || a.Lift < 1.5 {
			break
		}
		out = append(out, fmt.Sprintf("Talks about %s %.1f× as often as average (%.0f%% of its texts, sentiment %.2f).", strings.ReplaceAll(a.Aspect, "_", " "), a.Lift, 100*a.Share, a.MeanSentiment))
	}
	for _, b := range p.Behavior {
		if math.Abs(b.Z) >= 0.5 {
			dir := "higher"
			if b.Z < 0 {
				dir = "lower"
			}
			out = append(out, fmt.Sprintf("Customers' %s is %s than average (%.2g vs %.2g).", b.Name, dir, b.Mean, b.PopulationMean))
		}
	}
	if len(p.TopTerms) > 0 {
		n := min(5, len(p.TopTerms))
		out = append(out, fmt.Sprintf("Typical words: %s.", strings.Join(p.TopTerms[:n], ", ")))
	}
	return out
}

// members streams a segment's customers as CSV, JSON Lines, or one JSON page
// (format=json, with limit and offset, for the UI).
func (s *apiServer) members(w http.ResponseWriter, r *http.Request) error {
	v := r.URL.Query()
	format := v.Get("format")
	if format == "" {
		format = "jsonl"
	}
	if format != "csv" && format != "jsonl" && format != "json" {
		return badRequest("format %q: want csv, jsonl or json", format)
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
	st, err := s.stats.get(ctx)
	cancel()
	if err != nil {
		return err
	}
	p, ok := st.find(r.PathValue("id"))
	if !ok {
		return notFound("no segment %q (give its id or its name)", r.PathValue("id"))
	}
	rows := st.members[p.ID]
	if format == "json" {
		limit, err := s.pageSize(v)
		if err != nil {
			return err
		}
		offset, err := optInt(v, "offset", 0)
		if err != nil {
			return err
		}
		page := rows[min(offset, len(rows)):min(offset+limit, len(rows))]
		writeJSON(w, http.StatusOK, map[string]any{"total": len(rows), "limit": limit, "offset": offset, "members": nonNil(page)})
		return nil
	}

	file := safeFileName(p.Name) + "-members." + format
	w.Header().Set("Content-Disposition", `attachment; filename="`+file+`"`)
	w.Header().Set("Cache-Control", "no-store")
	flusher, _ := w.(http.Flusher)
	const flushEvery = 500
	if format == "jsonl" {
		w.Header().Set("Content-Type", "application/x-ndjson; charset=utf-8")
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for i, row := range rows {
			if err := enc.Encode(row); err != nil {
				return err
			}
			if flusher != nil && i%flushEvery == flushEvery-1 {
				flusher.Flush()
			}
			if err := r.Context().Err(); err != nil {
				return err
			}
		}
		return nil
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"customer_id", "segment_id", "segment_name", "events", "events_in_segment", "mean_sentiment", "first", "last", "mean_rating", "monetary", "engagement"})
	for i, row := range rows {
		rec := []string{
			csvSafe(row.Customer), row.SegmentID, csvSafe(row.SegmentName), strconv.Itoa(row.Events), strconv.Itoa(row.InSegment),
			strconv.FormatFloat(row.Sentiment, 'f', 4, 64), fmtTime(row.First), fmtTime(row.Last),
			fmtOpt(row.MeanRating), fmtOpt(row.Monetary), fmtOpt(row.Engagement),
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
		if i%flushEvery == flushEvery-1 {
			cw.Flush()
			if flusher != nil {
				flusher.Flush()
			}
			if err := r.Context().Err(); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe keeps a spreadsheet from running a customer-controlled value as a
// formula (CSV injection): such a value is prefixed with a quote.
func csvSafe(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r') {
		return "'" + s
	}
	return s
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func fmtOpt(x *float64) string {
	if x == nil {
		return ""
	}
	return strconv.FormatFloat(*x, 'f', -1, 64)
}

func safeFileName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "segment"
	}
	return string(b)
}
