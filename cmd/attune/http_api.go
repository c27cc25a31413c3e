package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/attune-cx/attune"
	"github.com/attune-cx/attune/cluster"
	"github.com/attune-cx/attune/index"
)

// searchParams are the query parameters GET /api/search takes.
var searchParams = []string{
	"q", "segment", "label", "source", "customer", "aspect", "aspect_label", "language",
	"sentiment_min", "sentiment_max", "from", "to", "facets", "facet_size",
	"sort", "order", "limit", "offset",
}

// parseSearch turns the query parameters into an index.Query, refusing
// unknown parameters (a typo would otherwise silently widen the search),
// values over the configured limits, and malformed numbers and times. The
// index validates the rest (labels, facet names, sort keys, paging depth).
func (s *apiServer) parseSearch(v url.Values) (index.Query, error) {
	var q index.Query
	for k, vs := range v {
		if !slices.Contains(searchParams, k) {
			return q, badRequest("unknown parameter %q (want one of %s)", k, strings.Join(searchParams, ", "))
		}
		if len(vs) > 1 {
			return q, badRequest("parameter %q given %d times; give it once", k, len(vs))
		}
		if n := len(vs[0]); n > s.cfg.MaxQueryBytes {
			return q, badRequest("parameter %q is %d bytes, at most %d allowed (http.max_query_bytes)", k, n, s.cfg.MaxQueryBytes)
		}
		if !utf8.ValidString(vs[0]) {
			return q, badRequest("parameter %q is not valid UTF-8", k)
		}
	}
	q.Text = strings.TrimSpace(v.Get("q"))
	q.Segment, q.Label, q.Source = v.Get("segment"), v.Get("label"), v.Get("source")
	q.Customer, q.Aspect, q.AspectLabel, q.Language = v.Get("customer"), v.Get("aspect"), v.Get("aspect_label"), v.Get("language")
	q.Sort, q.Order = v.Get("sort"), v.Get("order")
	var err error
	if q.SentimentMin, err = optFloat(v, "sentiment_min"); err != nil {
		return q, err
	}
	if q.SentimentMax, err = optFloat(v, "sentiment_max"); err != nil {
		return q, err
	}
	if q.From, err = optTime(v, "from"); err != nil {
		return q, err
	}
	if q.To, err = optTime(v, "to"); err != nil {
		return q, err
	}
	if f := v.Get("facets"); f != "" {
		for _, name := range strings.Split(f, ",") {
			if name = strings.TrimSpace(name); name != "" {
				q.Facets = append(q.Facets, name)
			}
		}
	}
	if q.FacetSize, err = optInt(v, "facet_size", 0); err != nil {
		return q, err
	}
	if q.Limit, err = s.pageSize(v); err != nil {
		return q, err
	}
	if q.Offset, err = optInt(v, "offset", 0); err != nil {
		return q, err
	}
	return q, nil
}

// pageSize reads limit: default 20, at most http.max_page_size.
func (s *apiServer) pageSize(v url.Values) (int, error) {
	n, err := optInt(v, "limit", 20)
	if err != nil {
		return 0, err
	}
	if n < 1 || n > s.cfg.MaxPageSize {
		return 0, badRequest("limit %d is outside 1..%d (http.max_page_size)", n, s.cfg.MaxPageSize)
	}
	return n, nil
}

func optInt(v url.Values, name string, def int) (int, error) {
	s := strings.TrimSpace(v.Get(name))
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, badRequest("%s %q is not a whole number", name, s)
	}
	if n < 0 {
		return 0, badRequest("%s %d is negative", name, n)
	}
	return n, nil
}

func optFloat(v url.Values, name string) (*float64, error) {
	s := strings.TrimSpace(v.Get(name))
	if s == "" {
		return nil, nil
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, badRequest("%s %q is not a number", name, s)
	}
	return &x, nil
}

