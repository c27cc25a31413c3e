package index

import (
	"context"
	"fmt"
)

// DeleteEvents removes the event documents with the given ids (ids not in
// the index are skipped) and returns how many it removed. Like IndexDocs it
// returns only after the deletions are persisted. Several workers sharing
// segment state use it to drop an event another worker's shard holds as well
// (redelivered after a crash), so each event stays in one shard.
func (ix *Index) DeleteEvents(ctx context.Context, ids []string) (int, error) {
	has, err := ix.Has(ctx, ids)
	if err != nil {
		return 0, err
	}
	b := ix.bleve.NewBatch()
	n := 0
	for _, id := range ids {
		if has[id] {
			b.Delete(id)
			has[id] = false // once, even if ids repeats it
			n++
		}
	}
	if n == 0 {
		return 0, nil
	}
	if err := ix.apply(ctx, b); err != nil {
		return 0, fmt.Errorf("delete %d events: %w", n, err)
	}
	return n, nil
}
