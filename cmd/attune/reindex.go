package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/attune-cx/attune"
	"github.com/attune-cx/attune/cluster"
	"github.com/attune-cx/attune/index"
)

// reindexBatch is how many docs rebuildIndex writes per batch.
const reindexBatch = 1000

func reindexCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "reindex",
		Short: "Rebuild the search index from the segment store (after an upgrade changed the index mapping)",
		Long: `reindex rebuilds <data_dir>/index from the segment store, which keeps every
stored event with its analysis: each event is assigned to its segment with the
current segment model and written with this version's index mapping, and the
segment set is stored. The new index is built beside the old one and swapped
in only when complete, so an interrupted reindex leaves the old index as it
was.

Run it when the worker refuses to start with "index mapping version
mismatch". Stop the worker first: reindex needs the segment store to itself
and fails at once if a worker holds it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := g.load()
			if err != nil {
				return err
			}
			res, err := rebuildIndex(cmd.Context(), cfg, log)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "reindexed %d events and %d segments into %s (%.1f MiB) in %s\n",
				res.Events, res.Segments, cfg.indexDir(), float64(res.Bytes)/(1<<20), res.Took.Round(time.Millisecond))
			return nil
		},
	}
}

type reindexResult struct {
	Events, Segments int
	Bytes            int64
	Took             time.Duration
}

// rebuildIndex writes every event of the segment store into a new index at
// cfg.indexDir()+".rebuild" and then replaces cfg.indexDir() with it.
func rebuildIndex(ctx context.Context, cfg *Config, log *slog.Logger) (reindexResult, error) {
	start := time.Now()
	var res reindexResult
	if cfg.Cluster.Shared {
		// The store holds every worker's events, the shard only its own;
		// which are whose is not recorded outside the old index.
		return res, errors.New("reindex is not supported with cluster.shared: the store holds every worker's events and would fill this shard with them; rebuild the workers from fresh shared state instead")
	}
	// The same options as the worker, so the store keeps its customer
	// features as they are.
	st, err := cluster.OpenStore(cfg.storePath(),
		cluster.WithMonetary(cfg.Cluster.MonetaryAttr),
		cluster.WithEngagement(cfg.Cluster.EngagementAttrs...))
	if err != nil {
		return res, fmt.Errorf("%w (is a worker running? stop it before reindexing)", err)
	}
	defer st.Close()
	m, err := st.LoadModel()
	if err != nil {
		return res, err
	}
	pts, err := st.Points(ctx)
	if err != nil {
		return res, err
	}

	dst := cfg.indexDir()
	tmp := dst + ".rebuild"
	// A leftover of an interrupted reindex is incomplete by definition.
	if err := os.RemoveAll(tmp); err != nil {
		return res, fmt.Errorf("remove unfinished rebuild: %w", err)
	}
	ix, err := index.Open(tmp, index.WithLogger(log))
	if err != nil {
		return res, err
	}
	closed := false
	defer func() {
		if !closed {
			_ = ix.Close()
			_ = os.RemoveAll(tmp)
		}
	}()
	docs := make([]attune.Doc, 0, reindexBatch)
	for i, pt := range pts {
		d := pt.Doc
		d.SegmentID, d.SegmentName = "", ""
		if m != nil {
			seg := m.Assign(pt)
			d.SegmentID, d.SegmentName = seg.ID, seg.Name
		}
		docs = append(docs, d)
		if len(docs) == reindexBatch || i == len(pts)-1 {
			if err := ix.IndexDocs(ctx, docs); err != nil {
				return res, fmt.Errorf("reindex: %w", err)
			}
			docs = docs[:0]
		}
	}
	res.Events = len(pts)
	if m != nil {
		segs := m.Segments()
		if err := ix.ReplaceSegments(ctx, segs); err != nil {
			return res, fmt.Errorf("reindex: %w", err)
		}
		res.Segments = len(segs)
	}
	if res.Bytes, err = ix.Size(); err != nil {
		return res, err
	}
	closed = true
	if err := ix.Close(); err != nil {
		_ = os.RemoveAll(tmp)
		return res, err
	}
	if err := swapDir(tmp, dst); err != nil {
		return res, err
	}
	res.Took = time.Since(start)
	log.Info("index rebuilt", "events", res.Events, "segments", res.Segments, "path", dst, "took", res.Took)
	return res, nil
}

// swapDir replaces directory dst with src: dst is renamed aside, src renamed
// to dst, and the old one removed. A crash between the two renames leaves
// dst+".old" complete, and the next reindex starts over.
func swapDir(src, dst string) error {
	old := dst + ".old"
	if err := os.RemoveAll(old); err != nil {
		return fmt.Errorf("remove %s: %w", old, err)
	}
	if err := os.Rename(dst, old); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("move old index aside: %w", err)
	}
	if err := os.Rename(src, dst); err != nil {
		return fmt.Errorf("move new index in place: %w", err)
	}
	// Make the renames durable before the old index goes.
	if d, err := os.Open(filepath.Dir(dst)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	if err := os.RemoveAll(old); err != nil {
		return fmt.Errorf("remove old index: %w", err)
	}
	return nil
}
