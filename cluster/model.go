package cluster

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/attune-cx/attune"
)

// ModelVersion is the layout version of Model; LoadModel refuses newer ones.
// Version 2 added Scaler.PCA and Density, which change the width of the
// fused space: a version-1 reader would misplace every point. Version-1
// models load as they are.
const ModelVersion = 2

// exemplarCount is how many texts closest to its centroid a segment shows.
const exemplarCount = 3

// clearMatch is how close a new centroid must be to a previous one to take
// over its id: closer than this fraction of the distance from the previous
// centroid to its nearest previous neighbour. Below one half the new centroid
// is guaranteed nearer to that previous centroid than to any other.
const clearMatch = 0.5

// ErrNoPoints is returned by Fit when given nothing to cluster.
var ErrNoPoints = errors.New("no points to cluster")

// Point is one event to cluster: the analysed doc, its embedding and the
// features of its customer.
type Point struct {
	Doc      attune.Doc
	Vec      attune.Vector
	Customer attune.Customer
}

// Model is a fitted segmentation. Its exported fields are its whole state,
// so it round-trips through JSON (see Store.SaveModel).
type Model struct {
	Version int `json:"version"`
	// Dim is the embedding dimension the model was fitted on; points of
	// another dimension cannot be assigned.
	Dim int `json:"dim"`
	// Config is the configuration the model was fitted with, defaults
	// applied.
	Config Config `json:"config"`
	// Scaler turns points into fused vectors.
	Scaler Scaler `json:"scaler"`
	// Centroids holds one fused-space centroid per segment, parallel to
	// Clusters.
	Centroids [][]float64 `json:"centroids"`
	// Clusters describes each segment, sorted by size (largest first).
	Clusters []attune.Segment `json:"clusters"`
	// NextID numbers the next new segment id, so that ids are never reused.
	NextID int `json:"next_id"`
	// KScores holds the silhouette, largest segment and catch-all of
	// every k tried; empty when Config.K fixed k.
	KScores []KScore `json:"k_scores,omitempty"`
	// Density, set by AlgorithmDensity, holds the segments' envelope: a
	// point outside it is an outlier and stays unassigned.
	Density *DensityIndex `json:"density,omitempty"`
	// Outliers is how many fitted points AlgorithmDensity left unassigned.
	Outliers int `json:"outliers,omitempty"`
	// Inertia is the final fit's sum of squared distances to centroids.
	Inertia float64 `json:"inertia"`
	// Points is how many points the model was fitted on.
	Points int `json:"points"`
	// Lineage says, for each segment, which previous segments it came
	// from (see Fit's prev); parallel to Clusters. Every segment is "new"
	// in a first fit.
	Lineage []Lineage `json:"lineage,omitempty"`
	// UserNamed holds the ids of segments renamed by a user (Rename).
	UserNamed map[string]bool `json:"user_named,omitempty"`
	// FittedAt is when Fit ran (wall clock; it plays no part in the fit).
	FittedAt time.Time `json:"fitted_at"`
}

// K returns the number of segments.
func (m *Model) K() int { return len(m.Centroids) }

// Segments returns a copy of every segment, largest first.
func (m *Model) Segments() []attune.Segment {
	out := make([]attune.Segment, len(m.Clusters))
	for i, s := range m.Clusters {
		s.TopTerms = slices.Clone(s.TopTerms)
		s.Exemplars = slices.Clone(s.Exemplars)
		out[i] = s
	}
	slices.SortStableFunc(out, func(a, b attune.Segment) int { return cmp.Compare(b.Size, a.Size) })
	return out
}

// Assign returns the ID and Name of the segment whose centroid is nearest to
// p. A point the model cannot place (a vector of another dimension, non-finite
// values, an empty model) gets the zero Segment, whose empty ID means
// unassigned; Nearest says why. So does, in a density model, a point outside
// every segment's envelope (see DensityIndex): an outlier.
func (m *Model) Assign(p Point) attune.Segment {
	j, _, err := m.nearest(p)
	if err != nil {
		return attune.Segment{}
	}
	if m.Density != nil {
		v, err := m.Fused(p)
		if err != nil {
			return attune.Segment{}
		}
		if j = m.Density.member(v); j < 0 {
			return attune.Segment{}
		}
	}
	return attune.Segment{ID: m.Clusters[j].ID, Name: m.Clusters[j].Name}
}

