package embed

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/types/model"

	"github.com/attune-cx/attune"
)

var (
	// ErrModelMissing means the server does not have the embedding model.
	// The error wrapping it names the fix (see WithMissingModelHint).
	ErrModelMissing = errors.New("embedding model missing")
	// ErrDimensionChanged means the model served vectors of another
	// dimension than it did before, i.e. it was replaced while in use.
	// Vectors of the two models cannot be compared, so nothing is returned.
	ErrDimensionChanged = errors.New("embedding dimension changed")
	// errTimeout marks an attempt that got no answer within the timeout.
	errTimeout = errors.New("no answer from ollama")
)

// ReasonRejected is the attune.PermanentError reason of a batch the server
// refused as malformed (HTTP 400): sending it again cannot succeed.
const ReasonRejected = "embed_rejected"

// probeText is what Check embeds to learn the dimension. Any text works:
// one of unknown words still yields a (zero) vector of full dimension.
const probeText = "the delivery was late and nobody answered"

// Client embeds texts with one model on one Ollama server. It is safe for
// concurrent use, though Ollama serves an embedding model one text at a
// time, so concurrent calls do not add throughput.
type Client struct {
	api   *api.Client
	base  *url.URL
	model string

	batchSize   int
	timeout     time.Duration
	maxAttempts int
	backoff     time.Duration
	threads     int
	logger      *slog.Logger
	missingHint string

	batchChars int
	inFlight   int
	cache      *Cache
	chunk      func(string) []string

	// dim is the dimension the model has served, 0 until known.
	dim atomic.Int64
	// digest is the model's digest on the server, nil until looked up.
	digest atomic.Pointer[string]
}

// NewClient returns a client for model on the Ollama at host ("host:port"
// or a URL, as in ServerConfig.Host). It does not contact the server; call
// Check for that.
func NewClient(host, modelName string, opts ...Option) (*Client, error) {
	base, err := parseHost(host)
	if err != nil {
		return nil, err
	}
	if !model.ParseName(modelName).IsValid() {
		return nil, fmt.Errorf("embedding model name %q is not a valid ollama model name", modelName)
	}
	c := &Client{
		base:        base,
		model:       modelName,
		batchSize:   DefaultBatchSize,
		batchChars:  DefaultBatchChars,
		inFlight:    DefaultMaxInFlight,
		chunk:       func(s string) []string { return SplitSentences(s, DefaultMaxChunkChars) },
		timeout:     DefaultTimeout,
		maxAttempts: DefaultMaxAttempts,
		backoff:     DefaultBackoff,
		threads:     DefaultThreads,
		logger:      slog.New(slog.DiscardHandler),
		missingHint: "run `ollama pull " + modelName + "`",
	}
	for _, opt := range opts {
		if err := opt(c); err != nil {
			return nil, err
		}
	}
	// Per-attempt contexts bound each request, so the HTTP client itself
	// has no timeout.
	c.api = api.NewClient(base, &http.Client{})
	return c, nil
}

// Model returns the name of the model the client embeds with.
func (c *Client) Model() string { return c.model }

