package cluster

import (
	"cmp"
	"errors"
	"math"
	"slices"
	"strings"
)

// Profile explains one segment to a CX team: how big it is, how it feels,
// what it talks about and how its customers behave against the population.
// It marshals to JSON as is.
type Profile struct {
	ID            string  `json:"id"`
	Name          string  `json:"name"`
	UserNamed     bool    `json:"user_named,omitempty"`
	Size          int     `json:"size"`
	Customers     int     `json:"customers"`
	Share         float64 `json:"share"` // of the fitted events
	MeanSentiment float64 `json:"mean_sentiment"`
	// SentimentZ is the segment's mean sentiment in population standard
	// deviations from the population mean.
	SentimentZ float64  `json:"sentiment_z"`
	TopTerms   []string `json:"top_terms"`
	Exemplars  []string `json:"exemplars"`
	// Aspect is the segment's dominant aspect (attune.Segment.Aspect).
	Aspect   string           `json:"aspect,omitempty"`
	Behavior []FeatureProfile `json:"behavior,omitempty"`
	// Aspects is filled by Profiles from the members' Analysis.Aspects,
	// most lifted first; empty when no text carries aspects.
	Aspects []AspectProfile `json:"aspects,omitempty"`
	Lineage *Lineage        `json:"lineage,omitempty"`
}

// FeatureProfile compares a behavioral feature inside a segment with the
// population. Customers that lack the feature count at the population mean,
// so a Z far from 0 is a real difference of those that have it.
type FeatureProfile struct {
	Name           string  `json:"name"`
	Mean           float64 `json:"mean"`
	PopulationMean float64 `json:"population_mean"`
	Z              float64 `json:"z"` // (Mean − PopulationMean) / population std
}

// AspectProfile is how often a segment's texts mention an aspect, against
// the population, and the mean sentiment toward it.
type AspectProfile struct {
	Aspect        string  `json:"aspect"`
	Share         float64 `json:"share"`
	Lift          float64 `json:"lift"` // Share / population share
	MeanSentiment float64 `json:"mean_sentiment"`
}

// Profiles describes every segment, largest first. pts, optional, are the
// points to take aspect profiles from (usually the fitted ones); the rest
// comes from the model alone: a segment's centroid is the mean of its
// members' fused vectors, so its sentiment and behavior coordinates are the
// members' mean standardized values.
func (m *Model) Profiles(pts []Point) []Profile {
	out := make([]Profile, len(m.Clusters))
	total := 0
	for _, s := range m.Clusters {
		total += s.Size
	}
	for j, s := range m.Clusters {
		p := Profile{
			ID: s.ID, Name: s.Name, UserNamed: m.UserNamed[s.ID], Size: s.Size, Customers: s.Customers,
			MeanSentiment: s.MeanSentiment, TopTerms: slices.Clone(s.TopTerms), Exemplars: slices.Clone(s.Exemplars),
			Aspect: s.Aspect,
		}
		if total > 0 {
			p.Share = float64(s.Size) / float64(total)
		}
		c := m.Centroids[j]
		ew := m.Scaler.embWidth(m.Dim)
		if w := m.Config.Weights.Sentiment; w > 0 {
			p.SentimentZ = c[ew] / w
		}
		if bw := m.behaviorWeight(); bw > 0 {
			for f, feat := range m.Scaler.Behavior {
				z := c[ew+1+f] / bw
				p.Behavior = append(p.Behavior, FeatureProfile{
					Name: feat.Name, Mean: feat.Mean + z*feat.Std, PopulationMean: feat.Mean, Z: z,
				})
			}
		}
		if j < len(m.Lineage) {
			l := m.Lineage[j]
			p.Lineage = &l
		}
		out[j] = p
	}
	if len(pts) > 0 {
		m.aspectProfiles(out, pts)
	}
	slices.SortStableFunc(out, func(a, b Profile) int { return cmp.Compare(b.Size, a.Size) })
	return out
}

func (m *Model) behaviorWeight() float64 {
	if len(m.Scaler.Behavior) == 0 {
		return 0
	}
	return m.Config.Weights.Behavior / math.Sqrt(float64(len(m.Scaler.Behavior)))
}

