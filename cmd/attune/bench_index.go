package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/spf13/cobra"

	"github.com/attune-cx/attune"
	"github.com/attune-cx/attune/index"
	"github.com/attune-cx/attune/nlp"
)

// benchIndexResult is what `attune bench index --json` prints. The first
// keys are the shape the issue asks for; the rest explain them.
type benchIndexResult struct {
	Docs              int     `json:"docs"`
	AttuneDocsPerSec  float64 `json:"attune_docs_per_sec"`
	BleveDocsPerSec   float64 `json:"bleve_docs_per_sec"`
	SearchP50Ms       float64 `json:"search_p50_ms"`
	SearchP99Ms       float64 `json:"search_p99_ms"`
	IndexBytes        int64   `json:"index_bytes"`
	PeakRSSMB         float64 `json:"peak_rss_mb"`
	AttuneVsBleve     float64 `json:"attune_vs_bleve"`
	BleveIndexBytes   int64   `json:"bleve_index_bytes"`
	BatchSize         int     `json:"batch_size"`
	BaseTexts         int     `json:"base_texts"`
	BaseTextsBySource any     `json:"base_texts_by_dataset"`
	AnalyseSeconds    float64 `json:"analyse_seconds"`
	AttuneSeconds     float64 `json:"attune_seconds"`
	BleveSeconds      float64 `json:"bleve_seconds"`
	Queries           int     `json:"queries"`
	// SearchByKind has p50/p99 per kind of query in the mix.
	SearchByKind map[string]latency `json:"search_by_kind"`
	// SlowestSearches are the slowest timed Search calls, slowest first.
	SlowestSearches []slowQuery `json:"slowest_searches"`
	// The same queries through index.SearchBleve (one plain Bleve request
	// each: its facet builders and full sort), timed alternately with
	// Search in the same run; results are checked to be identical.
	BleveSearchP50Ms    float64            `json:"bleve_search_p50_ms"`
	BleveSearchP99Ms    float64            `json:"bleve_search_p99_ms"`
	BleveSearchByKind   map[string]latency `json:"bleve_search_by_kind"`
	SearchP99VsBleveP99 float64            `json:"search_p99_vs_bleve_p99"`
	// CPU time (user + system, all threads) this process spent per query:
	// unlike wall time, it does not grow with the time spent waiting for a
	// core while other processes run. Background merges, if any are left
	// from indexing, are counted in whatever query they overlap.
	SearchCPUP50Ms      float64 `json:"search_cpu_p50_ms"`
	SearchCPUP99Ms      float64 `json:"search_cpu_p99_ms"`
	BleveSearchCPUP50Ms float64 `json:"bleve_search_cpu_p50_ms"`
	BleveSearchCPUP99Ms float64 `json:"bleve_search_cpu_p99_ms"`
	// RSSAfterLoadMB is the resident size once the docs are in memory,
	// before either index is written.
	RSSAfterLoadMB float64 `json:"rss_after_load_mb"`
	GOMAXPROCS     int     `json:"gomaxprocs"`
	// LoadAvg is /proc/loadavg's 1-minute load at the start and end: on a
	// shared machine, latencies mean little without it.
	LoadAvgStart float64 `json:"load_avg_start"`
	LoadAvgEnd   float64 `json:"load_avg_end"`
	// ReusedIndex is set when --reuse searched an index an earlier run left
	// in --dir (nothing was written; the indexing figures are zero).
	ReusedIndex bool `json:"reused_index,omitempty"`
	// MergeState says what the scorch segment set looked like when timing
	// began: "as_loaded" (right after the last write, merges may still
	// run), "settled" (the merger had left it unchanged for 10s) or
	// "force_merged" (merged to one segment first).
	MergeState string `json:"merge_state"`
	// ScorchSegments is the number of scorch segments every search visits,
	// counted when timing began and when it ended.
	ScorchSegmentsStart int `json:"scorch_segments_start"`
	ScorchSegmentsEnd   int `json:"scorch_segments_end"`
}

// slowQuery is one timed Search, for the list of the slowest.
type slowQuery struct {
	Kind  string      `json:"kind"`
	Query index.Query `json:"query"`
	Ms    float64     `json:"ms"`
	CPUMs float64     `json:"cpu_ms"`
}

