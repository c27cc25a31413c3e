package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Behavioral feature names, as they appear in Scaler.Behavior.
const (
	FeatureRecency    = "recency_days"
	FeatureFrequency  = "log_frequency"
	FeatureRating     = "mean_rating"
	FeatureMonetary   = "log_monetary"
	FeatureEngagement = "log_engagement"
)

// behaviorFeatures lists every feature in the order it takes in the vector.
var behaviorFeatures = []string{FeatureRecency, FeatureFrequency, FeatureRating, FeatureMonetary, FeatureEngagement}

// ErrDimMismatch reports a vector whose dimension is not the model's, as
// happens when the embedding model changes under a stored model.
var ErrDimMismatch = errors.New("vector dimension mismatch")

// Stat is the location and scale a value is standardised with. A Std of 0
// marks a constant value: it standardises to 0.
type Stat struct {
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"`
}

func (s Stat) z(v float64) float64 {
	if s.Std == 0 {
		return 0
	}
	return (v - s.Mean) / s.Std
}

// Feature is one behavioral feature kept in the model and its standardisation.
type Feature struct {
	Name string `json:"name"`
	Stat
}

// Scaler turns a Point into its fused vector. It is measured on the fitted
// points and stored in the model so that later points are scaled the same way.
type Scaler struct {
	// AsOf is the latest event time of the fitted data: recency is measured
	// from it. Zero when no fitted event had a time.
	AsOf time.Time `json:"as_of"`
	// Sentiment standardises Analysis.Sentiment.Score.
	Sentiment Stat `json:"sentiment"`
	// Behavior holds the behavioral features the fitted data has, in vector
	// order.
	Behavior []Feature `json:"behavior"`
	// PCA, when set (Config.PCADims), reduces the embedding block to its
	// leading principal axes.
	PCA *PCA `json:"pca,omitempty"`
}

// AttrPrefix prefixes the feature name of a numeric event attribute named in
// Config.Attributes ("attr:delivery_delay_days").
const AttrPrefix = "attr:"

// behaviorValue returns a point's raw value of feature name, or false when
// the point lacks it.
func behaviorValue(name string, p Point, asOf time.Time) (float64, bool) {
	c := p.Customer
	if attr, ok := strings.CutPrefix(name, AttrPrefix); ok {
		return attrValue(p.Doc.Event.Attrs[attr])
	}
	switch name {
	case FeatureRecency:
		if c.Last.IsZero() || asOf.IsZero() {
			return 0, false
		}
		// A customer seen after AsOf (an event assigned after the fit) is as
		// recent as can be, not "negatively" old.
		return max(0, asOf.Sub(c.Last).Hours()/24), true
	case FeatureFrequency:
		if c.Frequency <= 0 {
			return 0, false
		}
		return math.Log1p(c.Frequency), true
	case FeatureRating:
		if c.Ratings <= 0 {
			return 0, false
		}
		return c.RatingSum / c.Ratings, true
	case FeatureMonetary:
		if !c.HasMonetary {
			return 0, false
		}
		return signedLog1p(c.Monetary), true
	case FeatureEngagement:
		if !c.HasEngagement {
			return 0, false
		}
		return signedLog1p(c.Engagement), true
	}
	return 0, false
}

// attrValue reads a numeric attribute as decoded from JSON or YAML (float64,
// int, json.Number) or as a numeric string from a CSV import.
func attrValue(v any) (float64, bool) {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case float32:
		f = float64(x)
	case int:
		f = float64(x)
	case int64:
		f = float64(x)
	case json.Number:
		var err error
		if f, err = x.Float64(); err != nil {
			return 0, false
		}
	case string:
		var err error
		if f, err = strconv.ParseFloat(strings.TrimSpace(x), 64); err != nil {
			return 0, false
		}
	default:
		return 0, false
	}
	return f, isFinite(f)
}

