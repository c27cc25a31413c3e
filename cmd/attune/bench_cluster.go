package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/attune-cx/attune"
	"github.com/attune-cx/attune/cluster"
	"github.com/attune-cx/attune/nlp"
)

// clusterScore is one clustering's agreement with ground truth and its time.
type clusterScore struct {
	NMI     float64 `json:"nmi"`
	ARI     float64 `json:"ari"`
	Acc     float64 `json:"acc,omitempty"`
	Seconds float64 `json:"seconds"`
	K       int     `json:"k,omitempty"`
	// CPUSeconds is the process CPU time of the fit (user + system, all
	// threads): unlike Seconds it does not grow when other work shares
	// the machine.
	CPUSeconds float64 `json:"cpu_seconds,omitempty"`
}

// benchClusterResult is the JSON `attune bench cluster --json` prints; the
// shape is fixed by the segment issue, extra keys explain the figures.
type benchClusterResult struct {
	AirlineNegative struct {
		Attune          clusterScore `json:"attune"`
		AttuneFixedK    clusterScore `json:"attune_fixed_k"`
		AttuneMiniBatch clusterScore `json:"attune_minibatch"`
		// KScores is the silhouette of every k the automatic choice tried.
		KScores          []cluster.KScore `json:"attune_k_scores"`
		SklearnKMeans    clusterScore     `json:"sklearn_kmeans"`
		SklearnMiniBatch clusterScore     `json:"sklearn_minibatch"`
		SklearnVersion   string           `json:"sklearn_version"`
		// SameMatrix compares the clustering alone: Attune's k-means
		// (cluster.KMeans, what Fit runs after building the matrix) and
		// scikit-learn's on the identical exported matrix with the same k,
		// inits and max_iter, as means over several seeds. The attune and
		// sklearn_* rows above time Attune's whole Fit (scaling, PCA,
		// naming, exemplars) against scikit-learn's k-means alone.
		SameMatrix sameMatrix `json:"same_matrix"`
		Points     int        `json:"points"`
		Dims       int        `json:"dims"`
		Reasons    int        `json:"reasons"`
		// AllTweets clusters every tweet (as the demo does) and scores the
		// negative ones.
		AllTweets clusterScore `json:"all_tweets"`
		// PCAExplained is the share of the embedding's variance the
		// cluster.pca_dims axes keep (0 when PCA is off).
		PCAExplained float64 `json:"pca_explained"`
		// Density is cluster.algorithm: density on the negative tweets;
		// DensityAllTweets fits it on every tweet and scores the negative
		// ones.
		Density          densityScore `json:"attune_density"`
		DensityAllTweets densityScore `json:"attune_density_all_tweets"`
	} `json:"airline_negative"`
	Banking77 struct {
		K77  clusterScore `json:"k77"`
		Auto clusterScore `json:"auto"`
	} `json:"banking77"`
	Stability struct {
		BootstrapARI float64   `json:"bootstrap_ari"`
		PairARIs     []float64 `json:"pair_aris"`
		BootstrapKs  []int     `json:"bootstrap_ks"`
		IDsKept      float64   `json:"ids_kept"`
		KBefore      int       `json:"k_before"`
		KAfter       int       `json:"k_after"`
		// SameKBootstrapARI fixes k to the full fit's, isolating how stable
		// the partition is from how stable the choice of k is.
		SameKBootstrapARI float64 `json:"same_k_bootstrap_ari"`
		// ColdBootstrapARI is the mean ARI between independent fits of the
		// resamples (no previous model, a seed each): how stable a first
		// fit is. BootstrapARI is that of re-clusters: each resample is
		// fitted with the previous resample's model as Fit's prev, as the
		// worker re-clusters, starting from a first fit of resample 0.
		ColdBootstrapARI float64   `json:"cold_bootstrap_ari"`
		ColdPairARIs     []float64 `json:"cold_pair_aris"`
		ColdKs           []int     `json:"cold_ks"`
		// FirstFitK is k of the first fit the re-clusters start from.
		FirstFitK int `json:"first_fit_k"`
	} `json:"stability"`
	Fusion            fusionResult    `json:"fusion"`
	Recluster100k     reclusterResult `json:"recluster_100k"`
	Seconds           float64         `json:"seconds"`
	PeakRSSMB         float64         `json:"peak_rss_mb"`
	EmbeddedThisRun   int             `json:"embedded_this_run"`
	VectorsCachedFrom string          `json:"vectors_cache"`
}

type fusionResult struct {
	LateShareInDeliverySegment float64 `json:"late_share_in_delivery_segment"`
	LateSharePopulation        float64 `json:"late_share_population"`
	Eta2DelayFused             float64 `json:"eta2_delay_fused"`
	Eta2DelayTextOnly          float64 `json:"eta2_delay_text_only"`
	// Details of each run.
	LateShareReviewsWithText float64         `json:"late_share_reviews_with_text"`
	Reviews                  int             `json:"reviews"`
	Runs                     []fusionRunInfo `json:"runs"`
}