type latency struct {
	N     int     `json:"n"`
	P50Ms float64 `json:"p50_ms"`
	P99Ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`
	// CPU time per query (see benchIndexResult.SearchCPUP50Ms).
	CPUP50Ms float64 `json:"cpu_p50_ms"`
	CPUP99Ms float64 `json:"cpu_p99_ms"`
}

func benchIndexCmd(g *globals) *cobra.Command {
	var (
		asJSON   bool
		docs     int
		batch    int
		rounds   int
		datasets string
		dir      string
		reuse    bool
		merge    string
		cpuprof  string
	)
	cmd := &cobra.Command{
		Use:   "index",
		Short: "Indexing docs/s vs raw Bleve on the same docs, search latency, index size, peak RSS",
		Long: `bench index reads real texts from the shared datasets (airline tweets,
Amazon Alexa reviews, Olist reviews in Portuguese, banking77 queries), runs
the NLP stage on each, and replicates them with distinct ids and customers
up to --docs. It then writes the same docs in batches of --batch (the
worker's nats.fetch_batch by default) twice, each into a fresh on-disk index
with the same mapping:

  bleve   raw Bleve: bleve.NewUsing + Batch, the baseline
  attune  index.Open + IndexDocs (validation, durable-write wait)

and reports docs/s of each and their ratio, then search latency (p50/p99,
overall and per kind) over a mix of typical queries on the Attune index:
text, text with filters, faceted (all facets), and browsing a segment by
time. Each query also runs through index.SearchBleve, one plain Bleve
request (its facet builders, its sort of every match), alternating which
goes first; the two must return identical results, and both latencies are
reported. Index bytes are measured on disk; peak RSS is this process's.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := g.load()
			if err != nil {
				return err
			}
			if datasets == "" {
				datasets = cfg.Model.DatasetsDir
			}
			if batch == 0 {
				batch = cfg.NATS.FetchBatch
			}
			if docs < 1 || batch < 1 || rounds < 1 {
				return fmt.Errorf("--docs, --batch and --rounds must be positive")
			}
			an, _, err := newNLP(cfg.NLP)
			if err != nil {
				return err
			}
			if dir == "" {
				if dir, err = os.MkdirTemp("", "attune-bench-index-"); err != nil {
					return err
				}
				defer os.RemoveAll(dir)
			}
			switch merge {
			case "as_loaded", "settled", "force_merged":
			default:
				return fmt.Errorf("--merge %q: want as_loaded, settled or force_merged", merge)
			}
			logf := func(msg string, args ...any) { log.Info(msg, args...) }
			opts := indexBenchOpts{reuse: reuse, merge: merge, cpuProfile: cpuprof}
			res, err := runIndexBench(cmd.Context(), logf, an, datasets, dir, docs, batch, rounds, opts)
			if err != nil {
				return err
			}
			return writeBench(cmd.OutOrStdout(), asJSON, res, printIndexBench)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&asJSON, "json", false, "print one JSON object")
	f.IntVar(&docs, "docs", 100_000, "documents to index (real texts replicated with distinct ids)")
	f.IntVar(&batch, "batch", 0, "docs per batch (default: nats.fetch_batch, what the worker writes)")
	f.IntVar(&rounds, "rounds", 5, "rounds of the query mix to time (after one warm-up round)")
	f.StringVar(&datasets, "datasets", "", "datasets directory (default: model.datasets_dir)")
	f.StringVar(&dir, "dir", "", "directory for the two indexes (default: a temporary one, removed after)")
	f.BoolVar(&reuse, "reuse", false, "search the Attune index an earlier run with the same --dir and --docs left there, writing nothing; if there is none, write only it, no raw Bleve baseline (development)")
	f.StringVar(&merge, "merge", "as_loaded", "segment state to time searches in: as_loaded, settled (wait until merges stop) or force_merged (one segment)")
	f.StringVar(&cpuprof, "cpuprofile", "", "write a CPU profile of the timed searches to this file, labelled by kind and path (attune, bleve) (development)")
	_ = f.MarkHidden("reuse")
	_ = f.MarkHidden("cpuprofile")
	return cmd
}

// indexBenchOpts are bench index's development options.
type indexBenchOpts struct {
	reuse      bool   // search an existing index in dir, write nothing
	merge      string // benchIndexResult.MergeState to bring the index to
	cpuProfile string // file for a CPU profile of the timed searches
}

