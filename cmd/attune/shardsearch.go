package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/attune-cx/attune/index"
	"github.com/attune-cx/attune/ingest"
)

// shardQuery asks one worker's shard for the first Window hits of Query
// (Query.Offset and Limit are ignored), with its facets.
type shardQuery struct {
	Query  index.Query `json:"query"`
	Window int         `json:"window"`
}

type shardReply struct {
	Worker string        `json:"worker"`
	Error  string        `json:"error,omitempty"`
	Result *index.Result `json:"result,omitempty"`
}

// shardWait bounds how long a search waits for the shards' answers.
const shardWait = 10 * time.Second

// search searches this worker's index, or, with shared state, every
// worker's shard, merged.
func (a *app) search(ctx context.Context, p *pipeline, q index.Query) (*index.Result, error) {
	if p == nil || p.shared == nil {
		return a.ix.Search(ctx, q)
	}
	return p.shared.search(ctx, q)
}

// serveShardSearch answers a shardQuery over this worker's index.
func (s *sharedState) serveShardSearch(msg *nats.Msg) {
	ctx, cancel := context.WithTimeout(context.Background(), shardWait)
	defer cancel()
	rep := shardReply{Worker: s.id}
	var sq shardQuery
	if err := json.Unmarshal(msg.Data, &sq); err != nil {
		rep.Error = fmt.Sprintf("bad shard search: %v", err)
	} else if res, err := shardSearch(ctx, s.p.ix, sq); err != nil {
		rep.Error = err.Error()
	} else {
		rep.Result = res
	}
	b, _ := json.Marshal(rep)
	if err := msg.Respond(b); err != nil {
		s.log.Warn("shard search reply failed", "err", err)
	}
}

// shardSearch returns the first sq.Window hits of sq.Query in pages of
// index.MaxLimit, with the facets of the first page.
func shardSearch(ctx context.Context, ix *index.Index, sq shardQuery) (*index.Result, error) {
	q := sq.Query
	q.Offset, q.Limit = 0, min(max(sq.Window, 1), index.MaxLimit)
	res, err := ix.Search(ctx, q)
	if err != nil {
		return res, err
	}
	q.Facets = nil
	for off := q.Limit; off < sq.Window && uint64(off) < res.Total; off += index.MaxLimit {
		q.Offset, q.Limit = off, min(index.MaxLimit, sq.Window-off)
		page, err := ix.Search(ctx, q)
		if err != nil {
			return res, err
		}
		res.Hits = append(res.Hits, page.Hits...)
		res.Took += page.Took
	}
	return res, nil
}