type fusionRunInfo struct {
	Name              string   `json:"name"`
	BehaviorWeight    float64  `json:"behavior_weight"`
	K                 int      `json:"k"`
	Eta2Delay         float64  `json:"eta2_delay"`
	Eta2LogValue      float64  `json:"eta2_log_order_value"`
	Eta2Score         float64  `json:"eta2_review_score"`
	DeliverySegments  []string `json:"delivery_segments"`
	DeliveryLateShare float64  `json:"delivery_late_share"`
	DeliveryReviews   int      `json:"delivery_reviews"`
	MaxSegmentLate    float64  `json:"max_segment_late_share"`
	MaxSegmentName    string   `json:"max_segment_name"`
}

type reclusterResult struct {
	Seconds     float64 `json:"seconds"`
	PeakRSSMB   float64 `json:"peak_rss_mb"`
	RSSBeforeMB float64 `json:"rss_before_fit_mb"`
	// PeakRSSAllMB is the child's peak after the comparison fits too.
	PeakRSSAllMB  float64 `json:"peak_rss_all_fits_mb"`
	Events        int     `json:"events"`
	K             int     `json:"k"`
	FixedKSeconds float64 `json:"fixed_k_seconds"`
	// MiniBatchSeconds fits the same k with mini-batch k-means; its
	// inertia relative to exact k-means' says what the speed costs.
	MiniBatchSeconds float64 `json:"minibatch_seconds"`
	// CPUSeconds is the process CPU time of the first fit; WithPrev* are
	// those of re-clustering the same events with it as the previous model
	// (and another seed), as the worker's re-clusters do.
	CPUSeconds            float64 `json:"cpu_seconds"`
	WithPrevSeconds       float64 `json:"with_prev_seconds"`
	WithPrevCPUSeconds    float64 `json:"with_prev_cpu_seconds"`
	MiniBatchInertiaRatio float64 `json:"minibatch_inertia_ratio"`
	MiniBatchARIVsExact   float64 `json:"minibatch_ari_vs_exact"`
}

// densityScore scores a density fit: NMI and ARI over the points it put in a
// segment, the share it left as outliers, and NMI/ARI with the outliers
// counted as one more segment.
type densityScore struct {
	clusterScore
	OutlierShare float64 `json:"outlier_share"`
	NMIAll       float64 `json:"nmi_outliers_as_segment"`
	ARIAll       float64 `json:"ari_outliers_as_segment"`
	PCADims      int     `json:"pca_dims"`
	MinCluster   int     `json:"min_cluster_size"`
	MinSamples   int     `json:"min_samples"`
}

// densityPCADims is the reduction the density bench uses when
// cluster.pca_dims is 0 (density needs one).
const densityPCADims = 32

func (b *clusterBench) density(fit, scored []cluster.Point, truth []string) (densityScore, error) {
	cfg := b.ccfg
	cfg.Algorithm = cluster.AlgorithmDensity
	cfg.PCADims = cmp.Or(cfg.PCADims, densityPCADims)
	b.log("density fit", "points", len(fit), "pca_dims", cfg.PCADims)
	m, secs, err := timedFit(b.ctx, fit, cfg, nil)
	if err != nil {
		return densityScore{}, err
	}
	got := assignIDs(m, scored)
	var in, inTruth []string
	for i, id := range got {
		if id != "" {
			in, inTruth = append(in, id), append(inTruth, truth[i])
		}
	}
	d := densityScore{clusterScore: score(in, inTruth, secs, m.K()),
		OutlierShare: 1 - float64(len(in))/float64(len(got)),
		NMIAll:       cluster.NMI(got, truth), ARIAll: cluster.ARI(got, truth),
		PCADims: cfg.PCADims, MinCluster: m.Config.MinClusterSize, MinSamples: m.Config.MinSamples}
	return d, nil
}