func runIndexBench(ctx context.Context, logf func(string, ...any), an *nlp.Analyzer, datasets, dir string, n, batch, rounds int, opts indexBenchOpts) (*benchIndexResult, error) {
	res := &benchIndexResult{Docs: n, BatchSize: batch, GOMAXPROCS: runtime.GOMAXPROCS(0), LoadAvgStart: loadAvg()}
	evs, bySet, err := indexBenchEvents(datasets)
	if err != nil {
		return nil, err
	}
	res.BaseTexts, res.BaseTextsBySource = len(evs), bySet
	logf("bench index: analysing texts", "texts", len(evs))
	t0 := time.Now()
	base := analyseAll(an, evs)
	res.AnalyseSeconds = time.Since(t0).Seconds()
	docs := replicate(base, n)
	base, evs = nil, nil
	runtime.GC()
	res.RSSAfterLoadMB = currentRSSMiB()

	attuneDir := filepath.Join(dir, "attune")
	var ix *index.Index
	_, statErr := os.Stat(filepath.Join(attuneDir, "index_meta.json"))
	if opts.reuse && statErr == nil {
		if ix, err = index.Open(attuneDir); err != nil {
			return nil, err
		}
		defer ix.Close()
		ids := make(map[string]struct{}, len(docs))
		for _, d := range docs {
			ids[d.Event.ID] = struct{}{}
		}
		if c, err := ix.CountEvents(ctx); err != nil {
			return nil, err
		} else if c != uint64(len(ids)) {
			return nil, fmt.Errorf("--reuse: %s holds %d events, not the %d distinct ids of --docs %d", attuneDir, c, len(ids), n)
		}
		res.ReusedIndex = true
		if res.IndexBytes, err = ix.Size(); err != nil {
			return nil, err
		}
	} else {
		if ix, err = writeBenchIndexes(ctx, logf, res, docs, dir, batch, !opts.reuse); err != nil {
			return nil, err
		}
		defer ix.Close()
	}

	res.MergeState = opts.merge
	switch opts.merge {
	case "settled":
		logf("bench index: waiting for merges to settle")
		if _, err := ix.SettleMerges(ctx, 10*time.Second); err != nil {
			return nil, err
		}
	case "force_merged":
		logf("bench index: merging to one segment")
		if err := ix.ForceMerge(ctx); err != nil {
			return nil, err
		}
	}
	if res.ScorchSegmentsStart, _, err = ix.ScorchSegments(); err != nil {
		return nil, err
	}

	logf("bench index: searching", "rounds", rounds)
	mix := queryMix(docs)
	docs = nil
	runtime.GC()
	if opts.cpuProfile != "" {
		f, err := os.Create(opts.cpuProfile)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
		defer pprof.StopCPUProfile()
	}
	all, byKind, bleveAll, bleveByKind, slowest, err := timeQueries(ctx, ix, mix, rounds)
	if err != nil {
		return nil, err
	}
	if res.ScorchSegmentsEnd, _, err = ix.ScorchSegments(); err != nil {
		return nil, err
	}
	res.SearchCPUP50Ms, res.SearchCPUP99Ms = all.CPUP50Ms, all.CPUP99Ms
	res.BleveSearchCPUP50Ms, res.BleveSearchCPUP99Ms = bleveAll.CPUP50Ms, bleveAll.CPUP99Ms
	res.Queries = all.N
	res.SearchP50Ms, res.SearchP99Ms = all.P50Ms, all.P99Ms
	res.SearchByKind = byKind
	res.SlowestSearches = slowest
	res.BleveSearchP50Ms, res.BleveSearchP99Ms = bleveAll.P50Ms, bleveAll.P99Ms
	res.BleveSearchByKind = bleveByKind
	res.SearchP99VsBleveP99 = all.P99Ms / bleveAll.P99Ms
	res.PeakRSSMB = peakRSSMiB()
	res.LoadAvgEnd = loadAvg()
	return res, nil
}