// search scatters q to every worker's shard (ingest.ShardSearch) and merges
// the answers: totals add up, hits are merged in q's order and paged, facet
// counts add up per value. It waits for as many answers as there are live
// workers (their heartbeats), for at most shardWait; a shard that does not
// answer in time is left out, with a warning in the log.
func (s *sharedState) search(ctx context.Context, q index.Query) (*index.Result, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	start := time.Now()
	limit := q.Limit
	if limit == 0 {
		limit = index.DefaultLimit
	}
	sq := shardQuery{Query: q, Window: q.Offset + limit}
	if len(q.Facets) > 0 {
		// Each shard's top values, more than shown, so that a value
		// frequent overall but not in one shard's top is still counted.
		size := cmp.Or(q.FacetSize, index.DefaultFacetSize)
		sq.Query.FacetSize = min(index.MaxFacetSize, 3*size)
	}
	want := 1
	if ws, err := liveWorkers(ctx, s.sh.Workers); err == nil {
		want = max(1, len(ws))
	}
	body, err := json.Marshal(sq)
	if err != nil {
		return nil, err
	}
	inbox := s.nc.NewRespInbox()
	replies := make(chan *nats.Msg, 64)
	sub, err := s.nc.ChanSubscribe(inbox, replies)
	if err != nil {
		return nil, err
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := s.nc.PublishRequest(ingest.ShardSearch, inbox, body); err != nil {
		return nil, fmt.Errorf("ask the shards: %w", err)
	}
	timer := time.NewTimer(shardWait)
	defer timer.Stop()
	var parts []index.Result
	seen := map[string]bool{}
	for len(parts) < want {
		select {
		case m := <-replies:
			var rep shardReply
			if err := json.Unmarshal(m.Data, &rep); err != nil {
				return nil, fmt.Errorf("decode a shard's answer: %w", err)
			}
			if rep.Error != "" {
				// The query was validated here: a shard's failure is its own.
				return nil, fmt.Errorf("search shard of worker %s: %s", rep.Worker, rep.Error)
			}
			if seen[rep.Worker] || rep.Result == nil {
				continue
			}
			seen[rep.Worker] = true
			parts = append(parts, *rep.Result)
		case <-timer.C:
			if len(parts) == 0 {
				return nil, errors.New("no index shard answered the search")
			}
			s.log.Warn("search merged without every shard", "answered", len(parts), "live_workers", want)
			want = len(parts)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	res := mergeResults(q, parts)
	res.Took = time.Since(start)
	return &res, nil
}

// mergeResults merges shard results of q into one page.
func mergeResults(q index.Query, parts []index.Result) index.Result {
	var out index.Result
	for _, p := range parts {
		out.Total += p.Total
		out.Hits = append(out.Hits, p.Hits...)
	}
	sortHits(q, out.Hits)
	limit := cmp.Or(q.Limit, index.DefaultLimit)
	lo := min(q.Offset, len(out.Hits))
	hi := min(lo+limit, len(out.Hits))
	out.Hits = slices.Clip(out.Hits[lo:hi])
	if len(q.Facets) > 0 {
		out.Facets = map[string]index.Facet{}
		size := cmp.Or(q.FacetSize, index.DefaultFacetSize)
		for _, name := range q.Facets {
			var fs []index.Facet
			for _, p := range parts {
				if f, ok := p.Facets[name]; ok {
					fs = append(fs, f)
				}
			}
			switch name {
			case index.FacetSentiment:
				out.Facets[name] = mergeFixed(fs)
			case index.FacetTime:
				out.Facets[name] = mergeTime(fs)
			default:
				out.Facets[name] = mergeTerms(fs, size)
			}
		}
	}
	return out
}

// sortHits orders hits as index.Search does: relevance with query text,
// time without; desc unless asc; events without a time last.
func sortHits(q index.Query, hits []index.Hit) {
	hasText := strings.TrimSpace(q.Text) != ""
	key := q.Sort
	switch {
	case (key == "" || key == index.SortRelevance) && hasText:
		key = index.SortRelevance
	case key == "" || key == index.SortRelevance:
		key = index.SortTime
	}
	asc := q.Order == index.OrderAsc
	slices.SortStableFunc(hits, func(a, b index.Hit) int {
		var c int
		switch key {
		case index.SortRelevance:
			c = cmp.Compare(a.Score, b.Score)
		case index.SortSentiment:
			c = cmp.Compare(a.Sentiment, b.Sentiment)
		default:
			if a.TS.IsZero() != b.TS.IsZero() {
				if a.TS.IsZero() {
					return 1
				}
				return -1
			}
			c = a.TS.Compare(b.TS)
		}
		if !asc {
			c = -c
		}
		// Ties by id, ascending in either order, as the index pages them.
		return cmp.Or(c, cmp.Compare(a.ID, b.ID))
	})
}

// mergeTerms adds term-facet counts per value and keeps the size largest.
func mergeTerms(fs []index.Facet, size int) index.Facet {
	var out index.Facet
	idx := map[string]int{}
	var all []index.Bucket
	total := 0
	for _, f := range fs {
		out.Missing += f.Missing
		total += f.Other
		for _, b := range f.Buckets {
			total += b.Count
			if i, ok := idx[b.Value]; ok {
				all[i].Count += b.Count
				continue
			}
			idx[b.Value] = len(all)
			all = append(all, b)
		}
	}
	slices.SortFunc(all, func(a, b index.Bucket) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Value, b.Value))
	})
	out.Buckets = slices.Clip(all[:min(size, len(all))])
	shown := 0
	for _, b := range out.Buckets {
		shown += b.Count
	}
	out.Other = total - shown
	if out.Buckets == nil {
		out.Buckets = []index.Bucket{}
	}
	return out
}

// mergeFixed adds the counts of fixed buckets (the sentiment bands), in the
// order of the first shard's.
func mergeFixed(fs []index.Facet) index.Facet {
	var out index.Facet
	idx := map[string]int{}
	for _, f := range fs {
		out.Missing += f.Missing
		for _, b := range f.Buckets {
			if i, ok := idx[b.Value]; ok {
				out.Buckets[i].Count += b.Count
				continue
			}
			idx[b.Value] = len(out.Buckets)
			out.Buckets = append(out.Buckets, b)
		}
	}
	return out
}

