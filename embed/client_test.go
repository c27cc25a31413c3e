package embed

import (
	"context"
	"encoding/json"
	"errors"
	"hash/fnv"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/attune-cx/attune"
)

// These tests run the client against a stand-in for /api/embed that fails
// in the ways a real server or network does, which a real Ollama cannot be
// made to do on demand. The same client is checked against a real Ollama in
// ollama_test.go.

// fakeDim is the dimension of the stand-in's vectors.
const fakeDim = 8

// fakeVector is the stand-in's deterministic embedding of text, so that a
// test can tell which text a returned vector belongs to.
func fakeVector(text string, dim int) []float32 {
	h := fnv.New64a()
	h.Write([]byte(text))
	seed := h.Sum64()
	v := make([]float32, dim)
	var norm float64
	for i := range v {
		seed = seed*6364136223846793005 + 1442695040888963407
		v[i] = float32(int64(seed>>33)%1000 - 500)
		norm += float64(v[i]) * float64(v[i])
	}
	for i := range v {
		v[i] = float32(float64(v[i]) / math.Sqrt(norm))
	}
	return v
}

// fakeOllama serves /api/embed. respond decides each answer from the
// 1-based call number and the request's texts; a nil return means the
// regular answer.
type fakeOllama struct {
	*httptest.Server
	calls   atomic.Int32
	mu      sync.Mutex
	batches [][]string
	options []map[string]any
	// digest is what /api/tags reports for every model.
	digest atomic.Value
}

