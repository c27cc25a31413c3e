package index

import (
	"context"
	"fmt"
	"strings"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search"

	"github.com/attune-cx/attune"
)

// segmentPage is how many segment documents one search reads.
const segmentPage = 500

// segmentFields are the stored fields a Segment is rebuilt from.
var segmentFields = []string{
	fieldID, fieldName, fieldTopTerms, fieldSize, fieldCustomers,
	fieldMeanSentiment, fieldExemplars, fieldUpdatedAt,
}

// ReplaceSegments makes segs the stored segment set: it writes a document per
// segment (id SegmentIDPrefix+ID) and deletes the documents of segments not in
// segs, all in one batch, so a search never sees a mix of two sets. It returns
// after the batch is persisted, like IndexDocs, and honours ctx the same way.
// Segment ids must be non-empty and unique.
func (ix *Index) ReplaceSegments(ctx context.Context, segs []attune.Segment) error {
	seen := make(map[string]bool, len(segs))
	for _, s := range segs {
		switch {
		case s.ID == "":
			return fmt.Errorf("replace segments: segment %q has no id", s.Name)
		case seen[s.ID]:
			return fmt.Errorf("replace segments: duplicate segment id %q", s.ID)
		}
		seen[s.ID] = true
	}
	if err := ix.readable(); err != nil {
		return err
	}

	ix.segMu.Lock()
	defer ix.segMu.Unlock()

	b := ix.bleve.NewBatch()
	for _, s := range segs {
		if err := b.Index(SegmentIDPrefix+s.ID, newSegmentDoc(s)); err != nil {
			return fmt.Errorf("replace segments: index segment %s: %w", s.ID, err)
		}
	}
	stale := 0
	err := ix.eachSegmentDoc(ctx, nil, func(dm *search.DocumentMatch) {
		if !seen[strings.TrimPrefix(dm.ID, SegmentIDPrefix)] {
			b.Delete(dm.ID)
			stale++
		}
	})
	if err != nil {
		return fmt.Errorf("replace segments: %w", err)
	}
	if b.Size() == 0 {
		return nil // no segments before or after
	}
	if err := ix.apply(ctx, b); err != nil {
		if ctx.Err() != nil {
			return err
		}
		return fmt.Errorf("replace segments: %w", err)
	}
	names := make(map[string]string, len(segs))
	for _, sg := range segs {
		names[sg.ID] = sg.Name
	}
	ix.segNamesMu.Lock()
	ix.segNames = names
	ix.segNamesMu.Unlock()
	ix.logger.Info("segments replaced", "segments", len(segs), "removed", stale)
	return nil
}

// Segments returns the stored segment set, largest first (ties by id).
func (ix *Index) Segments(ctx context.Context) ([]attune.Segment, error) {
	if err := ix.readable(); err != nil {
		return nil, err
	}
	ix.segMu.RLock()
	defer ix.segMu.RUnlock()

	var segs []attune.Segment
	err := ix.eachSegmentDoc(ctx, segmentFields, func(dm *search.DocumentMatch) {
		f := dm.Fields
		id := fieldString(f, fieldID)
		if id == "" {
			id = strings.TrimPrefix(dm.ID, SegmentIDPrefix)
		}
		segs = append(segs, attune.Segment{
			ID:            id,
			Name:          fieldString(f, fieldName),
			Size:          int(fieldFloat(f, fieldSize)),
			Customers:     int(fieldFloat(f, fieldCustomers)),
			MeanSentiment: fieldFloat(f, fieldMeanSentiment),
			TopTerms:      fieldStrings(f, fieldTopTerms),
			Exemplars:     fieldStrings(f, fieldExemplars),
			UpdatedAt:     fieldTime(f, fieldUpdatedAt),
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read segments: %w", err)
	}
	return segs, nil
}

// eachSegmentDoc calls fn for every segment document, largest first, loading
// fields. The caller holds segMu, so the set cannot change between pages.
func (ix *Index) eachSegmentDoc(ctx context.Context, fields []string, fn func(*search.DocumentMatch)) error {
	for from := 0; ; from += segmentPage {
		req := bleve.NewSearchRequestOptions(termQuery(fieldType, TypeSegment), segmentPage, from, false)
		req.Score = "none"
		req.Fields = fields
		req.SortByCustom(search.SortOrder{
			&search.SortField{Field: fieldSize, Type: search.SortFieldAsNumber, Desc: true},
			&search.SortDocID{},
		})
		sr, err := ix.bleve.SearchInContext(ctx, req)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("search segment documents: %w", err)
		}
		for _, dm := range sr.Hits {
			fn(dm)
		}
		if len(sr.Hits) < segmentPage {
			return nil
		}
	}
}
