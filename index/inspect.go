package index

import (
	"context"
	"fmt"
	"time"

	"github.com/blevesearch/bleve/v2/index/scorch"
)

// ScorchSegments returns the number of segments in the index's current
// snapshot and how many documents they hold in all, obsolete (updated or
// deleted, not yet merged away) ones included. Every search visits every
// segment, so the count is part of what a latency figure measures.
func (ix *Index) ScorchSegments() (segments int, docs uint64, err error) {
	if err := ix.readable(); err != nil {
		return 0, 0, err
	}
	adv, err := ix.bleve.Advanced()
	if err != nil {
		return 0, 0, fmt.Errorf("scorch segments: %w", err)
	}
	r, err := adv.Reader()
	if err != nil {
		return 0, 0, fmt.Errorf("scorch segments: %w", err)
	}
	defer r.Close()
	snap, ok := r.(*scorch.IndexSnapshot)
	if !ok {
		return 0, 0, fmt.Errorf("scorch segments: not a scorch index")
	}
	for _, ss := range snap.Segments() {
		docs += ss.Segment().Count()
	}
	return len(snap.Segments()), docs, nil
}

// SettleMerges waits until scorch's background merger has left the segment
// set alone for quiet (polled every quiet/4), the steady state a worker
// reaches some time after a bulk load, and returns the segment count then.
func (ix *Index) SettleMerges(ctx context.Context, quiet time.Duration) (int, error) {
	last, lastDocs, err := ix.ScorchSegments()
	if err != nil {
		return 0, err
	}
	stable := time.Now()
	for time.Since(stable) < quiet {
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case <-time.After(quiet / 4):
		}
		n, docs, err := ix.ScorchSegments()
		if err != nil {
			return 0, err
		}
		if n != last || docs != lastDocs {
			last, lastDocs, stable = n, docs, time.Now()
		}
	}
	return last, nil
}

// ForceMerge asks scorch to merge the index's segments down to one (its
// single-segment merge plan) and waits for it, for measuring what the
// segment count costs a search.
func (ix *Index) ForceMerge(ctx context.Context) error {
	if err := ix.readable(); err != nil {
		return err
	}
	adv, err := ix.bleve.Advanced()
	if err != nil {
		return fmt.Errorf("force merge: %w", err)
	}
	s, ok := adv.(*scorch.Scorch)
	if !ok {
		return fmt.Errorf("force merge: not a scorch index")
	}
	if err := s.ForceMerge(ctx, nil); err != nil {
		return fmt.Errorf("force merge: %w", err)
	}
	return nil
}