func (m *Model) aspectProfiles(out []Profile, pts []Point) {
	type acc struct{ n, sent float64 }
	index := map[string]int{}
	for j, s := range m.Clusters {
		index[s.ID] = j
	}
	per := make([]map[string]*acc, len(out))
	sizes := make([]float64, len(out))
	pop := map[string]float64{}
	var n float64
	for _, p := range pts {
		s := m.Assign(p)
		j, ok := index[s.ID]
		if !ok {
			continue
		}
		n++
		sizes[j]++
		if per[j] == nil {
			per[j] = map[string]*acc{}
		}
		seen := map[string]bool{}
		for _, a := range p.Doc.Analysis.Aspects {
			if seen[a.Aspect] {
				continue
			}
			seen[a.Aspect] = true
			pop[a.Aspect]++
			x := per[j][a.Aspect]
			if x == nil {
				x = &acc{}
				per[j][a.Aspect] = x
			}
			x.n++
			x.sent += a.Sentiment.Score
		}
	}
	for j := range out {
		for name, x := range per[j] {
			share := x.n / sizes[j]
			out[j].Aspects = append(out[j].Aspects, AspectProfile{
				Aspect: name, Share: share, Lift: share / (pop[name] / n), MeanSentiment: x.sent / x.n,
			})
		}
		slices.SortFunc(out[j].Aspects, func(a, b AspectProfile) int {
			return cmp.Or(cmp.Compare(b.Lift, a.Lift), cmp.Compare(a.Aspect, b.Aspect))
		})
	}
}

// Why explains one event's membership: which segment it belongs to, the
// runner-up, and what pulls it in.
type Why struct {
	SegmentID   string  `json:"segment_id"`
	SegmentName string  `json:"segment_name"`
	Distance    float64 `json:"distance"`
	// RunnerUpID is the second nearest segment; empty for a one-segment
	// model.
	RunnerUpID       string  `json:"runner_up_id,omitempty"`
	RunnerUpName     string  `json:"runner_up_name,omitempty"`
	RunnerUpDistance float64 `json:"runner_up_distance,omitempty"`
	// Outlier is set, in a density model, when the event lies outside
	// every segment's envelope; SegmentID then names the nearest segment,
	// of which it is no member.
	Outlier bool `json:"outlier,omitempty"`
	// Pull says, per block of the fused vector ("embedding", "sentiment",
	// then each behavioral feature), how much closer it puts the event to its
	// segment than to the runner-up, in squared distance. The pulls add up
	// to RunnerUpDistance² − Distance²; a negative pull argues for the
	// runner-up. Strongest first.
	Pull []Pull `json:"pull,omitempty"`
	// Terms are the event's words among the segment's top terms.
	Terms []string `json:"terms,omitempty"`
	// Aspects the event mentions, as the NLP stage found them.
	Aspects []string `json:"aspects,omitempty"`
}

// Pull is one block's share of why an event is in its segment.
type Pull struct {
	Feature string  `json:"feature"`
	Pull    float64 `json:"pull"`
}

// Explain says why p belongs to its segment. It fails like Nearest.
func (m *Model) Explain(p Point) (Why, error) {
	if m == nil || m.K() == 0 {
		return Why{}, errors.New("model has no segments")
	}
	v, err := m.Fused(p)
	if err != nil {
		return Why{}, err
	}
	first, second := -1, -1
	d1, d2 := math.Inf(1), math.Inf(1)
	for j, c := range m.Centroids {
		d := sqDist(v, c)
		switch {
		case d < d1:
			second, d2 = first, d1
			first, d1 = j, d
		case d < d2:
			second, d2 = j, d
		}
	}
	outlier := false
	if m.Density != nil {
		// A density model's member belongs to the segment of the envelope
		// that holds it, which need not have the nearest centroid; an
		// outlier is in no envelope, and SegmentID names the nearest
		// segment, of which it is no member.
		switch j := m.Density.member(v); {
		case j < 0:
			outlier = true
		case j != first:
			second, d2 = first, d1
			first, d1 = j, sqDist(v, m.Centroids[j])
		}
	}
	s := m.Clusters[first]
	w := Why{SegmentID: s.ID, SegmentName: s.Name, Distance: math.Sqrt(d1), Outlier: outlier}
	if second >= 0 {
		r := m.Clusters[second]
		w.RunnerUpID, w.RunnerUpName, w.RunnerUpDistance = r.ID, r.Name, math.Sqrt(d2)
		c1, c2 := m.Centroids[first], m.Centroids[second]
		pull := func(name string, lo, hi int) {
			w.Pull = append(w.Pull, Pull{Feature: name, Pull: sqDist(v[lo:hi], c2[lo:hi]) - sqDist(v[lo:hi], c1[lo:hi])})
		}
		ew := m.Scaler.embWidth(m.Dim)
		pull("embedding", 0, ew)
		pull("sentiment", ew, ew+1)
		for f, feat := range m.Scaler.Behavior {
			pull(feat.Name, ew+1+f, ew+2+f)
		}
		slices.SortStableFunc(w.Pull, func(a, b Pull) int { return cmp.Compare(math.Abs(b.Pull), math.Abs(a.Pull)) })
	}
	for _, tok := range p.Doc.Analysis.Tokens {
		for _, term := range s.TopTerms {
			if strings.EqualFold(tok, term) && !slices.Contains(w.Terms, term) {
				w.Terms = append(w.Terms, term)
			}
		}
	}
	for _, a := range p.Doc.Analysis.Aspects {
		if !slices.Contains(w.Aspects, a.Aspect) {
			w.Aspects = append(w.Aspects, a.Aspect)
		}
	}
	return w, nil
}