// Nearest returns the segment nearest to p and the Euclidean distance to its
// centroid in the fused space. Its error wraps ErrDimMismatch when p's vector
// has another dimension than the model's.
func (m *Model) Nearest(p Point) (attune.Segment, float64, error) {
	j, d, err := m.nearest(p)
	if err != nil {
		return attune.Segment{}, 0, err
	}
	return m.Clusters[j], d, nil
}

// nearest returns the index of the centroid nearest to p and its distance.
func (m *Model) nearest(p Point) (int, float64, error) {
	if m == nil || m.K() == 0 {
		return 0, 0, errors.New("model has no segments")
	}
	v := make([]float64, m.Scaler.width(m.Dim))
	if err := m.Scaler.fuse(v, p, m.Dim, m.Config.Weights); err != nil {
		return 0, 0, err
	}
	best, bestD := -1, math.Inf(1)
	for j, c := range m.Centroids {
		if len(c) != len(v) {
			return 0, 0, fmt.Errorf("centroid %d has %d dimensions, want %d: %w", j, len(c), len(v), ErrDimMismatch)
		}
		if d := sqDist(v, c); d < bestD {
			best, bestD = j, d
		}
	}
	return best, math.Sqrt(bestD), nil
}

// Fused returns p's vector in the model's feature space, the space its
// centroids live in: what Fit clustered, so that other tools can be run on
// exactly the same features.
func (m *Model) Fused(p Point) ([]float64, error) {
	v := make([]float64, m.Scaler.width(m.Dim))
	if err := m.Scaler.fuse(v, p, m.Dim, m.Config.Weights); err != nil {
		return nil, err
	}
	return v, nil
}

// validate checks the invariants Fit establishes, for models read back from
// storage.
func (m *Model) validate() error {
	switch {
	case m.Version > ModelVersion:
		return fmt.Errorf("model version %d is newer than supported %d", m.Version, ModelVersion)
	case m.Dim <= 0:
		return fmt.Errorf("model dimension is %d", m.Dim)
	case len(m.Centroids) != len(m.Clusters):
		return fmt.Errorf("model has %d centroids for %d segments", len(m.Centroids), len(m.Clusters))
	}
	if m.Density != nil {
		if err := m.Density.validate(m.Scaler.width(m.Dim), m.K()); err != nil {
			return err
		}
	}
	if m.Scaler.PCA != nil {
		if err := m.Scaler.PCA.validate(m.Dim); err != nil {
			return err
		}
	}
	w := m.Scaler.width(m.Dim)
	for j, c := range m.Centroids {
		if len(c) != w {
			return fmt.Errorf("centroid %d has %d dimensions, want %d", j, len(c), w)
		}
	}
	return nil
}