// writeBenchIndexes writes docs into a raw Bleve index and an Attune index
// in dir, batch by batch in turn, records the indexing figures in res,
// removes the Bleve index and returns the Attune one, open, with the
// segment set stored.
//
// Without baseline only the Attune index is written (--reuse building the
// index for later runs), and the indexing figures are Attune's alone.
func writeBenchIndexes(ctx context.Context, logf func(string, ...any), res *benchIndexResult, docs []attune.Doc, dir string, batch int, baseline bool) (*index.Index, error) {
	n := len(docs)
	// Both indexes are written batch by batch in turn (Bleve, then Attune,
	// the same batch), each call timed on its own: on a shared machine the
	// load drifts, and interleaving exposes both writers to the same drift.
	logf("bench index: writing raw Bleve and Attune indexes in turn", "docs", n, "batch", batch)
	m, err := index.NewBleveMapping()
	if err != nil {
		return nil, err
	}
	bleveDir := filepath.Join(dir, "bleve")
	bi, err := bleve.NewUsing(bleveDir, m, scorch.Name, bleve.Config.DefaultKVStore, nil)
	if err != nil {
		return nil, err
	}
	bleveOpen := true
	defer func() {
		if bleveOpen { // Bleve panics on a second Close
			_ = bi.Close()
		}
	}()
	ix, err := index.Open(filepath.Join(dir, "attune"))
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			_ = ix.Close()
		}
	}()
	var bleveTook, attuneTook time.Duration
	for i := 0; i < len(docs); i += batch {
		part := docs[i:min(i+batch, len(docs))]
		t0 := time.Now()
		if baseline {
			if err := rawBleveBatch(bi, part); err != nil {
				return nil, fmt.Errorf("raw bleve: %w", err)
			}
		}
		t1 := time.Now()
		if err := ix.IndexDocs(ctx, part); err != nil {
			return nil, err
		}
		bleveTook += t1.Sub(t0)
		attuneTook += time.Since(t1)
		if (i/batch)%200 == 199 {
			logf("bench index: progress", "docs", i+len(part), "bleve_docs_per_sec", int(float64(i+len(part))/bleveTook.Seconds()),
				"attune_docs_per_sec", int(float64(i+len(part))/attuneTook.Seconds()))
		}
	}
	res.BleveSeconds, res.AttuneSeconds = bleveTook.Seconds(), attuneTook.Seconds()
	res.AttuneDocsPerSec = float64(n) / res.AttuneSeconds
	if baseline {
		res.BleveDocsPerSec = float64(n) / res.BleveSeconds
		res.AttuneVsBleve = res.AttuneDocsPerSec / res.BleveDocsPerSec
	}
	// Measured open, as ix.Size measures the Attune index below.
	if res.BleveIndexBytes, err = dirBytes(bleveDir); err != nil {
		return nil, err
	}
	bleveOpen = false
	if err := bi.Close(); err != nil {
		return nil, err
	}
	if err := os.RemoveAll(bleveDir); err != nil {
		return nil, err
	}

	// The segment set, as a re-clustering stores it: the segment facet
	// names buckets from it.
	if err := ix.ReplaceSegments(ctx, benchSegments(docs)); err != nil {
		return nil, err
	}
	if res.IndexBytes, err = ix.Size(); err != nil {
		return nil, err
	}
	ok = true
	return ix, nil
}

func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	var x float64
	_, _ = fmt.Sscan(string(b), &x)
	return x
}

