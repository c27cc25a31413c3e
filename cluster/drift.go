package cluster

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"
)

// Drift defaults.
const (
	DefaultDriftWindow   = 24 * time.Hour
	DefaultDriftTrailing = 7
	DefaultDriftSigma    = 2.0
	DefaultDriftMin      = 10
	// minTrailing is how many earlier windows a spike needs to be judged
	// against: a standard deviation of fewer says nothing.
	minTrailing = 3
)

// DriftConfig says how segment volume and sentiment are watched over time.
type DriftConfig struct {
	// Window is the width of one time window. Default 24h.
	Window time.Duration `yaml:"window" json:"window"`
	// Trailing is how many preceding windows a window is compared with.
	// Default 7.
	Trailing int `yaml:"trailing" json:"trailing"`
	// Sigma is how many trailing standard deviations away from the
	// trailing mean a window's volume or mean sentiment must be to count as
	// a spike. Default 2.
	Sigma float64 `yaml:"sigma" json:"sigma"`
	// MinEvents is how many events a window needs before its mean
	// sentiment can be a spike. Default 10.
	MinEvents int `yaml:"min_events" json:"min_events"`
}

// WithDefaults returns c with every unset field at its default.
func (c DriftConfig) WithDefaults() DriftConfig {
	if c.Window == 0 {
		c.Window = DefaultDriftWindow
	}
	if c.Trailing == 0 {
		c.Trailing = DefaultDriftTrailing
	}
	if c.Sigma == 0 {
		c.Sigma = DefaultDriftSigma
	}
	if c.MinEvents == 0 {
		c.MinEvents = DefaultDriftMin
	}
	return c
}

// Validate reports the first problem with c, wrapping ErrInvalidConfig.
func (c DriftConfig) Validate() error {
	switch {
	case c.Window <= 0:
		return fmt.Errorf("%w: drift window is %s, want > 0", ErrInvalidConfig, c.Window)
	case c.Trailing < minTrailing:
		return fmt.Errorf("%w: drift trailing is %d, want at least %d", ErrInvalidConfig, c.Trailing, minTrailing)
	case !(c.Sigma > 0) || math.IsInf(c.Sigma, 0):
		return fmt.Errorf("%w: drift sigma is %v, want > 0", ErrInvalidConfig, c.Sigma)
	case c.MinEvents < 1:
		return fmt.Errorf("%w: drift min_events is %d, want at least 1", ErrInvalidConfig, c.MinEvents)
	}
	return nil
}

// Observation is one event as drift sees it: its segment, time and
// sentiment score.
type Observation struct {
	Segment   string    `json:"segment"`
	TS        time.Time `json:"ts"`
	Sentiment float64   `json:"sentiment"`
}

// Window is one time window of one segment.
type Window struct {
	Start         time.Time `json:"start"`
	Count         int       `json:"count"`
	MeanSentiment float64   `json:"mean_sentiment"` // 0 when Count is 0
	// VolumeZ and SentimentZ are the window's distance from the trailing
	// windows' mean in their standard deviations; 0 without enough
	// trailing windows or when they do not vary.
	VolumeZ    float64 `json:"volume_z"`
	SentimentZ float64 `json:"sentiment_z"`
	// VolumeSpike and SentimentSpike are set when |z| reaches the
	// configured sigma (volume: only upward; a quiet day is no alert).
	VolumeSpike    bool `json:"volume_spike,omitempty"`
	SentimentSpike bool `json:"sentiment_spike,omitempty"`
}

// SegmentDrift is the windowed history of one segment.
type SegmentDrift struct {
	Segment string   `json:"segment"`
	Windows []Window `json:"windows"`
}

// Spikes returns the windows that are spikes.
func (d SegmentDrift) Spikes() []Window {
	var out []Window
	for _, w := range d.Windows {
		if w.VolumeSpike || w.SentimentSpike {
			out = append(out, w)
		}
	}
	return out
}