// Fit clusters pts and returns the model.
//
// k is cfg.K when set (at most one segment per point); otherwise the k in
// [KMin, KMax] with the best mean silhouette on a sample of cfg.SampleSize
// points among those without a catch-all over cfg.MaxShare (see chooseK and
// avoidCatchall), or 1 when there are too few points to compare partitions.
// The final k-means++ fit runs on all points. Every k-means is the best of cfg.Inits
// seedings by inertia. With AlgorithmDensity, HDBSCAN finds the segments
// instead and points in none stay unassigned (Model.Outliers; see
// AlgorithmDensity). With cfg.PCADims the embedding block is first reduced
// to its principal axes (see PCA). Segments are then described and named
// (see Describe).
//
// prev, the previous model, may be nil. Given one (k-means, same embedding
// dimension), Fit re-clusters rather than starts over: the automatic k stays
// prev's unless another k's silhouette is clearly higher (see
// clearlyBetter), and, with AlgorithmKMeans, the previous segments, carried
// into the new space as the means of the points prev assigns to each, are
// one more k-means start that wins unless a fresh seeding's inertia is lower
// by more than warmInertiaMargin. Independent fits of bootstrap resamples of
// the airline tweets agree with an ARI of 0.58; re-clusters of them, each
// given the one before as prev, 0.91 (attune bench cluster).
//
// A new segment whose centroid clearly matches a previous one (see
// clearMatch; matched one-to-one by the Hungarian algorithm, see
// matchPrevious) takes over its id and name, so ids survive re-clustering.
// Comparison happens in prev's space, so a change of scaling between fits does
// not break it; a prev of another embedding dimension is ignored. Unmatched
// segments get fresh ids that were never used before.
//
// Fit is deterministic for a given cfg.Seed, apart from FittedAt and
// UpdatedAt, and stops early with ctx's error when ctx is done.
func Fit(ctx context.Context, pts []Point, cfg Config, prev *Model) (*Model, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(pts) == 0 {
		return nil, ErrNoPoints
	}
	dim := len(pts[0].Vec)
	if dim == 0 {
		return nil, fmt.Errorf("event %s has an empty vector", pts[0].Doc.Event.ID)
	}
	m := &Model{Version: ModelVersion, Dim: dim, Config: cfg, Scaler: newScaler(pts, cfg.Attributes), Points: len(pts)}
	pca, err := fitPCA(pts, dim, cfg.PCADims, cfg.Seed)
	if err != nil {
		return nil, fmt.Errorf("build feature vectors: %w", err)
	}
	m.Scaler.PCA = pca
	x := newMatrix(len(pts), m.Scaler.width(dim))
	for i, p := range pts {
		if err := m.Scaler.fuse(x.row(i), p, dim, cfg.Weights); err != nil {
			return nil, fmt.Errorf("build feature vectors: %w", err)
		}
	}

	var byCluster [][]int
	var dist []float64
	if cfg.Algorithm == AlgorithmDensity {
		if byCluster, dist, err = m.fitDensity(ctx, x); err != nil {
			return nil, err
		}
	} else if byCluster, dist, err = m.fitKMeans(ctx, x, pts, prev); err != nil {
		return nil, err
	}
	groups := make([][]attune.Doc, len(byCluster))
	for c, mem := range byCluster {
		for _, i := range mem {
			groups[c] = append(groups[c], pts[i].Doc)
		}
	}

	ids, kept := m.matchPrevious(pts, byCluster, prev)
	descs := describe(groups, cfg.TopTerms, kept, cfg.Bands)
	m.FittedAt = time.Now().UTC()
	for c, mem := range byCluster {
		customers := map[string]bool{}
		for _, i := range mem {
			customers[customerKey(pts[i])] = true
		}
		m.Clusters = append(m.Clusters, attune.Segment{
			ID:            ids[c],
			Name:          descs[c].Name,
			Size:          len(mem),
			Customers:     len(customers),
			MeanSentiment: descs[c].MeanSentiment,
			TopTerms:      descs[c].Terms,
			Exemplars:     exemplars(pts, mem, dist),
			UpdatedAt:     m.FittedAt,
			Aspect:        descs[c].Aspect,
		})
	}
	return m, nil
}

