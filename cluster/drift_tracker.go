package cluster

import (
	"math"
	"time"
)

// DriftTracker is the online form of Drift: it keeps every segment's
// per-window volume and sentiment sum as events arrive, so that the window
// an event falls in can be judged at once, without reading the store again.
// Windows are stored sparsely, so an event with a wild timestamp costs one
// window, not every window in between. It is not safe for concurrent use.
type DriftTracker struct {
	cfg         DriftConfig
	first, last int64 // slots of the earliest and latest counted event
	events      map[string]tracked
	per         map[string]map[int64]*slotAcc
}

type tracked struct {
	seg  string
	slot int64
	sent float64
}

type slotAcc struct {
	n        int
	sent, sq float64
}

// NewDriftTracker returns an empty tracker. cfg gets its defaults applied;
// an invalid one is an error.
func NewDriftTracker(cfg DriftConfig) (*DriftTracker, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	t := &DriftTracker{cfg: cfg}
	t.Reset()
	return t, nil
}

// Config returns the tracker's configuration, defaults applied.
func (t *DriftTracker) Config() DriftConfig { return t.cfg }

// Reset forgets every event, as before a re-cluster moves them all.
func (t *DriftTracker) Reset() {
	t.first, t.last = math.MaxInt64, math.MinInt64
	t.events = map[string]tracked{}
	t.per = map[string]map[int64]*slotAcc{}
}

// Add counts event id in o's segment and window. It is idempotent per id: a
// redelivered event is counted once, and an event added again with another
// segment or time moves. An observation without a time or with a NaN
// sentiment is not counted (and un-counts an earlier one of the same id).
// It reports whether o was counted.
func (t *DriftTracker) Add(id string, o Observation) bool {
	if old, ok := t.events[id]; ok {
		a := t.per[old.seg][old.slot]
		a.n--
		a.sent -= old.sent
		a.sq -= old.sent * old.sent
		if a.n == 0 {
			delete(t.per[old.seg], old.slot)
		}
		delete(t.events, id)
	}
	if o.TS.IsZero() || math.IsNaN(o.Sentiment) || math.IsInf(o.Sentiment, 0) {
		return false
	}
	s := slotOf(o.TS, t.cfg.Window)
	t.first, t.last = min(t.first, s), max(t.last, s)
	slots := t.per[o.Segment]
	if slots == nil {
		slots = map[int64]*slotAcc{}
		t.per[o.Segment] = slots
	}
	a := slots[s]
	if a == nil {
		a = &slotAcc{}
		slots[s] = a
	}
	a.n++
	a.sent += o.Sentiment
	a.sq += o.Sentiment * o.Sentiment
	t.events[id] = tracked{seg: o.Segment, slot: s, sent: o.Sentiment}
	return true
}

// Len returns how many events are counted.
func (t *DriftTracker) Len() int { return len(t.events) }

// Window scores the window of segment that holds ts against its trailing
// windows, exactly as Drift scores it over the same events.
func (t *DriftTracker) Window(segment string, ts time.Time) Window {
	return t.window(segment, slotOf(ts, t.cfg.Window))
}

func (t *DriftTracker) window(segment string, s int64) Window {
	lo := s - int64(t.cfg.Trailing)
	if t.first != math.MaxInt64 {
		lo = max(lo, min(t.first, s))
	}
	n := int(s - lo + 1)
	count, sent, sq := make([]int, n), make([]float64, n), make([]float64, n)
	for i := range n {
		if a := t.per[segment][lo+int64(i)]; a != nil {
			count[i], sent[i], sq[i] = a.n, a.sent, a.sq
		}
	}
	return scoreWindow(count, sent, sq, n-1, lo, t.cfg)
}

// Latest returns, for every segment with a counted event, its window at the
// latest event time counted (event time, not the wall clock: a replay of old
// data is judged as it happened). Segments quiet in that window get it too,
// with a count of 0.
func (t *DriftTracker) Latest() map[string]Window {
	out := make(map[string]Window, len(t.per))
	if t.last == math.MinInt64 {
		return out
	}
	for seg := range t.per {
		out[seg] = t.window(seg, t.last)
	}
	return out
}

// Trend returns the last n windows of segment, oldest first, ending at the
// latest event time counted; nil when nothing is counted.
func (t *DriftTracker) Trend(segment string, n int) []Window {
	if t.last == math.MinInt64 || n <= 0 {
		return nil
	}
	start := max(t.first, t.last-int64(n)+1)
	var out []Window
	for s := start; s <= t.last; s++ {
		out = append(out, t.window(segment, s))
	}
	return out
}