// ForModel returns a client for another model on the same server with c's
// options (batching, retries, cache, chunker), and opts applied after
// them. The cache is shared safely: its keys include the model. It does not
// contact the server.
func (c *Client) ForModel(modelName string, opts ...Option) (*Client, error) {
	if !model.ParseName(modelName).IsValid() {
		return nil, fmt.Errorf("embedding model name %q is not a valid ollama model name", modelName)
	}
	n := &Client{
		base: c.base, model: modelName, api: c.api,
		batchSize: c.batchSize, timeout: c.timeout, maxAttempts: c.maxAttempts, backoff: c.backoff,
		threads: c.threads, logger: c.logger, missingHint: "run `ollama pull " + modelName + "`",
		batchChars: c.batchChars, inFlight: c.inFlight, cache: c.cache, chunk: c.chunk,
	}
	for _, opt := range opts {
		if err := opt(n); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// Host returns the base URL of the server the client talks to.
func (c *Client) Host() string { return c.base.String() }

// Embed returns one vector per text, in order.
//
// A text longer than the chunker allows (see WithChunker) is split on
// sentences, each chunk embedded, and the chunk vectors combined into
// their mean weighted by chunk length, normalised; a text is never
// truncated silently. With a cache (WithCache), texts whose vector is
// stored are not sent at all; duplicates within texts are sent once. The
// rest go to the server in batches bounded by count and by total
// characters, at most WithMaxInFlight of them at a time; each batch is
// retried on transient failures. Vectors are L2-normalised, except that a
// text in which no word is known to the model (or an empty text) gets the
// zero vector.
//
// On failure Embed returns no vectors at all. The error wraps
// ErrModelMissing if the model is not on the server, ErrDimensionChanged if
// the model was replaced by one of another dimension, and is an
// attune.PermanentError (reason ReasonRejected) if the server refused a
// batch as malformed. Any other error, including transient failures that
// outlasted the retries and ctx ending, is worth retrying later.
func (c *Client) Embed(ctx context.Context, texts []string) ([]attune.Vector, error) {
	if len(texts) == 0 {
		return nil, nil
	}
	// Pieces: every chunk of every text, each distinct one embedded once.
	type part struct {
		piece  int     // index into pieces
		weight float64 // the chunk's share of its text
	}
	parts := make([][]part, len(texts))
	var pieces []string
	seen := map[string]int{}
	for i, t := range texts {
		chunks := []string{t}
		if c.chunk != nil {
			chunks = nonBlank(c.chunk(t), t)
		}
		for _, ch := range chunks {
			j, ok := seen[ch]
			if !ok {
				j = len(pieces)
				seen[ch] = j
				pieces = append(pieces, ch)
			}
			parts[i] = append(parts[i], part{piece: j, weight: float64(max(1, len(ch)))})
		}
	}

	vecs, err := c.embedPieces(ctx, pieces)
	if err != nil {
		return nil, err
	}
	out := make([]attune.Vector, len(texts))
	for i, ps := range parts {
		if len(ps) == 1 {
			out[i] = vecs[ps[0].piece]
			continue
		}
		sum := make([]float64, len(vecs[ps[0].piece]))
		for _, p := range ps {
			for j, x := range vecs[p.piece] {
				sum[j] += p.weight * float64(x)
			}
		}
		out[i] = normalize(sum)
	}
	return out, nil
}

// nonBlank drops blank chunks, which carry nothing but would count as
// inputs; a text with none left is sent whole.
func nonBlank(chunks []string, text string) []string {
	out := chunks[:0:0]
	for _, ch := range chunks {
		if strings.TrimSpace(ch) != "" {
			out = append(out, ch)
		}
	}
	if len(out) == 0 {
		return []string{text}
	}
	return out
}

// normalize returns v scaled to unit length as float32, or the zero
// vector.
func normalize(v []float64) attune.Vector {
	var n float64
	for _, x := range v {
		n += x * x
	}
	out := make(attune.Vector, len(v))
	if n == 0 {
		return out
	}
	n = math.Sqrt(n)
	for j, x := range v {
		out[j] = float32(x / n)
	}
	return out
}

// embedPieces embeds distinct texts, from the cache where it can.
func (c *Client) embedPieces(ctx context.Context, pieces []string) ([]attune.Vector, error) {
	vecs := make([]attune.Vector, len(pieces))
	var keys [][]byte
	missing := make([]int, 0, len(pieces))
	if c.cache != nil {
		digest, err := c.modelDigest(ctx)
		if err != nil {
			return nil, err
		}
		keys = make([][]byte, len(pieces))
		for i, p := range pieces {
			keys[i] = cacheKey(c.model, digest, p)
		}
		got, err := c.cache.get(keys)
		if err != nil {
			// A broken cache costs speed, never events.
			c.logger.Warn("embedding cache unreadable; embedding without it", "err", err)
			got = make([]attune.Vector, len(pieces))
		}
		for i, v := range got {
			if v != nil && c.observeDim(len(v)) == nil {
				vecs[i] = v
			} else {
				missing = append(missing, i)
			}
		}
	} else {
		for i := range pieces {
			missing = append(missing, i)
		}
	}
	if len(missing) == 0 {
		return vecs, nil
	}
	if err := c.embedMissing(ctx, pieces, missing, vecs); err != nil {
		return nil, err
	}
	if c.cache != nil {
		mk := make([][]byte, len(missing))
		mv := make([]attune.Vector, len(missing))
		for n, i := range missing {
			mk[n], mv[n] = keys[i], vecs[i]
		}
		if err := c.cache.put(mk, mv); err != nil {
			c.logger.Warn("embedding cache not updated", "err", err)
		}
	}
	return vecs, nil
}

// embedMissing fills vecs[i] for every i in idx, sending batches bounded by
// count and characters, at most c.inFlight at a time.
func (c *Client) embedMissing(ctx context.Context, pieces []string, idx []int, vecs []attune.Vector) error {
	type batch struct{ start, end int } // into idx
	var batches []batch
	for start := 0; start < len(idx); {
		end, chars := start, 0
		for end < len(idx) && end-start < c.batchSize {
			n := len(pieces[idx[end]])
			if end > start && chars+n > c.batchChars {
				break
			}
			chars += n
			end++
		}
		batches = append(batches, batch{start, end})
		start = end
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, c.inFlight)
	errs := make([]error, len(batches))
	var wg sync.WaitGroup
	for bi, b := range batches {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			texts := make([]string, b.end-b.start)
			for n, i := range idx[b.start:b.end] {
				texts[n] = pieces[i]
			}
			got, err := c.embedBatch(ctx, texts)
			if err != nil {
				if len(batches) > 1 {
					err = fmt.Errorf("batch of texts %d-%d of %d: %w", b.start, b.end-1, len(idx), err)
				}
				errs[bi] = err
				cancel()
				return
			}
			for n, i := range idx[b.start:b.end] {
				vecs[i] = got[n]
			}
		}()
	}
	wg.Wait()
	// The first failure is the cause; later ones are mostly its
	// cancellation.
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return fmt.Errorf("embed %d texts with %s: %w", len(idx), c.model, context.Cause(ctx))
	}
	return nil
}

