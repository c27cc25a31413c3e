package index

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search"
)

// deletePage is how many event documents DeleteCustomer removes per batch.
const deletePage = 1000

// DeleteCustomer removes every event document of customer id and returns how
// many it removed. Like IndexDocs it returns only after the deletions are
// persisted, so an erasure it reports done survives a crash. It works in
// batches of deletePage and may be called again after an error: documents
// already deleted are simply not found. Segment documents are not touched;
// their sizes and exemplars change with the next re-clustering.
func (ix *Index) DeleteCustomer(ctx context.Context, id string) (int, error) {
	if id == "" {
		return 0, errors.New("delete customer: empty customer id")
	}
	if err := ix.readable(); err != nil {
		return 0, err
	}
	q := bleve.NewConjunctionQuery(termQuery(fieldType, TypeEvent), termQuery(fieldCustomer, id))
	deleted := 0
	for {
		// Always the first page: what the previous batch deleted is gone.
		req := bleve.NewSearchRequestOptions(q, deletePage, 0, false)
		req.Score = "none"
		req.SortByCustom(search.SortOrder{&search.SortDocID{}})
		sr, err := ix.bleve.SearchInContext(ctx, req)
		if err != nil {
			if ctx.Err() != nil {
				return deleted, ctx.Err()
			}
			return deleted, fmt.Errorf("delete customer %s: find events: %w", id, err)
		}
		if len(sr.Hits) == 0 {
			break
		}
		b := ix.bleve.NewBatch()
		for _, dm := range sr.Hits {
			b.Delete(dm.ID)
		}
		if err := ix.apply(ctx, b); err != nil {
			if ctx.Err() != nil {
				return deleted, err
			}
			return deleted, fmt.Errorf("delete customer %s: %w", id, err)
		}
		deleted += len(sr.Hits)
	}
	ix.logger.Info("customer deleted", "customer", id, "events", deleted)
	return deleted, nil
}

// Stats describes the index.
type Stats struct {
	// Path is the index directory.
	Path string `json:"path"`
	// Events and Segments count the documents of each type.
	Events   uint64 `json:"events"`
	Segments uint64 `json:"segments"`
	// Bytes is the size of the index's files on disk.
	Bytes int64 `json:"bytes"`
	// MappingVersion is the layout the index was built with.
	MappingVersion string `json:"mapping_version"`
}

// Stats counts the documents and measures the index on disk.
func (ix *Index) Stats(ctx context.Context) (Stats, error) {
	if err := ix.readable(); err != nil {
		return Stats{}, err
	}
	st := Stats{Path: ix.path, MappingVersion: MappingVersion}
	var err error
	if st.Events, err = ix.CountEvents(ctx); err != nil {
		return st, err
	}
	req := bleve.NewSearchRequestOptions(termQuery(fieldType, TypeSegment), 0, 0, false)
	sr, err := ix.bleve.SearchInContext(ctx, req)
	if err != nil {
		return st, fmt.Errorf("count segments: %w", err)
	}
	st.Segments = sr.Total
	if st.Bytes, err = ix.Size(); err != nil {
		return st, err
	}
	return st, nil
}

// Size returns the bytes the index's files take on disk. Scorch merges and
// removes segment files in the background, so a file may vanish while it is
// walked; such files are skipped.
func (ix *Index) Size() (int64, error) {
	var n int64
	err := filepath.WalkDir(ix.path, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			n += info.Size()
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("index size: %w", err)
	}
	return n, nil
}

// SegmentHit is a segment matching a SearchSegments query.
type SegmentHit struct {
	ID    string  `json:"id"`
	Name  string  `json:"name"`
	Score float64 `json:"score"`
}

// SearchSegments returns the stored segments whose name, top terms or
// exemplars contain any word of text (analysed as English, so "delays"
// finds a delay-frustrated segment), best first, at most limit (1 to
// MaxLimit). Segments gives their details.
func (ix *Index) SearchSegments(ctx context.Context, text string, limit int) ([]SegmentHit, error) {
	if err := ix.readable(); err != nil {
		return nil, err
	}
	switch {
	case strings.TrimSpace(text) == "":
		return nil, fmt.Errorf("%w: empty segment query", ErrInvalidQuery)
	case len(text) > MaxQueryBytes:
		return nil, fmt.Errorf("%w: query text is %d bytes, at most %d allowed", ErrInvalidQuery, len(text), MaxQueryBytes)
	case limit < 1 || limit > MaxLimit:
		return nil, fmt.Errorf("%w: limit %d is outside 1–%d", ErrInvalidQuery, limit, MaxLimit)
	}
	// A word of the name weighs more than one of the top terms or exemplars.
	name := bleve.NewMatchQuery(text)
	name.SetField(fieldNameText)
	name.SetBoost(4)
	about := bleve.NewMatchQuery(text)
	about.SetField(fieldAbout)
	bq := bleve.NewBooleanQuery()
	bq.AddMust(bleve.NewDisjunctionQuery(name, about))
	bq.AddFilter(termQuery(fieldType, TypeSegment))
	req := bleve.NewSearchRequestOptions(bq, limit, 0, false)
	req.Fields = []string{fieldID, fieldName}
	req.SortByCustom(search.SortOrder{&search.SortScore{Desc: true}, &search.SortDocID{}})
	sr, err := ix.bleve.SearchInContext(ctx, req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("search segments: %w", err)
	}
	out := make([]SegmentHit, 0, len(sr.Hits))
	for _, dm := range sr.Hits {
		out = append(out, SegmentHit{
			ID:    strings.TrimPrefix(dm.ID, SegmentIDPrefix),
			Name:  fieldString(dm.Fields, fieldName),
			Score: dm.Score,
		})
	}
	return out, nil
}