// intervalRank orders the time facet's intervals, finest first.
var intervalRank = map[string]int{index.IntervalHour: 0, index.IntervalDay: 1, index.IntervalWeek: 2, index.IntervalMonth: 3, index.IntervalYear: 4}

// mergeTime merges time histograms. Each shard chose its interval from its
// own time span; buckets are re-cut to the coarsest interval among them and
// added, empty intervals between the first and the last included.
func mergeTime(fs []index.Facet) index.Facet {
	out := index.Facet{Interval: index.IntervalHour}
	for _, f := range fs {
		out.Missing += f.Missing
		if f.Interval != "" && intervalRank[f.Interval] > intervalRank[out.Interval] {
			out.Interval = f.Interval
		}
	}
	counts := map[time.Time]int{}
	var lo, hi time.Time
	for _, f := range fs {
		for _, b := range f.Buckets {
			t := truncateInterval(b.Start.UTC(), out.Interval)
			counts[t] += b.Count
			if lo.IsZero() || t.Before(lo) {
				lo = t
			}
			if t.After(hi) {
				hi = t
			}
		}
	}
	out.Buckets = []index.Bucket{}
	if lo.IsZero() {
		return out
	}
	for t := lo; !t.After(hi); t = nextInterval(t, out.Interval) {
		out.Buckets = append(out.Buckets, index.Bucket{
			Value: t.Format(time.RFC3339), Count: counts[t], Start: t, End: nextInterval(t, out.Interval),
		})
	}
	return out
}

// truncateInterval and nextInterval cut time as the index's time facet does
// (UTC; weeks start on Monday).
func truncateInterval(t time.Time, interval string) time.Time {
	y, m, d := t.Date()
	switch interval {
	case index.IntervalHour:
		return time.Date(y, m, d, t.Hour(), 0, 0, 0, time.UTC)
	case index.IntervalDay:
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	case index.IntervalWeek:
		back := (int(t.Weekday()) + 6) % 7
		return time.Date(y, m, d-back, 0, 0, 0, 0, time.UTC)
	case index.IntervalMonth:
		return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	}
	return time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
}

func nextInterval(t time.Time, interval string) time.Time {
	switch interval {
	case index.IntervalHour:
		return t.Add(time.Hour)
	case index.IntervalDay:
		return t.AddDate(0, 0, 1)
	case index.IntervalWeek:
		return t.AddDate(0, 0, 7)
	case index.IntervalMonth:
		return t.AddDate(0, 1, 0)
	}
	return t.AddDate(1, 0, 0)
}

// shardErase asks every other worker to erase a customer from its store,
// its index shard and its vector cache (ingest.ShardErase).
type shardEraseReq struct {
	Customer string `json:"customer"`
	From     string `json:"from"` // the asking worker, which erases itself
	ID       string `json:"id"`   // the erasure (its tombstone's id)
}

type shardEraseReply struct {
	Worker    string `json:"worker"`
	Error     string `json:"error,omitempty"`
	Events    int    `json:"events"`
	IndexDocs int    `json:"index_docs"`
}