// modelDigest returns the digest of the model on the server, which keys
// the cache: a model rebuilt under the same name gets a new one.
func (c *Client) modelDigest(ctx context.Context) (string, error) {
	if d := c.digest.Load(); d != nil {
		return *d, nil
	}
	var list *api.ListResponse
	err := c.call(ctx, func(ctx context.Context) error {
		var err error
		list, err = c.api.List(ctx)
		return err
	})
	if err != nil {
		return "", c.classify(fmt.Sprintf("look up model %s at %s", c.model, c.base), err)
	}
	want := model.ParseName(c.model)
	for _, m := range list.Models {
		if model.ParseName(m.Name).EqualFold(want) {
			d := m.Digest
			c.digest.Store(&d)
			return d, nil
		}
	}
	return "", fmt.Errorf("look up model %s at %s: %w: the server has no model %q; %s", c.model, c.base, ErrModelMissing, c.model, c.missingHint)
}

// embedBatch sends one request and checks its answer.
func (c *Client) embedBatch(ctx context.Context, texts []string) ([]attune.Vector, error) {
	req := &api.EmbedRequest{Model: c.model, Input: texts}
	if c.threads > 0 {
		req.Options = map[string]any{"num_thread": c.threads}
	}
	var resp *api.EmbedResponse
	err := c.call(ctx, func(ctx context.Context) error {
		var err error
		resp, err = c.api.Embed(ctx, req)
		return err
	})
	if err != nil {
		return nil, c.classify(fmt.Sprintf("embed %d texts with %s at %s", len(texts), c.model, c.base), err)
	}
	if len(resp.Embeddings) != len(texts) {
		return nil, fmt.Errorf("embed %d texts with %s at %s: server returned %d vectors",
			len(texts), c.model, c.base, len(resp.Embeddings))
	}
	vecs := make([]attune.Vector, len(texts))
	for i, e := range resp.Embeddings {
		if err := c.observeDim(len(e)); err != nil {
			return nil, fmt.Errorf("embed %d texts with %s at %s: text %d: %w", len(texts), c.model, c.base, i, err)
		}
		vecs[i] = attune.Vector(e)
	}
	return vecs, nil
}