// indexBenchEvents reads the texts of four datasets as events, each with
// the id, customer, source, time and a gold segment its dataset gives.
func indexBenchEvents(dir string) ([]benchDocSeed, map[string]int, error) {
	var out []benchDocSeed
	by := map[string]int{}
	add := func(set string, s benchDocSeed) {
		if strings.TrimSpace(s.ev.Text) == "" {
			return
		}
		out = append(out, s)
		by[set]++
	}

	h, rows, err := readCSVFile(filepath.Join(dir, "twitter_us_airline_sentiment", "Tweets.csv"))
	if err != nil {
		return nil, nil, err
	}
	for _, r := range rows {
		ts, _ := time.Parse("2006-01-02 15:04:05 -0700", col(h, r, "tweet_created"))
		seg := col(h, r, "negativereason")
		if seg == "" {
			seg = col(h, r, "airline_sentiment")
		}
		add("airline_tweets", benchDocSeed{ev: attune.Event{
			ID: "tw-" + col(h, r, "tweet_id"), CustomerID: "tw-" + col(h, r, "name"), Source: "ticket",
			Text: col(h, r, "text"), TS: ts,
		}, segment: "airline-" + benchSlug(seg)})
	}

	b, err := os.ReadFile(filepath.Join(dir, "amazon_alexa_reviews", "amazon_alexa.tsv"))
	if err != nil {
		return nil, nil, err
	}
	for i, line := range strings.Split(strings.TrimPrefix(string(b), "\ufeff"), "\n")[1:] {
		f := strings.Split(strings.TrimRight(line, "\r"), "\t")
		if len(f) < 4 {
			continue
		}
		ts, _ := time.Parse("2-Jan-06", f[1])
		add("amazon_alexa", benchDocSeed{ev: attune.Event{
			ID: "alexa-" + strconv.Itoa(i), CustomerID: "alexa-" + strconv.Itoa(i), Source: "review", Text: f[3], TS: ts,
		}, segment: "alexa-" + benchSlug(f[2])})
	}

	h, rows, err = readCSVFile(filepath.Join(dir, "olist", "olist_order_reviews_dataset.csv"))
	if err != nil {
		return nil, nil, err
	}
	for _, r := range rows {
		ts, _ := time.Parse("2006-01-02 15:04:05", col(h, r, "review_creation_date"))
		add("olist", benchDocSeed{ev: attune.Event{
			ID: "olist-" + col(h, r, "review_id"), CustomerID: "olist-" + col(h, r, "order_id"), Source: "review",
			Text: col(h, r, "review_comment_message"), TS: ts,
		}, segment: "olist-" + col(h, r, "review_score") + "-stars"})
	}

	for _, split := range []string{"train", "test"} {
		h, rows, err = readCSVFile(filepath.Join(dir, "banking77", split+".csv"))
		if err != nil {
			return nil, nil, err
		}
		for i, r := range rows {
			id := "banking77-" + split + "-" + strconv.Itoa(i)
			add("banking77", benchDocSeed{ev: attune.Event{
				ID: id, CustomerID: id, Source: "ticket", Text: col(h, r, "text"),
			}, segment: "banking-" + benchSlug(col(h, r, "category"))})
		}
	}
	return out, by, nil
}

type benchDocSeed struct {
	ev      attune.Event
	segment string
}

func benchSlug(s string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}), "-")
}

// analyseAll runs the NLP stage over every event, on every core.
func analyseAll(an *nlp.Analyzer, seeds []benchDocSeed) []attune.Doc {
	docs := make([]attune.Doc, len(seeds))
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(seeds); i += workers {
				s := seeds[i]
				docs[i] = attune.Doc{Event: s.ev, Analysis: an.Analyze(s.ev.Text), SegmentID: s.segment, SegmentName: s.segment}
			}
		})
	}
	wg.Wait()
	return docs
}

// replicate returns n docs: base, then copies of it with distinct event and
// customer ids. Copies share the analysis slices of their original.
func replicate(base []attune.Doc, n int) []attune.Doc {
	out := make([]attune.Doc, n)
	for i := range out {
		d := base[i%len(base)]
		if r := i / len(base); r > 0 {
			suffix := "~" + strconv.Itoa(r)
			d.Event.ID += suffix
			d.Event.CustomerID += suffix
		}
		out[i] = d
	}
	return out
}

// rawBleveBatch writes docs with Bleve alone: the same mapping and the same
// documents as IndexDocs, Bleve's defaults otherwise (on scorch, Batch
// returns once the batch is persisted, as IndexDocs does).
func rawBleveBatch(bi bleve.Index, docs []attune.Doc) error {
	b := bi.NewBatch()
	for _, d := range docs {
		if err := b.Index(d.Event.ID, index.BleveDocument(d)); err != nil {
			return err
		}
	}
	return bi.Batch(b)
}

func benchSegments(docs []attune.Doc) []attune.Segment {
	by := map[string]*attune.Segment{}
	var out []attune.Segment
	for _, d := range docs {
		s := by[d.SegmentID]
		if s == nil {
			s = &attune.Segment{ID: d.SegmentID, Name: d.SegmentName, UpdatedAt: time.Now()}
			by[d.SegmentID] = s
		}
		s.Size++
		s.MeanSentiment += d.Analysis.Sentiment.Score
		if len(s.Exemplars) < 3 {
			s.Exemplars = append(s.Exemplars, d.Event.Text)
		}
	}
	for _, s := range by {
		s.MeanSentiment /= float64(s.Size)
		s.Customers = s.Size
		out = append(out, *s)
	}
	return out
}

type benchQuery struct {
	kind string
	q    index.Query
}