// optTime accepts RFC 3339 or a date (midnight UTC).
func optTime(v url.Values, name string) (time.Time, error) {
	s := strings.TrimSpace(v.Get(name))
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, badRequest("%s %q is not an RFC 3339 time or a YYYY-MM-DD date", name, s)
}

func (s *apiServer) search(w http.ResponseWriter, r *http.Request) error {
	q, err := s.parseSearch(r.URL.Query())
	if err != nil {
		return err
	}
	search := s.ix.Search
	if s.searchFn != nil {
		search = s.searchFn
	}
	res, err := search(r.Context(), q)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, searchResponse{
		Total: res.Total, Hits: nonNil(res.Hits), Facets: res.Facets,
		Limit: q.Limit, Offset: q.Offset, TookMS: float64(res.Took.Microseconds()) / 1000,
	})
	return nil
}

type searchResponse struct {
	Total  uint64                 `json:"total"`
	Limit  int                    `json:"limit"`
	Offset int                    `json:"offset"`
	Hits   []index.Hit            `json:"hits"`
	Facets map[string]index.Facet `json:"facets,omitempty"`
	TookMS float64                `json:"took_ms"`
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// segments lists every segment with its profile and trend.
func (s *apiServer) segments(w http.ResponseWriter, r *http.Request) error {
	st, err := s.stats.get(r.Context())
	if err != nil {
		return err
	}
	out := segmentsResponse{Segments: []segmentView{}, Events: st.events}
	if st.model != nil {
		out.FittedAt = st.model.FittedAt
		for _, p := range st.profiles {
			out.Segments = append(out.Segments, st.view(p))
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type segmentsResponse struct {
	Segments []segmentView `json:"segments"`
	// FittedAt is when the current segments were fitted; absent before the
	// first fit.
	FittedAt time.Time `json:"fitted_at,omitzero"`
	// Events is how many events are stored.
	Events int `json:"events"`
}

// segmentView is a segment as the API shows it: the model's profile (size,
// sentiment, terms, exemplars, aspects, behavior, lineage), its members and
// trend as of the stored events, and a plain-language explanation.
type segmentView struct {
	cluster.Profile
	// Members is how many customers the segment holds now: customers whose
	// latest event is in it.
	Members int `json:"members"`
	// Trend is the volume and mean sentiment of the segment's events per
	// time window (Interval), oldest first.
	Interval string        `json:"interval,omitempty"`
	Trend    []trendBucket `json:"trend"`
	// Explanation says in words what sets the segment apart.
	Explanation []string `json:"explanation"`
}

func (s *apiServer) segment(w http.ResponseWriter, r *http.Request) error {
	st, err := s.stats.get(r.Context())
	if err != nil {
		return err
	}
	p, ok := st.find(r.PathValue("id"))
	if !ok {
		return notFound("no segment %q (give its id or its name)", r.PathValue("id"))
	}
	writeJSON(w, http.StatusOK, st.view(p))
	return nil
}

// renameRequest is the body of PUT /api/segments/{id}/name.
type renameRequest struct {
	Name string `json:"name"`
}

func (s *apiServer) rename(w http.ResponseWriter, r *http.Request) error {
	var req renameRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	id := r.PathValue("id")
	if rn, ok := s.state.(segmentRenamer); ok {
		seg, err := rn.Rename(r.Context(), id, req.Name)
		if err != nil {
			return err
		}
		s.stats.invalidate()
		writeJSON(w, http.StatusOK, map[string]any{"id": seg.ID, "name": seg.Name})
		return nil
	}
	var seg attune.Segment
	err := s.state.Update(r.Context(), func(ctx context.Context, cur *cluster.Model) (*cluster.Model, error) {
		if cur == nil {
			return nil, notFound("no segments yet: they are fitted after cluster.min_events events")
		}
		id = resolveSegment(cur, id)
		m, err := s.store.RenameSegment(id, req.Name)
		if err != nil {
			return nil, err
		}
		// The model is stored; from here on the new name is the truth and
		// a failure below is repaired by retrying the rename (same name)
		// or by the next re-cluster.
		for _, c := range m.Clusters {
			if c.ID == id {
				seg = c
			}
		}
		if err := reindexSegment(ctx, s.store, s.ix, m, id); err != nil {
			return m, err
		}
		if err := s.ix.ReplaceSegments(ctx, m.Segments()); err != nil {
			return m, fmt.Errorf("index segments: %w", err)
		}
		return m, nil
	})
	if err != nil {
		return err
	}
	s.stats.invalidate()
	writeJSON(w, http.StatusOK, map[string]any{"id": seg.ID, "name": seg.Name})
	return nil
}

// resolveSegment returns the id of the segment named or numbered ref in m,
// or ref itself when m holds neither (the caller reports it unknown).
func resolveSegment(m *cluster.Model, ref string) string {
	for _, c := range m.Clusters {
		if c.ID == ref {
			return ref
		}
	}
	for _, c := range m.Clusters {
		if c.Name == ref {
			return c.ID
		}
	}
	return ref
}

// reindexSegment rewrites the index documents of segment id's events so
// that they carry the segment's new name. The caller holds the segment
// lock, so no batch is assigned meanwhile.
func reindexSegment(ctx context.Context, store *cluster.Store, ix *index.Index, m *cluster.Model, id string) error {
	pts, err := store.Points(ctx)
	if err != nil {
		return err
	}
	var docs []attune.Doc
	for _, pt := range pts {
		seg := m.Assign(pt)
		if seg.ID != id {
			continue
		}
		d := pt.Doc
		d.SegmentID, d.SegmentName = seg.ID, seg.Name
		docs = append(docs, d)
		if len(docs) == 1000 {
			if err := ix.IndexDocs(ctx, docs); err != nil {
				return fmt.Errorf("re-index renamed segment: %w", err)
			}
			docs = docs[:0]
		}
	}
	if err := ix.IndexDocs(ctx, docs); err != nil {
		return fmt.Errorf("re-index renamed segment: %w", err)
	}
	return nil
}

// customerView is GET /api/customers/{id}.
type customerView struct {
	Customer attune.Customer `json:"customer"`
	// Segment is the customer's current segment: that of their latest
	// event. Empty before the first fit.
	SegmentID   string          `json:"segment_id,omitempty"`
	SegmentName string          `json:"segment_name,omitempty"`
	Events      []customerEvent `json:"events"`
}

type customerEvent struct {
	Event       attune.Event             `json:"event"`
	Sentiment   attune.Sentiment         `json:"sentiment"`
	Language    string                   `json:"language,omitempty"`
	Aspects     []attune.AspectSentiment `json:"aspects,omitempty"`
	SegmentID   string                   `json:"segment_id,omitempty"`
	SegmentName string                   `json:"segment_name,omitempty"`
	Why         *cluster.Why             `json:"why,omitempty"`
}

func (s *apiServer) customer(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	c, ok, err := s.store.Customer(id)
	if err != nil {
		return err
	}
	if !ok {
		return notFound("no customer %q", id)
	}
	docs, err := s.store.CustomerDocs(id)
	if err != nil {
		return err
	}
	m, err := s.state.Model(r.Context())
	if err != nil {
		return err
	}
	out := customerView{Customer: c, Events: make([]customerEvent, 0, len(docs))}
	for _, d := range docs {
		ev := customerEvent{Event: d.Event, Sentiment: d.Analysis.Sentiment, Language: d.Analysis.Language, Aspects: d.Analysis.Aspects}
		if m != nil {
			vec, err := s.store.Vector(d.Event.ID)
			if err != nil {
				return err
			}
			if why, err := m.Explain(cluster.Point{Doc: d, Vec: vec, Customer: c}); err == nil {
				ev.SegmentID, ev.SegmentName, ev.Why = why.SegmentID, why.SegmentName, &why
			}
		}
		out.Events = append(out.Events, ev)
	}
	// Newest first; the customer's segment is their latest event's.
	slices.SortStableFunc(out.Events, func(a, b customerEvent) int { return b.Event.TS.Compare(a.Event.TS) })
	if len(out.Events) > 0 {
		out.SegmentID, out.SegmentName = out.Events[0].SegmentID, out.Events[0].SegmentName
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// erasure is the reply of DELETE /api/customers/{id}: what was removed.
type erasure struct {
	Customer string `json:"customer"`
	// Found is false when nothing was stored for the customer (an erasure
	// repeated, say); the request still succeeds.
	Found          bool `json:"found"`
	Events         int  `json:"events"`
	IndexDocs      int  `json:"index_docs"`
	CacheEntries   int  `json:"cache_entries"`
	StreamMessages int  `json:"stream_messages"`
	// ExemplarsRemoved is true when segment exemplars quoted the customer.
	ExemplarsRemoved bool `json:"exemplars_removed"`
	// Notes say what this process could not reach.
	Notes []string `json:"notes,omitempty"`
}

// erase removes everything held about a customer. The order makes a failed
// erasure safe to retry: the store, which lists the customer's events, goes
// last, so a retry still finds what the steps before it need.
func (s *apiServer) erase(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if strings.TrimSpace(id) == "" {
		return badRequest("empty customer id")
	}
	out := erasure{Customer: id}
	err := s.state.Update(r.Context(), func(ctx context.Context, cur *cluster.Model) (*cluster.Model, error) {
		docs, err := s.store.CustomerDocs(id)
		if err != nil {
			return nil, err
		}
		ids := make([]string, len(docs))
		texts := make([]string, 0, len(docs))
		for i, d := range docs {
			ids[i] = d.Event.ID
			texts = append(texts, d.Analysis.Clean)
		}
		if s.forget != nil {
			if out.CacheEntries, err = s.forget(ctx, texts); err != nil {
				return nil, fmt.Errorf("erase cached vectors: %w", err)
			}
		} else {
			out.Notes = append(out.Notes, "no vector cache is open in this process; cached vectors are keyed by text hash and leave the cache by eviction")
		}
		if out.IndexDocs, err = s.ix.DeleteCustomer(ctx, id); err != nil {
			return nil, fmt.Errorf("erase index documents: %w", err)
		}
		if s.purge != nil {
			if out.StreamMessages, err = s.purge(ctx, id, ids); err != nil {
				return nil, fmt.Errorf("erase stream messages: %w", err)
			}
		} else {
			out.Notes = append(out.Notes, "no NATS connection in this process: raw events in the JetStream streams were not purged; erase through the worker's API")
		}
		if s.eraseShared != nil {
			// Before the local store, which lists the events: a failure
			// here is retried with the same list.
			k, n, err := s.eraseShared(ctx, id, ids)
			out.IndexDocs += k
			if err != nil {
				return nil, fmt.Errorf("erase at the other workers: %w", err)
			}
			out.Notes = append(out.Notes, fmt.Sprintf("also erased by %d other workers (cluster.shared)", n))
		}
		er, err := s.store.EraseCustomer(id)
		if err != nil {
			return nil, err
		}
		out.Found = len(er.Docs) > 0 || len(docs) > 0 || out.IndexDocs > 0
		out.Events = len(er.Docs)
		m := cur
		if er.Model != nil {
			m, out.ExemplarsRemoved = er.Model, true
		}
		if m != nil {
			// Always rewrite the segment documents, so a retry repairs an
			// earlier erasure that stopped after the store.
			if err := s.ix.ReplaceSegments(ctx, m.Segments()); err != nil {
				return m, fmt.Errorf("erase exemplars from the index: %w", err)
			}
		}
		return m, nil
	})
	if err != nil {
		return err
	}
	s.stats.invalidate()
	s.log.Info("customer erased", "customer", id, "events", out.Events, "index_docs", out.IndexDocs,
		"cache_entries", out.CacheEntries, "stream_messages", out.StreamMessages)
	writeJSON(w, http.StatusOK, out)
	return nil
}
