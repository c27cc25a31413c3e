package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/attune-cx/attune"
	"github.com/attune-cx/attune/embed"
)

// Live model switch (`attune model use NAME`, control verb "model").
//
// The worker keeps consuming while the stored events are re-embedded with
// the new model in the background; those vectors are staged in memory
// (about 1.2 KB per event for a 300-d model), not stored, so the store
// never mixes spaces. Then, holding the pipeline lock (batches wait; none is
// lost or acknowledged early), it embeds with the new model the events that
// arrived meanwhile or changed, stores every staged vector, records the new
// space in embed-space.json and swaps the pipeline's client. Segments of the
// old space are dropped at the swap; the re-cluster that follows assigns
// every event, including those stored between the swap and the fit, which
// are indexed without a segment until then. A batch embedded with the old
// model but stored after the swap is embedded again with the new one
// (pipeline.Handle checks the client under the lock).
//
// The switch lasts until the worker restarts: a worker starts with
// embed.model, and if that differs from the recorded space it re-embeds the
// store back (ensureEmbedSpace), so spaces never mix. Set embed.model to
// keep the new model.

// modelSwitchRequest is the body of the "model" control request.
type modelSwitchRequest struct {
	Model string `json:"model"`
}

// modelSwitchReply says what a switch did.
type modelSwitchReply struct {
	Was        embed.Space `json:"was" yaml:"was"`
	Now        embed.Space `json:"now" yaml:"now"`
	Reembedded int         `json:"reembedded" yaml:"reembedded"`
	// AtSwap is how many of them were embedded while batches waited: the
	// events that arrived or changed during the background pass.
	AtSwap   int     `json:"embedded_at_swap" yaml:"embedded_at_swap"`
	Segments int     `json:"segments" yaml:"segments"`
	Seconds  float64 `json:"seconds" yaml:"seconds"`
	// PausedSeconds is how long batches waited for the swap.
	PausedSeconds float64 `json:"paused_seconds" yaml:"paused_seconds"`
}

// stagedVec is a stored event's vector in the new space, valid while the
// event's cleaned text is still text.
type stagedVec struct {
	text string
	vec  attune.Vector
}

// switchModel switches the pipeline to the model name on the same Ollama,
// as described at the top of this file.
func (p *pipeline) switchModel(ctx context.Context, dataDir, name string) (modelSwitchReply, error) {
	start := time.Now()
	var rep modelSwitchReply
	p.mu.Lock()
	old := p.emb
	p.mu.Unlock()
	next, err := old.ForModel(name)
	if err != nil {
		return rep, err
	}
	if rep.Now, err = next.Space(ctx); err != nil {
		return rep, fmt.Errorf("model %s: %w", name, err)
	}
	if rep.Was, err = old.Space(ctx); err != nil {
		return rep, fmt.Errorf("current model: %w", err)
	}
	// One fit or switch at a time.
	p.fitMu.Lock()
	fitLocked := true
	defer func() {
		if fitLocked {
			p.fitMu.Unlock()
		}
	}()

	// Background pass: read the stored texts (no network call inside the
	// store's read transaction), then embed them with the new model.
	var ids, texts []string
	if err := p.store.Each(func(doc attune.Doc, _ attune.Vector) error {
		ids = append(ids, doc.Event.ID)
		texts = append(texts, doc.Analysis.Clean)
		return nil
	}); err != nil {
		return rep, fmt.Errorf("read stored events: %w", err)
	}
	staged := make(map[string]stagedVec, len(ids))
	for lo := 0; lo < len(ids); lo += reembedBatch {
		hi := min(len(ids), lo+reembedBatch)
		vecs, err := next.Embed(ctx, texts[lo:hi])
		if err != nil {
			return rep, fmt.Errorf("re-embed stored events with %s: %w", name, err)
		}
		for i, v := range vecs {
			staged[ids[lo+i]] = stagedVec{texts[lo+i], v}
		}
	}
	p.log.Info("model switch: stored events embedded in the background", "model", name, "events", len(staged), "took", time.Since(start).Round(time.Millisecond))

	// Swap: batches wait on mu from here.
	p.mu.Lock()
	paused := time.Now()
	var docs []attune.Doc
	if err := p.store.Each(func(doc attune.Doc, _ attune.Vector) error {
		docs = append(docs, doc)
		return nil
	}); err != nil {
		p.mu.Unlock()
		return rep, fmt.Errorf("read stored events: %w", err)
	}
	vecs := make([]attune.Vector, len(docs))
	var missing []int
	for i, d := range docs {
		if s, ok := staged[d.Event.ID]; ok && s.text == d.Analysis.Clean {
			vecs[i] = s.vec
		} else {
			missing = append(missing, i)
		}
	}
	staged = nil
	if len(missing) > 0 {
		mt := make([]string, len(missing))
		for j, i := range missing {
			mt[j] = docs[i].Analysis.Clean
		}
		mv, err := next.Embed(ctx, mt)
		if err != nil {
			p.mu.Unlock()
			return rep, fmt.Errorf("embed %d events that arrived during the switch: %w", len(missing), err)
		}
		for j, i := range missing {
			vecs[i] = mv[j]
		}
	}
	// From the first Put on, the store holds new-space vectors: the record
	// goes first, so that a crash from here on leaves no record and the
	// next start re-embeds everything; and the swap completes even if a
	// later step fails, so that new batches use the new model too.
	record := filepath.Join(dataDir, embedSpaceFile)
	if err := os.Remove(record); err != nil && !errors.Is(err, fs.ErrNotExist) {
		p.mu.Unlock()
		return rep, fmt.Errorf("clear embedding space record: %w", err)
	}
	for lo := 0; lo < len(docs); lo += reembedBatch {
		hi := min(len(docs), lo+reembedBatch)
		if _, err := p.store.Put(docs[lo:hi], vecs[lo:hi]); err != nil {
			p.emb, p.model, p.since = next, nil, 0
			p.mu.Unlock()
			return rep, fmt.Errorf("store re-embedded events: %w", err)
		}
	}
	b, err := json.Marshal(rep.Now)
	if err == nil {
		err = writeFileAtomic(record, func(w io.WriteSeeker) error { _, err := w.Write(b); return err })
	}
	p.emb, p.model, p.since = next, nil, 0
	rep.PausedSeconds = time.Since(paused).Seconds()
	p.mu.Unlock()
	if err != nil {
		return rep, fmt.Errorf("record embedding space: %w", err)
	}
	rep.Reembedded, rep.AtSwap = len(docs), len(missing)
	p.log.Info("model switched", "was", rep.Was.Model, "now", name, "dim", rep.Now.Dim, "events", len(docs),
		"embedded_at_swap", len(missing), "paused", time.Since(paused).Round(time.Millisecond))

	p.fitMu.Unlock()
	fitLocked = false
	if len(docs) >= p.min && len(docs) > 0 {
		segs, err := p.Recluster(ctx)
		if err != nil {
			return rep, fmt.Errorf("model switched; re-cluster failed (run `attune recluster`): %w", err)
		}
		rep.Segments = len(segs)
	}
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}