// matchPrevious gives each new cluster the id (and name) of the previous
// segment it matches, and fresh ids to the rest, and records the lineage of
// every new cluster. Names of unmatched clusters are left empty for describe
// to fill.
//
// Matching is one-to-one and optimal: the Hungarian algorithm minimises the
// total centroid distance (in prev's space) over the pairs that clearly match
// (closer than clearMatch times the previous centroid's distance to its
// nearest neighbour). A greedy nearest-first pass can steal a segment's only
// good partner for a slightly better pair and lose an id; the optimum does not.
func (m *Model) matchPrevious(pts []Point, members [][]int, prev *Model) (ids, names []string) {
	ids = make([]string, len(members))
	names = make([]string, len(members))
	m.Lineage = make([]Lineage, len(members))
	if prev != nil {
		m.NextID = prev.NextID
		m.UserNamed = maps.Clone(prev.UserNamed)
	}
	if prev != nil && prev.Dim == m.Dim && prev.K() > 0 && prev.validate() == nil {
		// Each new cluster's centroid in prev's space: the mean of its
		// members as prev scales them. Members are also assigned to prev's
		// segments for the lineage.
		w := prev.Scaler.width(prev.Dim)
		buf := make([]float64, w)
		centroids := make([][]float64, len(members))
		from := make([]map[int]int, len(members))
		prevSizes := make([]int, prev.K())
		for c, mem := range members {
			cen := make([]float64, w)
			from[c] = map[int]int{}
			n := 0
			for _, i := range mem {
				if prev.Scaler.fuse(buf, pts[i], prev.Dim, prev.Config.Weights) != nil {
					continue
				}
				for t, v := range buf {
					cen[t] += v
				}
				n++
				best, bestD := 0, math.Inf(1)
				for q, qc := range prev.Centroids {
					if d := sqDist(buf, qc); d < bestD {
						best, bestD = q, d
					}
				}
				if prev.Density != nil {
					// A density model's segment is its envelope, not the
					// nearest centroid; its outliers came from no segment.
					if best = prev.Density.member(buf); best < 0 {
						continue
					}
				}
				from[c][best]++
				prevSizes[best]++
			}
			if n == 0 {
				continue
			}
			for t := range cen {
				cen[t] /= float64(n)
			}
			centroids[c] = cen
		}
		cost := make([][]float64, len(members))
		for c, cen := range centroids {
			cost[c] = make([]float64, prev.K())
			for p, pc := range prev.Centroids {
				cost[c][p] = math.Inf(1)
				if cen == nil {
					continue
				}
				sep := math.Inf(1)
				for q, qc := range prev.Centroids {
					if q != p {
						sep = min(sep, math.Sqrt(sqDist(pc, qc)))
					}
				}
				if d := math.Sqrt(sqDist(cen, pc)); d < clearMatch*sep {
					cost[c][p] = d
				}
			}
		}
		for c, p := range Hungarian(cost) {
			if p >= 0 {
				ids[c] = prev.Clusters[p].ID
				names[c] = prev.Clusters[p].Name
			}
		}
		for c := range members {
			m.Lineage[c] = lineageOf(from[c], prevSizes, prev)
		}
	}
	for c := range ids {
		if ids[c] == "" {
			m.NextID++
			ids[c] = "seg-" + strconv.Itoa(m.NextID)
		}
		m.Lineage[c].ID = ids[c]
		switch {
		case len(m.Lineage[c].From) == 0:
			m.Lineage[c].Kind = LineageNew
		case len(m.Lineage[c].From) > 1:
			m.Lineage[c].Kind = LineageMerge
		case m.Lineage[c].From[0].ID != ids[c] || m.Lineage[c].From[0].Share < 1-lineageShare:
			m.Lineage[c].Kind = LineageSplit
		default:
			m.Lineage[c].Kind = LineageKept
		}
	}
	// A user name survives only on the segment that kept its id.
	for id := range m.UserNamed {
		if !slices.Contains(ids, id) {
			delete(m.UserNamed, id)
		}
	}
	return ids, names
}

// lineageShare is the share of a previous segment's members a new segment
// must take to count as one of its sources: a few points changing sides is
// noise, a fifth of a segment moving is a split.
const lineageShare = 0.2

// lineageOf lists the previous segments a new cluster draws on: those that
// sent it at least lineageShare of their members, biggest share first.
func lineageOf(from map[int]int, prevSizes []int, prev *Model) Lineage {
	var l Lineage
	for p, n := range from {
		if prevSizes[p] == 0 {
			continue
		}
		share := float64(n) / float64(prevSizes[p])
		if share >= lineageShare {
			l.From = append(l.From, LineageSource{ID: prev.Clusters[p].ID, Share: share})
		}
	}
	slices.SortFunc(l.From, func(a, b LineageSource) int {
		return cmp.Or(cmp.Compare(b.Share, a.Share), cmp.Compare(a.ID, b.ID))
	})
	return l
}