func benchClusterCmd(g *globals) *cobra.Command {
	var (
		asJSON   bool
		python   string
		datasets string
		child    bool
		skip     []string
		inits    int
	)
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Segment quality, stability, behavior fusion and scale on real labeled data",
		Long: `bench cluster measures the segment stage on real data with vectors from the
project's own embedding model (served by a managed Ollama on a free port;
vectors are cached under the cache dir keyed by text hash):

  airline_negative  negative airline tweets: NMI/ARI against negativereason,
                    Attune vs scikit-learn KMeans and MiniBatchKMeans on the
                    identical feature matrix Attune exports (python3-sklearn)
  banking77         test split: NMI/ARI/Hungarian accuracy at k=77 and auto k
  stability         ARI between fits on bootstrap resamples; share of segment
                    ids kept after a re-cluster with 10% new events
  fusion            Olist reviews (Portuguese) fused with delivery delay,
                    order value and review score vs text only
  recluster_100k    time and peak RSS of fitting 100k events (resampled real
                    vectors with noise), in a child process`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := g.load()
			if err != nil {
				return err
			}
			if datasets == "" {
				datasets = cfg.Model.DatasetsDir
			}
			an, err := nlp.New()
			if err != nil {
				return err
			}
			emb := &benchEmbedder{cfg: cfg, log: log}
			defer emb.Close()
			// The cache is keyed by the model's digest too: a model rebuilt
			// under the same name must not be measured with old vectors.
			space, err := emb.start(cmd.Context())
			if err != nil {
				return err
			}
			cache, err := loadVecCache(filepath.Join(cfg.cacheDir(), "bench", "cluster-vectors.bin"), space.Model+"@"+space.Digest)
			if err != nil {
				return err
			}
			emb.cache = cache
			ccfg := newApp(cfg, log).clusterConfig()
			if inits > 0 {
				ccfg.Inits = inits
			}
			if child {
				return recluster100kChild(cmd.Context(), cmd.OutOrStdout(), datasets, an, emb, ccfg)
			}
			b := &clusterBench{ctx: cmd.Context(), log: func(msg string, args ...any) { log.Info(msg, args...) },
				an: an, emb: emb, ccfg: ccfg, datasets: datasets, python: python, skip: skip, configPath: g.configPath, sets: g.sets}
			res, err := b.run()
			if err != nil {
				return err
			}
			res.EmbeddedThisRun = cache.added
			res.VectorsCachedFrom = cache.path
			return writeBench(cmd.OutOrStdout(), asJSON, res, printClusterBench)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	cmd.Flags().StringVar(&python, "python", "/usr/bin/python3", "python with scikit-learn")
	cmd.Flags().StringVar(&datasets, "datasets", "", "datasets directory (default: model.datasets_dir)")
	cmd.Flags().StringSliceVar(&skip, "skip", nil, "parts to skip: airline,banking77,stability,fusion,recluster")
	cmd.Flags().IntVar(&inits, "inits", 0, "k-means++ restarts per fit (default: the cluster config's)")
	cmd.Flags().BoolVar(&child, "recluster-100k-child", false, "internal: run the 100k re-cluster and print its figures")
	_ = cmd.Flags().MarkHidden("recluster-100k-child")
	return cmd
}

type clusterBench struct {
	ctx      context.Context
	log      func(string, ...any)
	an       *nlp.Analyzer
	emb      *benchEmbedder
	ccfg     cluster.Config
	datasets string
	python   string
	skip     []string
	// configPath and sets (--set overrides) are passed on to the child
	// process, so that it fits with the same settings as this run.
	configPath string
	sets       []string
}

func (b *clusterBench) run() (*benchClusterResult, error) {
	start := time.Now()
	res := &benchClusterResult{}
	tweets, _, err := airlineTweets(b.ctx, b.datasets, b.an, b.emb)
	if err != nil {
		return nil, fmt.Errorf("airline tweets: %w", err)
	}
	if !slices.Contains(b.skip, "airline") {
		if err := b.airline(res, tweets); err != nil {
			return nil, err
		}
	}
	if !slices.Contains(b.skip, "banking77") {
		if err := b.banking(res); err != nil {
			return nil, err
		}
	}
	if !slices.Contains(b.skip, "stability") {
		if err := b.stability(res, tweets); err != nil {
			return nil, err
		}
	}
	if !slices.Contains(b.skip, "fusion") {
		if err := b.fusion(res); err != nil {
			return nil, err
		}
	}
	if !slices.Contains(b.skip, "recluster") {
		if err := b.recluster(res); err != nil {
			return nil, err
		}
	}
	res.Seconds = time.Since(start).Seconds()
	res.PeakRSSMB = peakRSSMiB()
	return res, nil
}

func points(lp []labeledPoint) []cluster.Point {
	out := make([]cluster.Point, len(lp))
	for i, p := range lp {
		out[i] = p.Point
	}
	return out
}

func assignIDs(m *cluster.Model, pts []cluster.Point) []string {
	out := make([]string, len(pts))
	for i, p := range pts {
		out[i] = m.Assign(p).ID
	}
	return out
}

func score(labels []string, truth []string, secs float64, k int) clusterScore {
	return clusterScore{NMI: cluster.NMI(labels, truth), ARI: cluster.ARI(labels, truth),
		Acc: cluster.MatchedAccuracy(labels, truth), Seconds: secs, K: k}
}

func timedFit(ctx context.Context, pts []cluster.Point, cfg cluster.Config, prev *cluster.Model) (*cluster.Model, float64, error) {
	m, secs, _, err := timedFitCPU(ctx, pts, cfg, prev)
	return m, secs, err
}

// timedFitCPU is timedFit that also returns the CPU time the process spent
// in the fit.
func timedFitCPU(ctx context.Context, pts []cluster.Point, cfg cluster.Config, prev *cluster.Model) (*cluster.Model, float64, float64, error) {
	c := processCPU().Seconds()
	t := time.Now()
	m, err := cluster.Fit(ctx, pts, cfg, prev)
	return m, time.Since(t).Seconds(), processCPU().Seconds() - c, err
}

