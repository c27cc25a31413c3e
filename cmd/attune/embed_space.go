package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/attune-cx/attune"
	"github.com/attune-cx/attune/cluster"
	"github.com/attune-cx/attune/embed"
)

// embedSpaceFile is where the worker records which model (name, digest,
// dimension) the stored vectors come from, beside the segment store.
const embedSpaceFile = "embed-space.json"

// reembedBatch is how many stored events are re-embedded per store write.
const reembedBatch = 1024

// vectorStore is what re-embedding needs of the segment store.
type vectorStore interface {
	Each(fn func(doc attune.Doc, vec attune.Vector) error) error
	Put(docs []attune.Doc, vecs []attune.Vector) (map[string]attune.Customer, error)
}

var _ vectorStore = (*cluster.Store)(nil)

// ensureEmbedSpace makes every stored vector come from the model emb
// serves now. It compares emb's Space with the one recorded in dataDir; if
// they differ (a new model name, a rebuilt model, another dimension) and
// events are stored, it re-embeds every stored event's cleaned text with
// emb and stores the new vectors, then records the new Space. It returns
// how many events it re-embedded; the caller re-clusters when that is
// more than zero. It must run before the worker consumes, so that no batch
// is stored in one space while the rest is in another. Interrupted, it
// leaves the old record, and the next start re-embeds again (Put is
// idempotent per event).
func ensureEmbedSpace(ctx context.Context, dataDir string, emb *embed.Client, store vectorStore, log *slog.Logger) (int, error) {
	now, err := emb.Space(ctx)
	if err != nil {
		return 0, err
	}
	path := filepath.Join(dataDir, embedSpaceFile)
	var was embed.Space
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return 0, fmt.Errorf("read embedding space: %w", err)
	default:
		if err := json.Unmarshal(b, &was); err != nil {
			return 0, fmt.Errorf("read embedding space %s: %w", path, err)
		}
	}
	n := 0
	if was != now {
		start := time.Now()
		var docs []attune.Doc
		flush := func() error {
			if len(docs) == 0 {
				return nil
			}
			texts := make([]string, len(docs))
			for i, d := range docs {
				texts[i] = d.Analysis.Clean
			}
			vecs, err := emb.Embed(ctx, texts)
			if err != nil {
				return fmt.Errorf("re-embed %d stored events: %w", len(docs), err)
			}
			if _, err := store.Put(docs, vecs); err != nil {
				return fmt.Errorf("store re-embedded events: %w", err)
			}
			n += len(docs)
			docs = docs[:0]
			return nil
		}
		err := store.Each(func(doc attune.Doc, vec attune.Vector) error {
			docs = append(docs, doc)
			if len(docs) == reembedBatch {
				return flush()
			}
			return nil
		})
		if err == nil {
			err = flush()
		}
		if err != nil {
			return n, err
		}
		if n > 0 {
			log.Info("re-embedded stored events for a new embedding model", "events", n,
				"was", was.Model+"@"+short(was.Digest), "now", now.Model+"@"+short(now.Digest),
				"dim", now.Dim, "took", time.Since(start).Round(time.Millisecond))
		}
	}
	b, err = json.Marshal(now)
	if err != nil {
		return n, err
	}
	if err := writeFileAtomic(path, func(w io.WriteSeeker) error { _, err := w.Write(b); return err }); err != nil {
		return n, fmt.Errorf("record embedding space: %w", err)
	}
	return n, nil
}

// short abbreviates a digest for logs.
func short(digest string) string {
	if len(digest) > 19 {
		return digest[:19]
	}
	return digest
}