// observeDim records the first dimension seen and rejects any other.
func (c *Client) observeDim(n int) error {
	if n == 0 {
		return errors.New("server returned an empty vector")
	}
	if c.dim.CompareAndSwap(0, int64(n)) {
		return nil
	}
	if want := c.dim.Load(); int64(n) != want {
		return fmt.Errorf("%w: model %s served %d dimensions, earlier %d", ErrDimensionChanged, c.model, n, want)
	}
	return nil
}

// Check verifies that the server has the model and that it embeds, and
// returns the embedding dimension. A missing model gives an error wrapping
// ErrModelMissing whose message names the fix.
func (c *Client) Check(ctx context.Context) (dim int, err error) {
	vecs, err := c.embedBatch(ctx, []string{probeText})
	if err != nil {
		return 0, fmt.Errorf("check embedding model: %w", err)
	}
	return len(vecs[0]), nil
}

// Space identifies the vector space of a client's vectors: vectors of two
// different Spaces must not be compared, so a store records the Space with
// its vectors and re-embeds when the configured one differs.
type Space struct {
	// Model is the model's name as configured, e.g. "attune-embed".
	Model string `json:"model"`
	// Digest is the model's digest on the server; a model rebuilt under
	// the same name (new corpus, new layout) gets a new one.
	Digest string `json:"digest"`
	// Dim is the dimension of the served vectors.
	Dim int `json:"dim"`
}

// Space checks the model as Check does and returns its identity.
func (c *Client) Space(ctx context.Context) (Space, error) {
	c.digest.Store(nil) // ask the server again: the model may be new
	digest, err := c.modelDigest(ctx)
	if err != nil {
		return Space{}, err
	}
	dim, err := c.Check(ctx)
	if err != nil {
		return Space{}, err
	}
	return Space{Model: c.model, Digest: digest, Dim: dim}, nil
}

// HasModel reports whether the server has a model called name.
func (c *Client) HasModel(ctx context.Context, name string) (bool, error) {
	err := c.call(ctx, func(ctx context.Context) error {
		_, err := c.api.Show(ctx, &api.ShowRequest{Model: name})
		return err
	})
	var se api.StatusError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &se) && se.StatusCode == http.StatusNotFound:
		return false, nil
	default:
		return false, fmt.Errorf("look up model %s at %s: %w", name, c.base, err)
	}
}