func (b *clusterBench) airline(res *benchClusterResult, tweets []labeledPoint) error {
	var neg []labeledPoint
	var truth []string
	for _, p := range tweets {
		if p.label != "" {
			neg = append(neg, p)
			truth = append(truth, p.label)
		}
	}
	r := &res.AirlineNegative
	r.Points = len(neg)
	r.Reasons = len(uniq(truth))
	pts := points(neg)
	b.log("airline negative: fitting", "points", len(pts))
	m, secs, cpu, err := timedFitCPU(b.ctx, pts, b.ccfg, nil)
	if err != nil {
		return err
	}
	r.Attune = score(assignIDs(m, pts), truth, secs, m.K())
	r.Attune.CPUSeconds = cpu
	r.KScores = m.KScores
	fixed := b.ccfg
	fixed.K = m.K()
	mf, secs, cpu, err := timedFitCPU(b.ctx, pts, fixed, nil)
	if err != nil {
		return err
	}
	r.AttuneFixedK = score(assignIDs(mf, pts), truth, secs, mf.K())
	r.AttuneFixedK.CPUSeconds = cpu
	fixed.Algorithm = cluster.AlgorithmMiniBatch
	mm, secs, cpu, err := timedFitCPU(b.ctx, pts, fixed, nil)
	if err != nil {
		return err
	}
	r.AttuneMiniBatch = score(assignIDs(mm, pts), truth, secs, mm.K())
	r.AttuneMiniBatch.CPUSeconds = cpu

	x := make([][]float64, len(pts))
	for i, p := range pts {
		if x[i], err = m.Fused(p); err != nil {
			return err
		}
	}
	r.Dims = len(x[0])
	b.log("airline negative: scikit-learn on the same matrix", "k", m.K())
	km, mb, ver, err := runSklearn(b.ctx, b.python, x, m.K(), b.ccfg.Seed)
	if err != nil {
		return err
	}
	r.SklearnVersion = ver
	r.SklearnKMeans = score(itoa(km.Labels), truth, km.Seconds, m.K())
	r.SklearnKMeans.CPUSeconds = km.CPUSeconds
	r.SklearnMiniBatch = score(itoa(mb.Labels), truth, mb.Seconds, m.K())
	r.SklearnMiniBatch.CPUSeconds = mb.CPUSeconds
	if r.SameMatrix, err = b.sameMatrix(x, truth, m.K()); err != nil {
		return err
	}

	all := points(tweets)
	ma, secs, err := timedFit(b.ctx, all, b.ccfg, nil)
	if err != nil {
		return err
	}
	var got []string
	for _, p := range neg {
		got = append(got, ma.Assign(p.Point).ID)
	}
	r.AllTweets = score(got, truth, secs, ma.K())
	if ma.Scaler.PCA != nil {
		r.PCAExplained = ma.Scaler.PCA.Explained
	}
	if r.Density, err = b.density(pts, pts, truth); err != nil {
		return fmt.Errorf("density: %w", err)
	}
	if r.DensityAllTweets, err = b.density(all, pts, truth); err != nil {
		return fmt.Errorf("density, all tweets: %w", err)
	}
	return nil
}

func itoa(v []int) []string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = strconv.Itoa(x)
	}
	return out
}

func uniq(v []string) []string {
	s := slices.Clone(v)
	slices.Sort(s)
	return slices.Compact(s)
}

func (b *clusterBench) banking(res *benchClusterResult) error {
	lp, err := banking77Test(b.ctx, b.datasets, b.an, b.emb)
	if err != nil {
		return fmt.Errorf("banking77: %w", err)
	}
	pts := points(lp)
	truth := make([]string, len(lp))
	for i, p := range lp {
		truth[i] = p.label
	}
	cfg := b.ccfg
	cfg.K = 77
	b.log("banking77: k=77", "points", len(pts))
	m, secs, err := timedFit(b.ctx, pts, cfg, nil)
	if err != nil {
		return err
	}
	res.Banking77.K77 = score(assignIDs(m, pts), truth, secs, m.K())
	// Automatic k over a range wide enough to hold the truth: the
	// production range (8..24) is for micro-segments of one business.
	cfg.K, cfg.KMin, cfg.KMax = 0, 20, 120
	b.log("banking77: automatic k in 20..120")
	m, secs, err = timedFit(b.ctx, pts, cfg, nil)
	if err != nil {
		return err
	}
	res.Banking77.Auto = score(assignIDs(m, pts), truth, secs, m.K())
	return nil
}