// eraseShared erases a customer from what the workers share: the points of
// its events in ATTUNE_POINTS first (so no worker replays them again), then
// every other live worker's store and shard. It returns the index documents
// the others deleted and how many workers answered.
func (s *sharedState) eraseShared(ctx context.Context, customer string, eventIDs []string) (docs, workers int, err error) {
	nonce := make([]byte, 8)
	_, _ = rand.Read(nonce)
	ts := tombstone{ID: s.id + "-" + hex.EncodeToString(nonce), Customer: customer, At: time.Now().UTC()}
	s.erasedMu.Lock()
	s.erasedHere[ts.ID] = true // the caller erases here
	s.erasedMu.Unlock()
	// Last, a tombstone for the workers that are stopped now: they apply
	// it when they start, before replaying anything. The live ones skip it
	// (they erased on request, under the same id).
	recordTombstone := func() error {
		tb, _ := json.Marshal(ts)
		if _, err := s.sh.Erased.Put(ctx, ingest.ErasedKey(customer), tb); err != nil {
			return fmt.Errorf("record the erasure for stopped workers: %w", err)
		}
		return nil
	}
	for _, id := range eventIDs {
		if err := s.sh.Points.Purge(ctx, jetstream.WithPurgeSubject(ingest.PointSubject(id))); err != nil {
			return 0, 0, fmt.Errorf("purge shared point of %s: %w", id, err)
		}
	}
	ws, err := liveWorkers(ctx, s.sh.Workers)
	if err != nil {
		return 0, 0, fmt.Errorf("list live workers: %w", err)
	}
	want := 0
	for _, w := range ws {
		if w.ID != s.id {
			want++
		}
	}
	if want == 0 {
		return 0, 0, recordTombstone()
	}
	body, _ := json.Marshal(shardEraseReq{Customer: customer, From: s.id, ID: ts.ID})
	inbox := s.nc.NewRespInbox()
	replies := make(chan *nats.Msg, 64)
	sub, err := s.nc.ChanSubscribe(inbox, replies)
	if err != nil {
		return 0, 0, err
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := s.nc.PublishRequest(ingest.ShardErase, inbox, body); err != nil {
		return 0, 0, fmt.Errorf("ask the other workers to erase: %w", err)
	}
	timer := time.NewTimer(time.Minute)
	defer timer.Stop()
	seen := map[string]bool{}
	for len(seen) < want {
		select {
		case m := <-replies:
			var rep shardEraseReply
			if err := json.Unmarshal(m.Data, &rep); err != nil {
				return docs, len(seen), fmt.Errorf("decode a worker's erasure: %w", err)
			}
			if rep.Worker == s.id || seen[rep.Worker] {
				continue
			}
			if rep.Error != "" {
				return docs, len(seen), fmt.Errorf("worker %s: %s", rep.Worker, rep.Error)
			}
			seen[rep.Worker] = true
			docs += rep.IndexDocs
		case <-timer.C:
			return docs, len(seen), fmt.Errorf("%d of %d other workers confirmed the erasure; retry it", len(seen), want)
		case <-ctx.Done():
			return docs, len(seen), ctx.Err()
		}
	}
	return docs, len(seen), recordTombstone()
}

// serveShardErase erases a customer here for the worker that asked.
func (s *sharedState) serveShardErase(msg *nats.Msg) {
	var req shardEraseReq
	rep := shardEraseReply{Worker: s.id}
	if err := json.Unmarshal(msg.Data, &req); err != nil || req.Customer == "" {
		rep.Error = fmt.Sprintf("bad erase request %q", msg.Data)
	} else if req.From != s.id {
		s.erasedMu.Lock()
		s.erasedHere[req.ID] = true
		s.erasedMu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		rep.Events, rep.IndexDocs, rep.Error = s.eraseLocal(ctx, req.Customer)
		cancel()
		s.log.Info("customer erased at another worker's request", "customer", req.Customer, "events", rep.Events, "index_docs", rep.IndexDocs, "err", rep.Error)
	}
	b, _ := json.Marshal(rep)
	if err := msg.Respond(b); err != nil {
		s.log.Warn("erase reply failed", "err", err)
	}
}

// eraseLocal erases a customer from this worker's store, shard and vector
// cache, under the pipeline's locks as the API's erasure does.
func (s *sharedState) eraseLocal(ctx context.Context, customer string) (events, docs int, errText string) {
	p := s.p
	p.fitMu.Lock()
	defer p.fitMu.Unlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	fail := func(err error) (int, int, string) { return events, docs, err.Error() }
	stored, err := p.store.CustomerDocs(customer)
	if err != nil {
		return fail(err)
	}
	if c := s.a.emb.Cache(); c != nil && len(stored) > 0 {
		texts := make([]string, len(stored))
		for i, d := range stored {
			texts[i] = d.Analysis.Clean
		}
		if _, err := s.a.emb.Forget(ctx, texts); err != nil {
			return fail(fmt.Errorf("erase cached vectors: %w", err))
		}
	}
	if docs, err = p.ix.DeleteCustomer(ctx, customer); err != nil {
		return fail(fmt.Errorf("erase index documents: %w", err))
	}
	er, err := p.store.EraseCustomer(customer)
	if err != nil {
		return fail(err)
	}
	events = len(er.Docs)
	if er.Model != nil {
		p.model = er.Model
		if err := p.ix.ReplaceSegments(ctx, er.Model.Segments()); err != nil {
			return fail(fmt.Errorf("erase exemplars from the index: %w", err))
		}
	}
	return events, docs, ""
}
