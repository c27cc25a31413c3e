package index

import (
	"context"
	"testing"
)

// TestDeleteEvents removes exactly the events asked for, durably (a reopened
// index no longer has them), and ignores unknown and repeated ids.
func TestDeleteEvents(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	docs := sample(t)[:50]
	ix := openTest(t, dir)
	indexInBatches(t, ix, docs, 20)
	gone := []string{docs[3].Event.ID, docs[7].Event.ID, docs[3].Event.ID, "no-such-event"}
	n, err := ix.DeleteEvents(ctx, gone)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("deleted %d, want 2", n)
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	ix = openTest(t, dir)
	if got := countEvents(t, ix); got != uint64(len(docs)-2) {
		t.Errorf("%d events after reopening, want %d", got, len(docs)-2)
	}
	has, err := ix.Has(ctx, []string{docs[3].Event.ID, docs[7].Event.ID, docs[8].Event.ID})
	if err != nil {
		t.Fatal(err)
	}
	if has[docs[3].Event.ID] || has[docs[7].Event.ID] || !has[docs[8].Event.ID] {
		t.Errorf("after deleting 3 and 7: %v", has)
	}
}