// Drift buckets obs into windows aligned to the Unix epoch, from the first
// to the last observation's window (windows without events count as zero
// volume), and scores each window of each segment against its trailing
// windows. Observations without a time are ignored. Segments come sorted by
// id. cfg gets its defaults applied; an invalid one is an error.
func Drift(obs []Observation, cfg DriftConfig) ([]SegmentDrift, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var first, last int64 = math.MaxInt64, math.MinInt64
	slot := func(t time.Time) int64 { return slotOf(t, cfg.Window) }
	for _, o := range obs {
		if o.TS.IsZero() {
			continue
		}
		s := slot(o.TS)
		first, last = min(first, s), max(last, s)
	}
	if first > last {
		return nil, nil
	}
	n := int(last - first + 1)
	type acc struct {
		count []int
		sent  []float64
		sq    []float64
	}
	per := map[string]*acc{}
	for _, o := range obs {
		if o.TS.IsZero() || math.IsNaN(o.Sentiment) {
			continue
		}
		a := per[o.Segment]
		if a == nil {
			a = &acc{count: make([]int, n), sent: make([]float64, n), sq: make([]float64, n)}
			per[o.Segment] = a
		}
		i := slot(o.TS) - first
		a.count[i]++
		a.sent[i] += o.Sentiment
		a.sq[i] += o.Sentiment * o.Sentiment
	}
	var out []SegmentDrift
	for seg, a := range per {
		d := SegmentDrift{Segment: seg, Windows: make([]Window, n)}
		for i := range n {
			d.Windows[i] = scoreWindow(a.count, a.sent, a.sq, i, first, cfg)
		}
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b SegmentDrift) int { return cmp.Compare(a.Segment, b.Segment) })
	return out, nil
}

// scoreWindow scores window i of one segment's per-window counts, sentiment
// sums and sums of squares, whose window 0 starts at slot first, against the
// up to cfg.Trailing windows before it (never before window 0).
func scoreWindow(count []int, sent, sq []float64, i int, first int64, cfg DriftConfig) Window {
	w := Window{Start: time.Unix(0, (first+int64(i))*int64(cfg.Window)).UTC(), Count: count[i]}
	if w.Count > 0 {
		w.MeanSentiment = sent[i] / float64(w.Count)
	}
	lo := max(0, i-cfg.Trailing)
	if i-lo < minTrailing {
		return w
	}
	var vol, mood welford
	var n, s1, s2 float64 // the trailing texts' count, sum, sum of squares
	for t := lo; t < i; t++ {
		vol.add(float64(count[t]))
		if count[t] > 0 {
			mood.add(sent[t] / float64(count[t]))
			n, s1, s2 = n+float64(count[t]), s1+sent[t], s2+sq[t]
		}
	}
	// Counts are at least Poisson-noisy: a floor of √mean (and 1) on the
	// spread keeps a quiet segment's first few events from being a spike of
	// infinite z, and still lets a burst after silence stand out.
	vs := vol.stat()
	vs.Std = max(vs.Std, math.Sqrt(vs.Mean), 1)
	w.VolumeZ = vs.z(float64(w.Count))
	w.VolumeSpike = w.VolumeZ >= cfg.Sigma
	// A window's mean of a handful of texts swings on one angry tweet: its
	// sentiment is judged only from cfg.MinEvents events on.
	if w.Count >= cfg.MinEvents && mood.n >= minTrailing {
		// A mean of Count texts is no more precise than its standard
		// error: without this floor, a segment whose daily means happened
		// to agree closely turned an ordinary window of a dozen texts into
		// a 29σ alert.
		ms := mood.stat()
		if v := s2/n - (s1/n)*(s1/n); n > 1 && v > 0 {
			ms.Std = max(ms.Std, math.Sqrt(v/float64(w.Count)))
		}
		w.SentimentZ = ms.z(w.MeanSentiment)
		w.SentimentSpike = math.Abs(w.SentimentZ) >= cfg.Sigma
	}
	return w
}

// slotOf numbers the window of width w that holds t, windows being aligned
// to the Unix epoch.
func slotOf(t time.Time, w time.Duration) int64 {
	return int64(math.Floor(float64(t.UnixNano()) / float64(w)))
}