// stability fits bootstrap resamples of every tweet and compares how each
// fit assigns the original tweets; then re-clusters after 10% new events.
func (b *clusterBench) stability(res *benchClusterResult, tweets []labeledPoint) error {
	all := points(tweets)
	const resamples = 3
	r := &res.Stability
	full, _, err := timedFit(b.ctx, all, b.ccfg, nil)
	if err != nil {
		return err
	}
	resample := func(i int) []cluster.Point {
		rng := rand.New(rand.NewPCG(uint64(b.ccfg.Seed), uint64(100+i)))
		boot := make([]cluster.Point, len(all))
		for j := range boot {
			boot[j] = all[rng.IntN(len(all))]
		}
		return boot
	}
	meanARI := func(labelings [][]string) (float64, []float64) {
		var aris []float64
		var sum float64
		for i := range labelings {
			for j := i + 1; j < len(labelings); j++ {
				a := cluster.ARI(labelings[i], labelings[j])
				aris = append(aris, a)
				sum += a
			}
		}
		return sum / float64(len(aris)), aris
	}
	// Independent fits: a first fit's stability, with its own k and at
	// the full fit's k.
	for _, sameK := range []bool{false, true} {
		var labelings [][]string
		for i := range resamples {
			cfg := b.ccfg
			cfg.Seed = b.ccfg.Seed + int64(i) + 1
			if sameK {
				cfg.K = full.K()
			}
			b.log("stability: independent bootstrap fit", "resample", i+1, "same_k", sameK)
			m, _, err := timedFit(b.ctx, resample(i), cfg, nil)
			if err != nil {
				return err
			}
			if !sameK {
				r.ColdKs = append(r.ColdKs, m.K())
			}
			labelings = append(labelings, assignIDs(m, all))
		}
		if sameK {
			r.SameKBootstrapARI, _ = meanARI(labelings)
		} else {
			r.ColdBootstrapARI, r.ColdPairARIs = meanARI(labelings)
		}
	}
	// Re-clusters: a first fit on another resample, then each resample
	// re-clustered with the model before it as prev, each with a seed of
	// its own. Labelings are compared by assignment of the original
	// tweets, never by segment id, so keeping ids earns nothing here.
	prev, _, err := timedFit(b.ctx, resample(resamples), b.ccfg, nil)
	if err != nil {
		return err
	}
	r.FirstFitK = prev.K()
	var labelings [][]string
	for i := range resamples {
		cfg := b.ccfg
		cfg.Seed = b.ccfg.Seed + int64(i) + 1
		b.log("stability: bootstrap re-cluster", "resample", i+1)
		m, _, err := timedFit(b.ctx, resample(i), cfg, prev)
		if err != nil {
			return err
		}
		r.BootstrapKs = append(r.BootstrapKs, m.K())
		labelings = append(labelings, assignIDs(m, all))
		prev = m
	}
	r.BootstrapARI, r.PairARIs = meanARI(labelings)
	// 10% new events: fit on 10/11 of the tweets, then on all of them with
	// the first model as the previous one.
	rng := rand.New(rand.NewPCG(uint64(b.ccfg.Seed), 200))
	perm := rng.Perm(len(all))
	old := make([]cluster.Point, 0, len(all))
	for _, i := range perm[:len(all)*10/11] {
		old = append(old, all[i])
	}
	b.log("stability: re-cluster after 10% new events")
	prev, _, err = timedFit(b.ctx, old, b.ccfg, nil)
	if err != nil {
		return err
	}
	next, _, err := timedFit(b.ctx, all, b.ccfg, prev)
	if err != nil {
		return err
	}
	ids := map[string]bool{}
	for _, s := range next.Segments() {
		ids[s.ID] = true
	}
	kept := 0
	for _, s := range prev.Segments() {
		if ids[s.ID] {
			kept++
		}
	}
	r.IDsKept = float64(kept) / float64(prev.K())
	r.KBefore, r.KAfter = prev.K(), next.K()
	return nil
}

// deliveryStems mark a segment as being about delivery: Portuguese words for
// deliver, arrive, receive, deadline, late, take long ("entrega", "chegou",
// "recebi", "prazo", "atraso", "demora"), matched as prefixes of top terms.
var deliveryStems = []string{"entreg", "cheg", "receb", "prazo", "atras", "demor"}

