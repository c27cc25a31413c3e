package index

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	segment "github.com/blevesearch/scorch_segment_api/v2"
)

// matchSet is the documents a search matches in one snapshot, one bitmap
// of local document numbers per segment.
type matchSet struct {
	segs    []*scorch.SegmentSnapshot
	matched []*roaring.Bitmap
	// notMatched[i] is the complement of matched[i] within segment i: the
	// except set that makes a postings list count only matches.
	notMatched []*roaring.Bitmap
}

func newMatchSet(segs []*scorch.SegmentSnapshot, matched []*roaring.Bitmap) *matchSet {
	ms := &matchSet{segs: segs, matched: matched, notMatched: make([]*roaring.Bitmap, len(segs))}
	for i, ss := range segs {
		ms.notMatched[i] = roaring.Flip(matched[i], 0, ss.Segment().Count())
	}
	return ms
}

// total is the number of matches.
func (ms *matchSet) total() uint64 {
	var n uint64
	for _, m := range ms.matched {
		n += m.GetCardinality()
	}
	return n
}

// termCounts returns, for every term of field in [start, end) (nil: no
// bound), how many matches have it.
func (ms *matchSet) termCounts(field string, start, end []byte) (map[string]int, error) {
	counts := map[string]int{}
	for i, ss := range ms.segs {
		if ms.matched[i].IsEmpty() {
			continue
		}
		dict, err := ss.Segment().Dictionary(field)
		if err != nil {
			return nil, fmt.Errorf("dictionary of %s: %w", field, err)
		}
		it := dict.AutomatonIterator(nil, start, end)
		var pl segment.PostingsList
		for {
			e, err := it.Next()
			if err != nil {
				return nil, fmt.Errorf("terms of %s: %w", field, err)
			}
			if e == nil {
				break
			}
			if pl, err = dict.PostingsList([]byte(e.Term), ms.notMatched[i], pl); err != nil {
				return nil, fmt.Errorf("postings of %s:%s: %w", field, e.Term, err)
			}
			if c := int(pl.Count()); c > 0 {
				counts[e.Term] += c
			}
		}
	}
	return counts, nil
}

// pageWindow returns the smallest window of event time, at the newest end
// (desc) or the oldest (asc), that holds at least need matches: [from, ∞)
// for desc, (-∞, to) for asc; it holds need matches and those tied with
// the last one's time. ok is false when all
// matches with a time are fewer than need (the page then reaches the
// events without a time, and no window helps).
//
// The bound is found from the time bucket terms: the month the window
// reaches into from ts_month, then the day within it from ts_day, the hour
// from ts_hour and the time itself from ts_sort, each term counted as its
// postings within the matches, so a level reads only the terms of one
// bucket of the level above. Every
// match outside the window is older (newer) than every match in it, so the
// page sorted from the window's matches is the page sorted from all.
func (ms *matchSet) pageWindow(need int, desc bool) (from, to time.Time, ok bool, err error) {
	levels := []struct {
		field, layout string
	}{{fieldTSMonth, layoutMonth}, {fieldTSDay, layoutDay}, {fieldTSHour, layoutHour}, {fieldTSSort, layoutSort}}
	var start, end []byte // the range of the level's terms: within the bucket above
	left := need
	var bucket string
	for _, lv := range levels {
		counts, err := ms.termCounts(lv.field, start, end)
		if err != nil {
			return from, to, false, err
		}
		terms := make([]string, 0, len(counts))
		for t := range counts {
			terms = append(terms, t)
		}
		slices.Sort(terms)
		if desc {
			slices.Reverse(terms)
		}
		bucket = ""
		for _, t := range terms {
			if counts[t] >= left {
				bucket = t
				break
			}
			left -= counts[t]
		}
		if bucket == "" {
			return from, to, false, nil // fewer timed matches than need
		}
		// The next level's terms start with this one's ("2015-02" holds
		// "2015-02-24", which holds "2015-02-24T11"); '~' sorts after
		// every character that follows.
		start, end = []byte(bucket), []byte(bucket+"~")
	}
	t, err := time.Parse(layoutSort, bucket)
	if err != nil {
		return from, to, false, fmt.Errorf("time sort key %q: %w", bucket, err)
	}
	if desc {
		return t, time.Time{}, true, nil
	}
	return time.Time{}, t.Add(time.Nanosecond), true, nil
}

// filterMatches returns the matches of q, which has no text, computed from
// the postings of its term filters, without running a searcher. ok is false
// when q has a filter that is not a term (sentiment or time range).
func filterMatches(ctx context.Context, segs []*scorch.SegmentSnapshot, q Query) (matched []*roaring.Bitmap, ok bool, err error) {
	if q.SentimentMin != nil || q.SentimentMax != nil || !q.From.IsZero() || !q.To.IsZero() {
		return nil, false, nil
	}
	// Each condition is a disjunction of terms; all must hold.
	conds := [][][2]string{{{fieldType, TypeEvent}}}
	add := func(terms ...[2]string) { conds = append(conds, terms) }
	if q.Segment != "" {
		add([2]string{fieldSegmentID, q.Segment}, [2]string{fieldSegmentName, q.Segment})
	}
	if q.Label != "" {
		add([2]string{fieldLabel, q.Label})
	}
	if q.Source != "" {
		add([2]string{fieldSource, q.Source})
	}
	if q.Customer != "" {
		add([2]string{fieldCustomer, q.Customer})
	}
	if q.Aspect != "" {
		if q.AspectLabel != "" {
			add([2]string{fieldAspectSentiment, q.Aspect + ":" + q.AspectLabel})
		} else {
			add([2]string{fieldAspects, q.Aspect})
		}
	}
	if q.Language != "" {
		add([2]string{fieldLanguage, q.Language})
	}
	matched = make([]*roaring.Bitmap, len(segs))
	for i, ss := range segs {
		if err := ctx.Err(); err != nil {
			return nil, false, err
		}
		var m *roaring.Bitmap
		for _, terms := range conds {
			c := roaring.New()
			for _, ft := range terms {
				b, ok, err := postingsBitmap(ss.Segment(), ft[0], ft[1])
				if err != nil || !ok {
					return nil, ok, err
				}
				c.Or(b)
			}
			if m == nil {
				m = c
			} else {
				m.And(c)
			}
		}
		if del := ss.Deleted(); del != nil {
			m.AndNot(del)
		}
		matched[i] = m
	}
	return matched, true, nil
}