// CreateFromGGUF registers the GGUF file at ggufPath as model name on the
// server, replacing any model of that name: it uploads the file as a blob
// (a no-op if the server has it already) and creates the model from it.
// The file is sent over HTTP, so the server need not see this filesystem.
func (c *Client) CreateFromGGUF(ctx context.Context, name, ggufPath string) error {
	if !model.ParseName(name).IsValid() {
		return fmt.Errorf("create model: %q is not a valid ollama model name", name)
	}
	f, err := os.Open(ggufPath)
	if err != nil {
		return fmt.Errorf("create model %s: %w", name, err)
	}
	defer f.Close()
	magic := make([]byte, 4)
	if _, err := io.ReadFull(f, magic); err != nil || !bytes.Equal(magic, []byte("GGUF")) {
		return fmt.Errorf("create model %s: %s is not a GGUF file", name, ggufPath)
	}
	h := sha256.New()
	size, err := io.Copy(h, io.NewSectionReader(f, 0, math.MaxInt64))
	if err != nil {
		return fmt.Errorf("create model %s: hash %s: %w", name, ggufPath, err)
	}
	digest := "sha256:" + hex.EncodeToString(h.Sum(nil))

	err = c.call(ctx, func(ctx context.Context) error {
		// A fresh reader per attempt; a SectionReader has no Close for the
		// HTTP transport to call on the file.
		return c.api.CreateBlob(ctx, digest, io.NewSectionReader(f, 0, size))
	})
	if err != nil {
		return fmt.Errorf("create model %s: upload %s (%d bytes) to %s: %w", name, ggufPath, size, c.base, err)
	}

	stream := false
	var status string
	err = c.call(ctx, func(ctx context.Context) error {
		return c.api.Create(ctx, &api.CreateRequest{
			Model:  name,
			Files:  map[string]string{"model.gguf": digest},
			Stream: &stream,
		}, func(p api.ProgressResponse) error {
			status = p.Status
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("create model %s at %s: %w", name, c.base, err)
	}
	if status != "success" {
		return fmt.Errorf("create model %s at %s: server ended with status %q", name, c.base, status)
	}
	if model.ParseName(name).EqualFold(model.ParseName(c.model)) {
		c.dim.Store(0) // a rebuilt model may have a new dimension
		c.digest.Store(nil)
	}
	c.logger.Info("created ollama model", "model", name, "digest", digest, "bytes", size, "host", c.base.String())
	return nil
}

// classify turns a final request error into the kind callers act on.
func (c *Client) classify(what string, err error) error {
	var se api.StatusError
	if errors.As(err, &se) {
		switch se.StatusCode {
		case http.StatusNotFound:
			return fmt.Errorf("%s: %w: the server has no model %q; %s", what, ErrModelMissing, c.model, c.missingHint)
		case http.StatusBadRequest:
			return attune.Permanent(ReasonRejected, fmt.Errorf("%s: %w", what, err))
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// call runs fn with a per-attempt timeout, retrying transient failures
// with exponential backoff until attempts run out or ctx ends.
func (c *Client) call(ctx context.Context, fn func(context.Context) error) error {
	for attempt := 1; ; attempt++ {
		err := c.attempt(ctx, fn)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		}
		if !retryable(err) {
			return err
		}
		if attempt >= c.maxAttempts {
			if attempt > 1 {
				return fmt.Errorf("%w (gave up after %d attempts)", err, attempt)
			}
			return err
		}
		wait := c.wait(attempt)
		c.logger.Warn("ollama request failed; retrying", "host", c.base.String(), "model", c.model,
			"attempt", attempt, "max_attempts", c.maxAttempts, "backoff", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		case <-t.C:
		}
	}
}

func (c *Client) attempt(ctx context.Context, fn func(context.Context) error) error {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	err := fn(actx)
	if err != nil && ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w within %s: %w", errTimeout, c.timeout, err)
	}
	return err
}

// wait returns the pause before retry number attempt: the base backoff
// doubled per earlier retry, capped, with the upper half jittered so that
// clients restarted together do not retry in step.
func (c *Client) wait(attempt int) time.Duration {
	d := c.backoff
	for i := 1; i < attempt && d < maxBackoff; i++ {
		d *= 2
	}
	d = min(d, maxBackoff)
	if d < 2 {
		return d
	}
	return d/2 + rand.N(d/2)
}

// retryable reports whether a failed request may succeed if sent again:
// the server was unreachable, dropped the connection, timed out, or
// answered 5xx, 429 or 408. An error the server reported about the request
// itself is not retried.
func retryable(err error) bool {
	var se api.StatusError
	if errors.As(err, &se) {
		return se.StatusCode >= 500 || se.StatusCode == http.StatusTooManyRequests || se.StatusCode == http.StatusRequestTimeout
	}
	var ue *url.Error
	var ne net.Error
	return errors.Is(err, errTimeout) || errors.As(err, &ue) || errors.As(err, &ne) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}