func (b *clusterBench) fusion(res *benchClusterResult) error {
	pts, revs, popLate, err := olistReviews(b.ctx, b.datasets, b.an, b.emb)
	if err != nil {
		return fmt.Errorf("olist: %w", err)
	}
	f := &res.Fusion
	f.Reviews = len(pts)
	f.LateSharePopulation = popLate
	var late, dated float64
	var meanScore float64
	for _, r := range revs {
		meanScore += r.score
		if !math.IsNaN(r.delay) {
			dated++
			if r.late {
				late++
			}
		}
	}
	meanScore /= float64(len(revs))
	f.LateShareReviewsWithText = late / dated
	runs := []struct {
		name string
		w    float64
	}{{"text_only", 0}, {"fused_default", b.ccfg.Weights.Behavior}, {"fused_0.5", 0.5}}
	for _, run := range runs {
		cfg := b.ccfg
		cfg.Weights.Behavior = run.w
		if run.w > 0 {
			cfg.Attributes = []string{olistDelayAttr}
		} else {
			// Behavior weight 0 is "off" only with another weight set.
			cfg.Weights.Behavior = 0
		}
		b.log("fusion: fitting olist reviews", "run", run.name, "points", len(pts))
		m, _, err := timedFit(b.ctx, pts, cfg, nil)
		if err != nil {
			return err
		}
		labels := assignIDs(m, pts)
		info := fusionRunInfo{Name: run.name, BehaviorWeight: run.w, K: m.K()}
		var delay, logValue, scores []float64
		var dl, vl, sl []string
		for i, r := range revs {
			if !math.IsNaN(r.delay) {
				delay = append(delay, r.delay)
				dl = append(dl, labels[i])
			}
			if !math.IsNaN(r.value) {
				logValue = append(logValue, math.Log1p(r.value))
				vl = append(vl, labels[i])
			}
			scores = append(scores, r.score)
			sl = append(sl, labels[i])
		}
		info.Eta2Delay = eta2(delay, dl)
		info.Eta2LogValue = eta2(logValue, vl)
		info.Eta2Score = eta2(scores, sl)
		// Late share per segment.
		type acc struct{ late, dated, score, n float64 }
		per := map[string]*acc{}
		for i, r := range revs {
			a := per[labels[i]]
			if a == nil {
				a = &acc{}
				per[labels[i]] = a
			}
			a.n++
			a.score += r.score
			if !math.IsNaN(r.delay) {
				a.dated++
				if r.late {
					a.late++
				}
			}
		}
		var dLate, dDated float64
		for _, s := range m.Segments() {
			a := per[s.ID]
			if a == nil || a.dated == 0 {
				continue
			}
			if share := a.late / a.dated; share > info.MaxSegmentLate {
				info.MaxSegmentLate, info.MaxSegmentName = share, s.Name
			}
			if a.score/a.n >= meanScore || !aboutDelivery(s) {
				continue
			}
			info.DeliverySegments = append(info.DeliverySegments, s.Name)
			dLate += a.late
			dDated += a.dated
			info.DeliveryReviews += int(a.n)
		}
		if dDated > 0 {
			info.DeliveryLateShare = dLate / dDated
		}
		f.Runs = append(f.Runs, info)
	}
	f.Eta2DelayTextOnly = f.Runs[0].Eta2Delay
	f.Eta2DelayFused = f.Runs[1].Eta2Delay
	f.LateShareInDeliverySegment = f.Runs[1].DeliveryLateShare
	return nil
}

func aboutDelivery(s attune.Segment) bool {
	terms := append([]string{s.Name}, s.TopTerms...)
	for _, t := range terms {
		for _, part := range strings.Split(strings.ToLower(t), "-") {
			for _, d := range deliveryStems {
				if strings.HasPrefix(part, d) {
					return true
				}
			}
		}
	}
	return false
}

// eta2 is the share of the variance of v explained by the groups: between-
// group sum of squares over the total.
func eta2(v []float64, groups []string) float64 {
	if len(v) == 0 {
		return 0
	}
	var mean float64
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	type acc struct{ sum, n float64 }
	g := map[string]*acc{}
	var total float64
	for i, x := range v {
		total += (x - mean) * (x - mean)
		a := g[groups[i]]
		if a == nil {
			a = &acc{}
			g[groups[i]] = a
		}
		a.sum += x
		a.n++
	}
	var between float64
	for _, a := range g {
		d := a.sum/a.n - mean
		between += a.n * d * d
	}
	if total == 0 {
		return 0
	}
	return between / total
}

// recluster runs the 100k fit in a child process so that its peak RSS is
// its own, not this run's.
func (b *clusterBench) recluster(res *benchClusterResult) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	args := []string{"bench", "cluster", "--recluster-100k-child", "--datasets", b.datasets}
	if b.configPath != "" {
		args = append(args, "--config", b.configPath)
	}
	for _, kv := range b.sets {
		args = append(args, "--set", kv)
	}
	b.log("recluster: 100k events in a child process")
	cmd := exec.CommandContext(b.ctx, exe, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("100k re-cluster child: %w", err)
	}
	return json.Unmarshal(out, &res.Recluster100k)
}