// queryMix builds the typical queries a support lead runs: words and
// phrases from the datasets' domains alone, with filters (label, source,
// sentiment and time range), with every facet, and a segment browsed by
// time.
func queryMix(docs []attune.Doc) []benchQuery {
	texts := []string{
		"delay", "lost bag", "refund", `"customer service"`, "cancelled flight", "+refund -thanks",
		"card", "top up", "transfer", "pin", "entrega", "produto", "atraso", "alexa", "sound",
		"seat", "crew", "hold", "charge fee", "wifi",
	}
	// The time span and the largest segments of the data.
	var lo, hi time.Time
	segs := map[string]int{}
	for _, d := range docs {
		if t := d.Event.TS; !t.IsZero() {
			if lo.IsZero() || t.Before(lo) {
				lo = t
			}
			if t.After(hi) {
				hi = t
			}
		}
		segs[d.SegmentID]++
	}
	names := make([]string, 0, len(segs))
	for s := range segs {
		names = append(names, s)
	}
	slices.SortFunc(names, func(a, b string) int { return segs[b] - segs[a] })
	mid := lo.Add(hi.Sub(lo) / 2)
	var mix []benchQuery
	for i, t := range texts {
		neg := -0.05
		mix = append(mix,
			benchQuery{"text", index.Query{Text: t, Limit: 20}},
			benchQuery{"text_filters", index.Query{Text: t, Label: "negative", SentimentMax: &neg, From: lo, To: mid.Add(time.Duration(i) * 24 * time.Hour), Limit: 20}},
			benchQuery{"facets", index.Query{Text: t, Facets: index.Facets, Limit: 20}},
			benchQuery{"segment_browse", index.Query{Segment: names[i%min(len(names), 10)], Sort: index.SortTime, Facets: []string{index.FacetTime, index.FacetAspect}, Limit: 50}},
		)
	}
	// Facets over everything: the dashboard's opening view.
	mix = append(mix, benchQuery{"facets", index.Query{Facets: index.Facets, Limit: 20}})
	return mix
}

// timeQueries runs the mix rounds times (after a warm-up round) with
// Search and SearchBleve in turn, which goes first alternating by round, and
// fails if their results differ.
func timeQueries(ctx context.Context, ix *index.Index, mix []benchQuery, rounds int) (all latency, byKind map[string]latency, bleveAll latency, bleveByKind map[string]latency, slowest []slowQuery, err error) {
	type timed struct {
		all, allCPU []time.Duration
		by, byCPU   map[string][]time.Duration
	}
	newTimed := func() timed {
		return timed{by: map[string][]time.Duration{}, byCPU: map[string][]time.Duration{}}
	}
	attune, plain := newTimed(), newTimed()
	run := func(r int, bq benchQuery, search func(context.Context, index.Query) (*index.Result, error), into *timed) (*index.Result, error) {
		path := "attune"
		if into == &plain {
			path = "bleve"
		}
		c0 := processCPU()
		t0 := time.Now()
		var res *index.Result
		var err error
		pprof.Do(ctx, pprof.Labels("kind", bq.kind, "path", path), func(ctx context.Context) {
			res, err = search(ctx, bq.q)
		})
		if err != nil {
			return nil, fmt.Errorf("search %+v: %w", bq.q, err)
		}
		d := time.Since(t0)
		c := processCPU() - c0
		if r > 0 { // round 0 warms up: the first search of each kind loads doc values
			into.all = append(into.all, d)
			if path == "attune" {
				slowest = append(slowest, slowQuery{Kind: bq.kind, Query: bq.q, Ms: float64(d.Microseconds()) / 1000, CPUMs: float64(c.Microseconds()) / 1000})
			}
			into.by[bq.kind] = append(into.by[bq.kind], d)
			into.allCPU = append(into.allCPU, c)
			into.byCPU[bq.kind] = append(into.byCPU[bq.kind], c)
		}
		res.Took = 0
		return res, nil
	}
	for r := 0; r <= rounds; r++ {
		for _, bq := range mix {
			var a, b *index.Result
			if r%2 == 0 {
				if a, err = run(r, bq, ix.Search, &attune); err == nil {
					b, err = run(r, bq, ix.SearchBleve, &plain)
				}
			} else {
				if b, err = run(r, bq, ix.SearchBleve, &plain); err == nil {
					a, err = run(r, bq, ix.Search, &attune)
				}
			}
			if err != nil {
				return
			}
			if !reflect.DeepEqual(a, b) {
				err = fmt.Errorf("search %+v: Search and SearchBleve differ (%d and %d hits of %d and %d)", bq.q, len(a.Hits), len(b.Hits), a.Total, b.Total)
				return
			}
		}
	}
	withCPU := func(l latency, cpu []time.Duration) latency {
		c := summarize(cpu)
		l.CPUP50Ms, l.CPUP99Ms = c.P50Ms, c.P99Ms
		return l
	}
	summarizeKinds := func(t timed) map[string]latency {
		out := map[string]latency{}
		for k, ds := range t.by {
			out[k] = withCPU(summarize(ds), t.byCPU[k])
		}
		return out
	}
	slices.SortFunc(slowest, func(a, b slowQuery) int { return cmp.Compare(b.Ms, a.Ms) })
	return withCPU(summarize(attune.all), attune.allCPU), summarizeKinds(attune),
		withCPU(summarize(plain.all), plain.allCPU), summarizeKinds(plain), slowest[:min(len(slowest), 8)], nil
}