// Lineage kinds: how a segment relates to the previous model's.
const (
	LineageKept  = "kept"  // took over a previous id, and most of its members
	LineageSplit = "split" // part of a previous segment that broke up
	LineageMerge = "merge" // drew on several previous segments
	LineageNew   = "new"   // no previous segment sent it a fifth of its members
)

// Lineage records where a segment of a re-clustered model came from.
type Lineage struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
	// From lists the previous segments that sent this one at least a fifth
	// of their members, with that share, largest first.
	From []LineageSource `json:"from,omitempty"`
}

// LineageSource is one previous segment and the share of its members that
// moved to the new segment.
type LineageSource struct {
	ID    string  `json:"id"`
	Share float64 `json:"share"`
}

// ErrUnknownSegment is returned for a segment id the model does not hold.
var ErrUnknownSegment = errors.New("unknown segment")

// ErrNameTaken is returned when renaming a segment to another one's name.
var ErrNameTaken = errors.New("segment name taken")

// Rename gives segment id a user-chosen name, which later re-clusters keep
// for as long as the segment keeps its id. Names stay unique; a name must be
// non-empty, at most 64 bytes, with no control characters.
func (m *Model) Rename(id, name string) error {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 64 || strings.ContainsFunc(name, unicode.IsControl) || !utf8.ValidString(name) {
		return fmt.Errorf("rename %s to %q: %w: want 1..64 printable bytes", id, name, ErrInvalidConfig)
	}
	at := -1
	for i, s := range m.Clusters {
		switch {
		case s.ID == id:
			at = i
		case s.Name == name:
			return fmt.Errorf("rename %s to %q: %w by %s", id, name, ErrNameTaken, s.ID)
		}
	}
	if at < 0 {
		return fmt.Errorf("rename %s: %w", id, ErrUnknownSegment)
	}
	m.Clusters[at].Name = name
	if m.UserNamed == nil {
		m.UserNamed = map[string]bool{}
	}
	m.UserNamed[id] = true
	return nil
}

func customerKey(p Point) string {
	switch {
	case p.Doc.Event.CustomerID != "":
		return p.Doc.Event.CustomerID
	case p.Customer.ID != "":
		return p.Customer.ID
	}
	return "event:" + p.Doc.Event.ID
}

// exemplars returns the distinct texts of the members closest to their
// centroid, closest first. Texts with at least minExemplarStems content words
// come first: the very nearest members are often near-empty texts ("cool",
// a lone flight number) whose vectors sit at the centre of everything and say
// nothing about the segment.
func exemplars(pts []Point, mem []int, dist []float64) []string {
	byDist := slices.Clone(mem)
	slices.SortStableFunc(byDist, func(a, b int) int { return cmp.Compare(dist[a], dist[b]) })
	var out []string
	for _, informative := range []bool{true, false} {
		for _, i := range byDist {
			if len(out) == exemplarCount {
				return out
			}
			if informative && len(pts[i].Doc.Analysis.Stems) < minExemplarStems {
				continue
			}
			text := pts[i].Doc.Analysis.Clean
			if text == "" {
				text = pts[i].Doc.Event.Text
			}
			if text == "" || slices.Contains(out, text) {
				continue
			}
			out = append(out, text)
		}
	}
	return out
}

// minExemplarStems is how many content words make a text a good exemplar.
const minExemplarStems = 4