// recluster100kChild builds 100k events by resampling the airline tweets
// and jittering their embeddings (Gaussian noise of 0.3× the per-dimension
// spread, then re-normalised), fits them with the production config and
// prints the time and this process's peak RSS.
func recluster100kChild(ctx context.Context, w io.Writer, datasets string, an *nlp.Analyzer, emb *benchEmbedder, cfg cluster.Config) error {
	tweets, _, err := airlineTweets(ctx, datasets, an, emb)
	if err != nil {
		return err
	}
	const n = 100_000
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 300))
	pts := make([]cluster.Point, n)
	for i := range pts {
		src := tweets[rng.IntN(len(tweets))].Point
		v := make(attune.Vector, len(src.Vec))
		sigma := 0.3 / math.Sqrt(float64(len(v)))
		var norm float64
		for j, x := range src.Vec {
			v[j] = x + float32(rng.NormFloat64()*sigma)
			norm += float64(v[j]) * float64(v[j])
		}
		for j := range v {
			v[j] /= float32(math.Sqrt(norm))
		}
		p := src
		p.Vec = v
		p.Doc.Event.ID = "syn-" + strconv.Itoa(i)
		pts[i] = p
	}
	tweets = nil
	out := reclusterResult{Events: n, RSSBeforeMB: currentRSSMiB()}
	m, secs, cpu, err := timedFitCPU(ctx, pts, cfg, nil)
	if err != nil {
		return err
	}
	out.Seconds, out.CPUSeconds, out.K = secs, cpu, m.K()
	// The peak of this one re-cluster, before the comparison fits below.
	out.PeakRSSMB = peakRSSMiB()
	again := cfg
	again.Seed++
	if _, out.WithPrevSeconds, out.WithPrevCPUSeconds, err = timedFitCPU(ctx, pts, again, m); err != nil {
		return err
	}
	fixed := cfg
	fixed.K = m.K()
	exact, secs, err := timedFit(ctx, pts, fixed, nil)
	if err != nil {
		return err
	}
	out.FixedKSeconds = secs
	fixed.Algorithm = cluster.AlgorithmMiniBatch
	mb, secs, err := timedFit(ctx, pts, fixed, nil)
	if err != nil {
		return err
	}
	out.MiniBatchSeconds = secs
	out.MiniBatchInertiaRatio = mb.Inertia / exact.Inertia
	out.MiniBatchARIVsExact = cluster.ARI(assignIDs(exact, pts), assignIDs(mb, pts))
	out.PeakRSSAllMB = peakRSSMiB()
	return json.NewEncoder(w).Encode(out)
}

func currentRSSMiB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		var kb float64
		if _, err := fmt.Sscanf(line, "VmRSS: %f kB", &kb); err == nil {
			return kb / 1024
		}
	}
	return 0
}

func printClusterBench(w io.Writer, r *benchClusterResult) {
	an := r.AirlineNegative
	fmt.Fprintf(w, "airline negative tweets (%d, %d reasons, %d-d fused features)\n", an.Points, an.Reasons, an.Dims)
	fmt.Fprintf(w, "  %-26s %3s %7s %7s %8s %8s\n", "", "k", "NMI", "ARI", "seconds", "cpu s")
	for _, row := range []struct {
		name string
		s    clusterScore
	}{{"attune (auto k)", an.Attune}, {"attune (same k)", an.AttuneFixedK}, {"attune mini-batch (same k)", an.AttuneMiniBatch},
		{"sklearn KMeans " + an.SklearnVersion, an.SklearnKMeans}, {"sklearn MiniBatchKMeans", an.SklearnMiniBatch},
		{"attune, all tweets fitted", an.AllTweets}} {
		fmt.Fprintf(w, "  %-26s %3d %7.3f %7.3f %8.2f %8.2f\n", row.name, row.s.K, row.s.NMI, row.s.ARI, row.s.Seconds, row.s.CPUSeconds)
	}
	fmt.Fprintf(w, "  PCA keeps %.0f%% of the embedding's variance\n", 100*an.PCAExplained)
	sm := an.SameMatrix
	fmt.Fprintf(w, "  clustering alone on the identical matrix, mean of %d seeds:\n", sm.Seeds)
	for _, row := range []struct {
		name string
		s    clusterScore
	}{{"attune k-means", sm.Attune}, {"sklearn KMeans", sm.SklearnKMeans}, {"attune mini-batch", sm.AttuneMiniBatch}, {"sklearn MiniBatchKMeans", sm.SklearnMiniBatch}} {
		fmt.Fprintf(w, "  %-26s %3d %7.3f %7.3f %8.2f %8.2f\n", row.name, row.s.K, row.s.NMI, row.s.ARI, row.s.Seconds, row.s.CPUSeconds)
	}
	for _, row := range []struct {
		name string
		d    densityScore
	}{{"attune density", an.Density}, {"attune density, all tweets", an.DensityAllTweets}} {
		fmt.Fprintf(w, "  %-26s %3d %7.3f %7.3f %8.2f  (assigned only; %.1f%% outliers; outliers as a segment: NMI %.3f ARI %.3f; pca %d, min_cluster_size %d, min_samples %d)\n",
			row.name, row.d.K, row.d.NMI, row.d.ARI, row.d.Seconds, 100*row.d.OutlierShare, row.d.NMIAll, row.d.ARIAll, row.d.PCADims, row.d.MinCluster, row.d.MinSamples)
	}
	fmt.Fprintf(w, "banking77 test\n")
	for _, row := range []struct {
		name string
		s    clusterScore
	}{{"k=77", r.Banking77.K77}, {"auto k", r.Banking77.Auto}} {
		fmt.Fprintf(w, "  %-8s k=%-3d NMI %.3f  ARI %.3f  acc %.3f  %.1fs\n", row.name, row.s.K, row.s.NMI, row.s.ARI, row.s.Acc, row.s.Seconds)
	}
	st := r.Stability
	fmt.Fprintf(w, "stability: bootstrap ARI of re-clusters %.3f (k %d then %v); of independent fits %.3f (k %v; same k: %.3f), ids kept after +10%% events %.0f%% (k %d→%d)\n",
		st.BootstrapARI, st.FirstFitK, st.BootstrapKs, st.ColdBootstrapARI, st.ColdKs, st.SameKBootstrapARI, 100*st.IDsKept, st.KBefore, st.KAfter)
	fu := r.Fusion
	fmt.Fprintf(w, "fusion (olist, %d reviews with text; late: %.1f%% of all reviews, %.1f%% of those with text)\n",
		fu.Reviews, 100*fu.LateSharePopulation, 100*fu.LateShareReviewsWithText)
	for _, run := range slices.SortedFunc(slices.Values(fu.Runs), func(a, b fusionRunInfo) int { return cmp.Compare(a.BehaviorWeight, b.BehaviorWeight) }) {
		fmt.Fprintf(w, "  %-14s k=%-2d eta² delay %.3f  log value %.3f  score %.3f  delivery segments %v late %.1f%% (%d reviews); most late %q %.1f%%\n",
			run.Name, run.K, run.Eta2Delay, run.Eta2LogValue, run.Eta2Score, run.DeliverySegments, 100*run.DeliveryLateShare,
			run.DeliveryReviews, run.MaxSegmentName, 100*run.MaxSegmentLate)
	}
	rc := r.Recluster100k
	fmt.Fprintf(w, "re-cluster %d events: %.1fs auto k=%d (%.1fs fixed k; mini-batch %.1fs, inertia ×%.3f, ARI vs exact %.2f), peak RSS %.0f MiB (%.0f before the fit)\n",
		rc.Events, rc.Seconds, rc.K, rc.FixedKSeconds, rc.MiniBatchSeconds, rc.MiniBatchInertiaRatio, rc.MiniBatchARIVsExact, rc.PeakRSSMB, rc.RSSBeforeMB)
	fmt.Fprintf(w, "total %.0fs, peak RSS %.0f MiB, %d texts embedded this run\n", r.Seconds, r.PeakRSSMB, r.EmbeddedThisRun)
}