func summarize(ds []time.Duration) latency {
	slices.Sort(ds)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	q := func(p float64) float64 {
		// Nearest rank.
		i := int(p*float64(len(ds))+0.999999) - 1
		return ms(ds[max(0, min(i, len(ds)-1))])
	}
	return latency{N: len(ds), P50Ms: q(0.50), P99Ms: q(0.99), MaxMs: ms(ds[len(ds)-1])}
}

func dirBytes(dir string) (int64, error) {
	var n int64
	err := filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			n += info.Size()
		}
		return nil
	})
	return n, err
}

func printIndexBench(w io.Writer, r *benchIndexResult) {
	fmt.Fprintf(w, "%d docs (%d real texts analysed in %.1fs, replicated), batches of %d, GOMAXPROCS %d\n",
		r.Docs, r.BaseTexts, r.AnalyseSeconds, r.BatchSize, r.GOMAXPROCS)
	fmt.Fprintf(w, "  indexing   attune %8.0f docs/s (%.1fs)   raw bleve %8.0f docs/s (%.1fs)   ratio %.2f×\n",
		r.AttuneDocsPerSec, r.AttuneSeconds, r.BleveDocsPerSec, r.BleveSeconds, r.AttuneVsBleve)
	fmt.Fprintf(w, "  index size attune %.1f MiB, raw bleve %.1f MiB\n", float64(r.IndexBytes)/(1<<20), float64(r.BleveIndexBytes)/(1<<20))
	reused := ""
	if r.ReusedIndex {
		reused = ", index reused from an earlier run (nothing written)"
	}
	fmt.Fprintf(w, "  segments   %d scorch segments when timing began, %d at the end (state %s%s)\n",
		r.ScorchSegmentsStart, r.ScorchSegmentsEnd, r.MergeState, reused)
	fmt.Fprintf(w, "  search     %d queries: p50 %.2f ms, p99 %.2f ms; plain Bleve requests p50 %.2f ms, p99 %.2f ms (p99 ratio %.2f×)\n",
		r.Queries, r.SearchP50Ms, r.SearchP99Ms, r.BleveSearchP50Ms, r.BleveSearchP99Ms, r.SearchP99VsBleveP99)
	fmt.Fprintf(w, "             CPU per query: p50 %.2f ms, p99 %.2f ms; plain Bleve requests p50 %.2f ms, p99 %.2f ms\n",
		r.SearchCPUP50Ms, r.SearchCPUP99Ms, r.BleveSearchCPUP50Ms, r.BleveSearchCPUP99Ms)
	kinds := make([]string, 0, len(r.SearchByKind))
	for k := range r.SearchByKind {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		l, b := r.SearchByKind[k], r.BleveSearchByKind[k]
		fmt.Fprintf(w, "    %-15s n=%-4d p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms   bleve p50 %7.2f ms  p99 %7.2f ms\n",
			k, l.N, l.P50Ms, l.P99Ms, l.MaxMs, b.P50Ms, b.P99Ms)
	}
	fmt.Fprintf(w, "  peak RSS   %.0f MiB (%.0f MiB with the docs loaded, before indexing)\n", r.PeakRSSMB, r.RSSAfterLoadMB)
	fmt.Fprintf(w, "  load avg   %.1f at start, %.1f at end\n", r.LoadAvgStart, r.LoadAvgEnd)
}