// fitKMeans runs the configured k-means on x, sets the model's centroids,
// KScores and Inertia, and returns the members of each cluster (largest
// first) and each point's squared distance to its centroid.
func (m *Model) fitKMeans(ctx context.Context, x *matrix, pts []Point, prev *Model) ([][]int, []float64, error) {
	cfg := m.Config
	var warm *matrix
	prevK := 0
	if canWarm(pts, x, prev) {
		prevK = prev.K()
		if cfg.Algorithm == AlgorithmKMeans {
			if warm = warmStart(pts, x, prev); warm != nil {
				prevK = warm.n
			}
		}
		// A model fitted on far fewer events (the first fit, at
		// cluster.min_events) says little about k: once the events have
		// doubled, k is chosen afresh. The previous segments still start
		// the final fit when the new k equals theirs.
		if prev.Points > 0 && x.n >= 2*prev.Points {
			prevK = 0
		}
	}
	k := min(cfg.K, x.n)
	if cfg.K == 0 {
		hi := min(cfg.KMax, min(x.n, cfg.SampleSize)-1)
		if hi < cfg.KMin {
			k = 1
		} else {
			var err error
			if k, m.KScores, err = chooseK(ctx, x, stemsOf(pts), cfg.KMin, hi, cfg, prevK); err != nil {
				return nil, nil, fmt.Errorf("choose k: %w", err)
			}
		}
	}
	res, err := m.finalFit(ctx, x, k, warm)
	if err != nil {
		return nil, nil, err
	}
	if cfg.K == 0 && len(m.KScores) > 0 && cfg.MaxShare < 1 && k != prevK {
		if res, err = m.avoidCatchall(ctx, x, pts, res, warm); err != nil {
			return nil, nil, err
		}
		k = res.k
	}
	m.Inertia = res.inertia

	// Order clusters by size and drop empty ones, which only appear when
	// there are fewer distinct points than k.
	byCluster := make([][]int, k)
	for i, l := range res.labels {
		byCluster[l] = append(byCluster[l], i)
	}
	byCluster = slices.DeleteFunc(byCluster, func(mem []int) bool { return len(mem) == 0 })
	slices.SortStableFunc(byCluster, func(a, b []int) int { return cmp.Compare(len(b), len(a)) })
	for _, mem := range byCluster {
		// The centroid the labels were assigned against, so Assign puts
		// every fitted point back where Fit did.
		m.Centroids = append(m.Centroids, slices.Clone(res.centroids.row(res.labels[mem[0]])))
	}

	return byCluster, res.dist, nil
}

// configuredKMeans runs the k-means cfg names (Lloyd's or mini-batch, best
// of cfg.Inits seedings) with k clusters on all of x: what a final fit and
// KMeans run.
func configuredKMeans(ctx context.Context, x *matrix, k int, cfg Config) (*kmResult, error) {
	if cfg.Algorithm == AlgorithmMiniBatch {
		return bestOfMiniBatch(ctx, x, k, cfg.BatchSize, cfg.Inits, cfg.Seed)
	}
	return bestOf(ctx, x, k, cfg.MaxIter, cfg.Inits, cfg.Seed, streamFinal)
}

// finalFit runs the configured k-means with k clusters on all of x; warm,
// the previous segments carried into x's space, is one more start when it
// has k rows.
func (m *Model) finalFit(ctx context.Context, x *matrix, k int, warm *matrix) (*kmResult, error) {
	cfg := m.Config
	res, err := configuredKMeans(ctx, x, k, cfg)
	if err != nil {
		return nil, fmt.Errorf("k-means with k=%d: %w", k, err)
	}
	if warm != nil && warm.n == k {
		// Re-cluster: the previous segments, carried into this fit's space,
		// are one more start; it wins unless a fresh seeding is clearly
		// better, so that segments do not jump between near-equal optima.
		// (Mini-batch is chosen to avoid exact Lloyd passes over all
		// points, so it does not take this start.)
		wr, err := lloyd(ctx, x, rowNorms(x), warm, cfg.MaxIter)
		if err != nil {
			return nil, fmt.Errorf("k-means with k=%d from the previous segments: %w", k, err)
		}
		if wr.inertia <= res.inertia*(1+warmInertiaMargin) {
			res = wr
		}
	}
	return res, nil
}

// maxCatchallRefits bounds how many other k avoidCatchall fits.
const maxCatchallRefits = 3