// sameMatrix is the clustering-only comparison on one matrix: mean scores
// and times over Seeds seeds.
type sameMatrix struct {
	Seeds            int          `json:"seeds"`
	Attune           clusterScore `json:"attune_kmeans"`
	AttuneMiniBatch  clusterScore `json:"attune_minibatch"`
	SklearnKMeans    clusterScore `json:"sklearn_kmeans"`
	SklearnMiniBatch clusterScore `json:"sklearn_minibatch"`
}

// sameMatrixSeeds is how many seeds sameMatrix averages: one seed's NMI
// moves by about ±0.005 between near-equal k-means optima.
const sameMatrixSeeds = 5

func (b *clusterBench) sameMatrix(x [][]float64, truth []string, k int) (sameMatrix, error) {
	out := sameMatrix{Seeds: sameMatrixSeeds}
	add := func(to *clusterScore, labels []string, secs, cpu float64) {
		sc := score(labels, truth, secs, k)
		to.NMI += sc.NMI / sameMatrixSeeds
		to.ARI += sc.ARI / sameMatrixSeeds
		to.Acc += sc.Acc / sameMatrixSeeds
		to.Seconds += secs / sameMatrixSeeds
		to.CPUSeconds += cpu / sameMatrixSeeds
		to.K = k
	}
	for i := range sameMatrixSeeds {
		seed := b.ccfg.Seed + int64(i)
		for _, alg := range []string{cluster.AlgorithmKMeans, cluster.AlgorithmMiniBatch} {
			cfg := b.ccfg
			cfg.Seed, cfg.Algorithm = seed, alg
			c, t := processCPU(), time.Now()
			labels, err := cluster.KMeans(b.ctx, x, k, cfg)
			if err != nil {
				return out, err
			}
			secs, cpu := time.Since(t).Seconds(), (processCPU() - c).Seconds()
			if alg == cluster.AlgorithmKMeans {
				add(&out.Attune, itoa(labels), secs, cpu)
			} else {
				add(&out.AttuneMiniBatch, itoa(labels), secs, cpu)
			}
		}
		km, mb, _, err := runSklearn(b.ctx, b.python, x, k, seed)
		if err != nil {
			return out, err
		}
		add(&out.SklearnKMeans, itoa(km.Labels), km.Seconds, km.CPUSeconds)
		add(&out.SklearnMiniBatch, itoa(mb.Labels), mb.Seconds, mb.CPUSeconds)
	}
	return out, nil
}