// signedLog1p compresses heavy-tailed sums; refunds can make a monetary sum
// negative, which plain log1p would turn into NaN.
func signedLog1p(v float64) float64 {
	if v < 0 {
		return -math.Log1p(-v)
	}
	return math.Log1p(v)
}

// newScaler measures the scaling of pts. Statistics are taken per event, the
// unit that is clustered, so a customer with many events weighs as much here
// as in the clustering.
func newScaler(pts []Point, attrs []string) Scaler {
	var s Scaler
	for _, p := range pts {
		for _, t := range []time.Time{p.Doc.Event.TS, p.Customer.Last} {
			if t.After(s.AsOf) {
				s.AsOf = t
			}
		}
	}
	var sent welford
	for _, p := range pts {
		sent.add(p.Doc.Analysis.Sentiment.Score)
	}
	s.Sentiment = sent.stat()
	names := slices.Clone(behaviorFeatures)
	for _, a := range attrs {
		names = append(names, AttrPrefix+a)
	}
	for _, name := range names {
		var w welford
		for _, p := range pts {
			if v, ok := behaviorValue(name, p, s.AsOf); ok {
				w.add(v)
			}
		}
		if w.n > 0 {
			s.Behavior = append(s.Behavior, Feature{Name: name, Stat: w.stat()})
		}
	}
	return s
}

// width is the length of the fused vector for embeddings of dimension dim.
func (s *Scaler) width(dim int) int { return s.embWidth(dim) + 1 + len(s.Behavior) }

// embWidth is the length of the embedding block: dim, or the number of PCA
// axes.
func (s *Scaler) embWidth(dim int) int {
	if s.PCA != nil {
		return len(s.PCA.Components)
	}
	return dim
}

// fuse writes p's fused vector into dst, which must have length
// s.width(dim). The embedding is re-normalised to unit length, as the block
// weights assume it.
func (s *Scaler) fuse(dst []float64, p Point, dim int, w Weights) error {
	if len(p.Vec) != dim {
		return fmt.Errorf("event %s: vector has %d dimensions, model has %d: %w", p.Doc.Event.ID, len(p.Vec), dim, ErrDimMismatch)
	}
	if s.PCA != nil {
		u := make([]float64, dim)
		if err := unitInto(u, p); err != nil {
			return err
		}
		s.PCA.project(dst, u, w.Embedding)
	} else {
		var norm float64
		for _, v := range p.Vec {
			f := float64(v)
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return fmt.Errorf("event %s: vector holds %v", p.Doc.Event.ID, f)
			}
			norm += f * f
		}
		scale := w.Embedding
		if norm > 0 {
			scale /= math.Sqrt(norm)
		}
		for i, v := range p.Vec {
			dst[i] = scale * float64(v)
		}
	}
	score := p.Doc.Analysis.Sentiment.Score
	if math.IsNaN(score) || math.IsInf(score, 0) {
		return fmt.Errorf("event %s: sentiment score is %v", p.Doc.Event.ID, score)
	}
	ew := s.embWidth(dim)
	dst[ew] = w.Sentiment * s.Sentiment.z(score)
	if len(s.Behavior) == 0 {
		return nil
	}
	bw := w.Behavior / math.Sqrt(float64(len(s.Behavior)))
	for j, f := range s.Behavior {
		v, ok := behaviorValue(f.Name, p, s.AsOf)
		if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
			v = f.Mean // missing: the population mean, which standardises to 0
		}
		dst[ew+1+j] = bw * f.z(v)
	}
	return nil
}

// welford accumulates a mean and population standard deviation in one
// numerically stable pass.
type welford struct {
	n       int
	mean, m float64
}

func (w *welford) add(v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	w.n++
	d := v - w.mean
	w.mean += d / float64(w.n)
	w.m += d * (v - w.mean)
}

func (w *welford) stat() Stat {
	if w.n == 0 {
		return Stat{}
	}
	std := math.Sqrt(w.m / float64(w.n))
	if std < 1e-12*max(1, math.Abs(w.mean)) {
		std = 0
	}
	return Stat{Mean: w.mean, Std: std}
}