// avoidCatchall checks the final fit res of an automatic k for a catch-all
// over Config.MaxShare (see chooseK) on all the points. The candidate fits
// that chose k are one short seeding of a sample each, and the final fit,
// converged on every point, can still grow one: in the demo (14,485 tweets
// in the store's order) k 10's sample fit had no segment above 14.6 %, its
// final fit a 24 % "seat-frustrated" segment of bags, seats and flights.
// Then the next larger k is fitted (see nextK), up to maxCatchallRefits
// times, and the fit with the smallest catch-all is kept (the first without
// one): the least change to silhouette's choice that splits the catch-all.
// (Taking silhouette's next best k instead jumped from 11 to 23 segments on
// the negative tweets, NMI 0.215 -> 0.200.) The catch-all of each k fitted
// is recorded in its KScore.Final.
func (m *Model) avoidCatchall(ctx context.Context, x *matrix, pts []Point, res *kmResult, warm *matrix) (*kmResult, error) {
	cfg := m.Config
	terms := newTermSets(stemsOf(pts), x.n)
	catchall := func(r *kmResult) float64 {
		_, c := terms.largest(r.labels, r.k, cfg.MaxShare)
		i := slices.IndexFunc(m.KScores, func(s KScore) bool { return s.K == r.k })
		m.KScores[i].Fitted, m.KScores[i].Final = true, c
		return c
	}
	best, bestC := res, catchall(res)
	k := res.k
	for range maxCatchallRefits {
		if bestC == 0 {
			break
		}
		if k = nextK(m.KScores, k, cfg.MaxShare); k == 0 {
			break
		}
		r, err := m.finalFit(ctx, x, k, warm)
		if err != nil {
			return nil, err
		}
		if c := catchall(r); c < bestC {
			best, bestC = r, c
		}
	}
	return best, nil
}

// nextK returns the smallest k above after among scores, not fitted yet,
// whose sample fit has no catch-all over maxShare, or else the smallest
// larger k not fitted yet; 0 when there is none.
func nextK(scores []KScore, after int, maxShare float64) int {
	next := 0
	for _, s := range scores {
		switch {
		case s.K <= after || s.Fitted:
		case s.Catchall <= maxShare:
			return s.K
		case next == 0:
			next = s.K
		}
	}
	return next
}

// warmInertiaMargin is how much lower (relatively) the inertia of a fresh
// k-means++ fit must be than that of the fit started from the previous
// segments for a re-cluster to take it. Fresh seedings of the same data land
// in different local optima whose inertias differ by a fraction of a
// percent while their partitions agree only moderately (bootstrap ARI
// 0.6–0.7 at equal k on the airline tweets): without a margin every re-cluster
// would reshuffle segments for no real gain.
const warmInertiaMargin = 0.01

// canWarm reports whether prev can start a re-cluster of pts: a k-means
// model (a density model's outliers belong to no segment) of the same
// embedding dimension.
func canWarm(pts []Point, x *matrix, prev *Model) bool {
	return prev != nil && prev.Density == nil && prev.K() > 0 && len(pts) == x.n && len(pts) > 0 &&
		prev.Dim == len(pts[0].Vec) && prev.validate() == nil
}

// warmStart carries prev's segments into the space of x, the fused vectors
// of pts under the new fit's scaling: row j is the mean of the points prev
// assigns to its j-th segment. Segments prev assigns no point to are left
// out. It returns nil when prev cannot serve (see canWarm) or places none
// of the points.
func warmStart(pts []Point, x *matrix, prev *Model) *matrix {
	if !canWarm(pts, x, prev) {
		return nil
	}
	labels := make([]int, len(pts))
	forChunks(len(pts), func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			j, _, err := prev.nearest(pts[i])
			if err != nil {
				j = -1
			}
			labels[i] = j
		}
	})
	k := prev.K()
	sums := newMatrix(k, x.d)
	counts := make([]int, k)
	for i, j := range labels {
		if j < 0 {
			continue
		}
		counts[j]++
		r := sums.row(j)
		for t, v := range x.row(i) {
			r[t] += v
		}
	}
	out := newMatrix(0, x.d)
	for j := range k {
		if counts[j] == 0 {
			continue
		}
		r := sums.row(j)
		for t := range r {
			r[t] /= float64(counts[j])
		}
		out.data = append(out.data, r...)
		out.n++
	}
	if out.n == 0 {
		return nil
	}
	return out
}