func newFakeOllama(t *testing.T, respond func(call int, w http.ResponseWriter, texts []string) bool) *fakeOllama {
	t.Helper()
	f := &fakeOllama{}
	f.digest.Store("sha256:1111")
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/tags" {
			json.NewEncoder(w).Encode(api.ListResponse{Models: []api.ListModelResponse{
				{Name: "attune-test:latest", Model: "attune-test:latest", Digest: f.digest.Load().(string)},
			}})
			return
		}
		if r.URL.Path != "/api/embed" {
			http.NotFound(w, r)
			return
		}
		var req struct {
			Model   string         `json:"model"`
			Input   []string       `json:"input"`
			Options map[string]any `json:"options"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
			return
		}
		call := int(f.calls.Add(1))
		f.mu.Lock()
		f.batches = append(f.batches, req.Input)
		f.options = append(f.options, req.Options)
		f.mu.Unlock()
		if respond != nil && respond(call, w, req.Input) {
			return
		}
		resp := api.EmbedResponse{Model: req.Model}
		for _, s := range req.Input {
			resp.Embeddings = append(resp.Embeddings, fakeVector(s, fakeDim))
		}
		json.NewEncoder(w).Encode(resp)
	}))
	t.Cleanup(f.Close)
	return f
}

func replyError(w http.ResponseWriter, code int, msg string) bool {
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
	return true
}

func newTestClient(t *testing.T, host string, opts ...Option) *Client {
	t.Helper()
	opts = append([]Option{WithRetry(3, time.Millisecond)}, opts...)
	c, err := NewClient(host, "attune-test", opts...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c
}

func TestEmbedBatchesInOrder(t *testing.T) {
	texts := airlineTweets(t)[:150]
	f := newFakeOllama(t, nil)
	c := newTestClient(t, f.URL, WithBatchSize(64))

	vecs, err := c.Embed(t.Context(), texts)
	if err != nil {
		t.Fatalf("Embed: %v", err)
	}
	if len(vecs) != len(texts) {
		t.Fatalf("got %d vectors for %d texts", len(vecs), len(texts))
	}
	for i, v := range vecs {
		want := fakeVector(texts[i], fakeDim)
		for j := range want {
			if v[j] != want[j] {
				t.Fatalf("vector %d is not the embedding of text %d: %v, want %v", i, i, v, want)
			}
		}
	}
	var sizes []int
	for _, b := range f.batches {
		sizes = append(sizes, len(b))
	}
	slices.Sort(sizes) // two requests are in flight at a time
	if want := []int{22, 64, 64}; !equalInts(sizes, want) {
		t.Errorf("batch sizes %v, want %v", sizes, want)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestEmbedThreads(t *testing.T) {
	tests := []struct {
		opts []Option
		want any // num_thread sent, nil for none
	}{
		{nil, float64(DefaultThreads)},
		{[]Option{WithThreads(4)}, float64(4)},
		{[]Option{WithThreads(0)}, nil},
	}
	for _, tt := range tests {
		f := newFakeOllama(t, nil)
		c := newTestClient(t, f.URL, tt.opts...)
		if _, err := c.Embed(t.Context(), airlineTweets(t)[:2]); err != nil {
			t.Fatal(err)
		}
		if got := f.options[0]["num_thread"]; got != tt.want {
			t.Errorf("num_thread sent = %v, want %v", got, tt.want)
		}
	}
}

func TestEmbedNoTexts(t *testing.T) {
	f := newFakeOllama(t, nil)
	c := newTestClient(t, f.URL)
	vecs, err := c.Embed(t.Context(), nil)
	if err != nil || len(vecs) != 0 {
		t.Fatalf("Embed(nil) = %d vectors, %v; want none, nil", len(vecs), err)
	}
	if n := f.calls.Load(); n != 0 {
		t.Errorf("Embed(nil) sent %d requests, want 0", n)
	}
}

func TestEmbedFailures(t *testing.T) {
	texts := airlineTweets(t)[200:210]
	tests := []struct {
		name    string
		respond func(call int, w http.ResponseWriter, texts []string) bool
		opts    []Option
		// wantCalls is the number of requests the server should see.
		wantCalls int
		// wantErr, when set, must be in the error chain.
		wantErr error
		// wantPermanent is whether the error is an attune.PermanentError.
		wantPermanent bool
		// wantMsg must occur in the error message.
		wantMsg string
		// wantOK means the call recovers and succeeds.
		wantOK bool
	}{
		{
			name: "5xx then success is retried",
			respond: func(call int, w http.ResponseWriter, _ []string) bool {
				return call < 3 && replyError(w, http.StatusServiceUnavailable, "runner busy")
			},
			wantCalls: 3,
			wantOK:    true,
		},
		{
			name: "5xx throughout gives up after max attempts",
			respond: func(_ int, w http.ResponseWriter, _ []string) bool {
				return replyError(w, http.StatusInternalServerError, "llama runner process has terminated: exit status 2")
			},
			wantCalls: 3,
			wantMsg:   "runner process has terminated",
		},
		{
			name: "429 is retried",
			respond: func(call int, w http.ResponseWriter, _ []string) bool {
				return call == 1 && replyError(w, http.StatusTooManyRequests, "server busy, please try again")
			},
			wantCalls: 2,
			wantOK:    true,
		},
		{
			name: "missing model names the fix and is not retried",
			respond: func(_ int, w http.ResponseWriter, _ []string) bool {
				return replyError(w, http.StatusNotFound, "model 'attune-test' not found")
			},
			wantCalls: 1,
			wantErr:   ErrModelMissing,
			wantMsg:   "run `ollama pull attune-test`",
		},
		{
			name: "missing model with the project's hint",
			respond: func(_ int, w http.ResponseWriter, _ []string) bool {
				return replyError(w, http.StatusNotFound, "model 'attune-test' not found")
			},
			opts:      []Option{WithMissingModelHint("run `attune model build`")},
			wantCalls: 1,
			wantErr:   ErrModelMissing,
			wantMsg:   "run `attune model build`",
		},
		{
			name: "bad request is permanent",
			respond: func(_ int, w http.ResponseWriter, _ []string) bool {
				return replyError(w, http.StatusBadRequest, "invalid input type")
			},
			wantCalls:     1,
			wantPermanent: true,
			wantMsg:       "invalid input type",
		},
		{
			name: "too few vectors",
			respond: func(_ int, w http.ResponseWriter, texts []string) bool {
				json.NewEncoder(w).Encode(api.EmbedResponse{Embeddings: [][]float32{fakeVector(texts[0], fakeDim)}})
				return true
			},
			wantCalls: 1,
			wantMsg:   "returned 1 vectors",
		},
		{
			name: "answer that is not JSON",
			respond: func(_ int, w http.ResponseWriter, _ []string) bool {
				w.Write([]byte("<html>502 Bad Gateway</html>"))
				return true
			},
			wantCalls: 1,
			wantMsg:   "invalid character",
		},
		{
			name: "vectors of mixed dimension",
			respond: func(_ int, w http.ResponseWriter, texts []string) bool {
				resp := api.EmbedResponse{}
				for i, s := range texts {
					resp.Embeddings = append(resp.Embeddings, fakeVector(s, fakeDim+i%2))
				}
				json.NewEncoder(w).Encode(resp)
				return true
			},
			wantCalls: 1,
			wantErr:   ErrDimensionChanged,
		},
		{
			name: "timeout is retried, then returned",
			respond: func(_ int, w http.ResponseWriter, texts []string) bool {
				time.Sleep(200 * time.Millisecond)
				return false
			},
			opts:      []Option{WithTimeout(20 * time.Millisecond)},
			wantCalls: 3,
			wantErr:   errTimeout,
		},
		{
			name: "dropped connection is retried",
			respond: func(call int, w http.ResponseWriter, _ []string) bool {
				if call > 1 {
					return false
				}
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					conn.Close()
				}
				return true
			},
			wantCalls: 2,
			wantOK:    true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeOllama(t, tt.respond)
			c := newTestClient(t, f.URL, tt.opts...)
			vecs, err := c.Embed(t.Context(), texts)
			if got := int(f.calls.Load()); got != tt.wantCalls {
				t.Errorf("server saw %d requests, want %d", got, tt.wantCalls)
			}
			if tt.wantOK {
				if err != nil {
					t.Fatalf("Embed: %v", err)
				}
				if len(vecs) != len(texts) {
					t.Fatalf("got %d vectors for %d texts", len(vecs), len(texts))
				}
				return
			}
			if err == nil {
				t.Fatalf("Embed succeeded with %d vectors, want an error", len(vecs))
			}
			if vecs != nil {
				t.Errorf("Embed returned %d vectors with its error, want none", len(vecs))
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %q does not wrap %v", err, tt.wantErr)
			}
			if _, perm := attune.IsPermanent(err); perm != tt.wantPermanent {
				t.Errorf("IsPermanent = %v, want %v (error %q)", perm, tt.wantPermanent, err)
			}
			if tt.wantMsg != "" && !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
		})
	}
}

func TestEmbedDimensionChangeBetweenCalls(t *testing.T) {
	texts := airlineTweets(t)[300:304]
	dim := atomic.Int32{}
	dim.Store(fakeDim)
	f := newFakeOllama(t, func(_ int, w http.ResponseWriter, texts []string) bool {
		resp := api.EmbedResponse{}
		for _, s := range texts {
			resp.Embeddings = append(resp.Embeddings, fakeVector(s, int(dim.Load())))
		}
		json.NewEncoder(w).Encode(resp)
		return true
	})
	c := newTestClient(t, f.URL)
	if d, err := c.Check(t.Context()); err != nil || d != fakeDim {
		t.Fatalf("Check = %d, %v; want %d, nil", d, err, fakeDim)
	}
	dim.Store(fakeDim * 2)
	if _, err := c.Embed(t.Context(), texts); !errors.Is(err, ErrDimensionChanged) {
		t.Fatalf("Embed after the model changed dimension: %v, want ErrDimensionChanged", err)
	}
}

func TestEmbedServerUnreachable(t *testing.T) {
	f := newFakeOllama(t, nil)
	f.Close() // its port now refuses connections
	c := newTestClient(t, f.URL)
	vecs, err := c.Embed(t.Context(), airlineTweets(t)[:3])
	if err == nil || vecs != nil {
		t.Fatalf("Embed against a closed port = %d vectors, %v; want none and an error", len(vecs), err)
	}
	if !strings.Contains(err.Error(), "gave up after 3 attempts") {
		t.Errorf("error %q does not say it retried", err)
	}
	if _, perm := attune.IsPermanent(err); perm {
		t.Errorf("connection refused is permanent: %v", err)
	}
}

func TestEmbedContextCancelled(t *testing.T) {
	release := make(chan struct{})
	f := newFakeOllama(t, func(int, http.ResponseWriter, []string) bool {
		<-release
		return false
	})
	defer close(release)
	c := newTestClient(t, f.URL)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := c.Embed(ctx, airlineTweets(t)[:3])
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Embed with a cancelled context: %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Embed took %s to notice the cancellation", d)
	}
	if n := f.calls.Load(); n != 1 {
		t.Errorf("server saw %d requests after cancellation, want 1", n)
	}
}

func TestNewClientOptions(t *testing.T) {
	tests := []struct {
		name  string
		model string
		opts  []Option
		ok    bool
	}{
		{"defaults", "nomic-embed-text", nil, true},
		{"tagged model", "attune-embed:latest", []Option{WithBatchSize(1), WithTimeout(time.Second), WithRetry(1, 0), WithThreads(0)}, true},
		{"empty model", "", nil, false},
		{"batch size 0", "m", []Option{WithBatchSize(0)}, false},
		{"negative timeout", "m", []Option{WithTimeout(-time.Second)}, false},
		{"no attempts", "m", []Option{WithRetry(0, time.Second)}, false},
		{"negative backoff", "m", []Option{WithRetry(3, -time.Second)}, false},
		{"negative threads", "m", []Option{WithThreads(-1)}, false},
		{"nil logger", "m", []Option{WithLogger(nil)}, false},
		{"empty hint", "m", []Option{WithMissingModelHint("")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewClient("127.0.0.1:11434", tt.model, tt.opts...)
			if tt.ok {
				if err != nil {
					t.Fatalf("NewClient: %v", err)
				}
				if c.Model() != tt.model {
					t.Errorf("Model() = %q, want %q", c.Model(), tt.model)
				}
				return
			}
			if err == nil {
				t.Fatal("NewClient succeeded, want an error")
			}
			if len(tt.opts) > 0 && !errors.Is(err, ErrInvalidOption) {
				t.Errorf("error %q does not wrap ErrInvalidOption", err)
			}
		})
	}
}

func TestRetryWait(t *testing.T) {
	c := &Client{backoff: 100 * time.Millisecond}
	for attempt, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond, 20: maxBackoff} {
		for range 50 {
			if got := c.wait(attempt); got < want/2 || got > want {
				t.Fatalf("wait(%d) = %s, want in [%s, %s]", attempt, got, want/2, want)
			}
		}
	}
}

func TestCreateFromGGUFRejectsOtherFiles(t *testing.T) {
	f := newFakeOllama(t, nil)
	c := newTestClient(t, f.URL)
	path := filepath.Join(t.TempDir(), "model.safetensors")
	if err := os.WriteFile(path, []byte("\x08\x00\x00\x00\x00\x00\x00\x00{}      "), 0o644); err != nil {
		t.Fatal(err)
	}
	err := c.CreateFromGGUF(t.Context(), "attune-test", path)
	if err == nil || !strings.Contains(err.Error(), "not a GGUF file") {
		t.Fatalf("CreateFromGGUF(safetensors) = %v, want a not-a-GGUF error", err)
	}
	if err := c.CreateFromGGUF(t.Context(), "attune-test", filepath.Join(t.TempDir(), "missing.gguf")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("CreateFromGGUF(missing file) = %v, want os.ErrNotExist", err)
	}
	if n := f.calls.Load(); n != 0 {
		t.Errorf("server saw %d requests, want none", n)
	}
}
