package main

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ollama/ollama/api"

	"github.com/attune-cx/attune"
	"github.com/attune-cx/attune/cluster"
	"github.com/attune-cx/attune/embed"
)

// spaceFakeOllama serves /api/tags with a changeable digest and /api/embed
// with vectors of a changeable dimension whose first value is the text's
// length, so a test can tell whose vector it is.
func spaceFakeOllama(t *testing.T, digest *atomic.Value, dim *atomic.Int32) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/tags":
			json.NewEncoder(w).Encode(api.ListResponse{Models: []api.ListModelResponse{
				{Name: "attune-test:latest", Digest: digest.Load().(string)},
			}})
		case "/api/embed":
			var req api.EmbedRequest
			json.NewDecoder(r.Body).Decode(&req)
			var resp api.EmbedResponse
			for _, s := range req.Input.([]any) {
				v := make([]float32, dim.Load())
				v[0] = float32(len(s.(string)))
				resp.Embeddings = append(resp.Embeddings, v)
			}
			json.NewEncoder(w).Encode(resp)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestEnsureEmbedSpaceReembedsOnModelChange(t *testing.T) {
	var digest atomic.Value
	digest.Store("sha256:aaaa")
	var dim atomic.Int32
	dim.Store(4)
	host := spaceFakeOllama(t, &digest, &dim)
	dir := t.TempDir()
	store, err := cluster.OpenStore(filepath.Join(dir, "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	texts := []string{"late flight", "lost my bag", "card charged twice"}
	docs := make([]attune.Doc, len(texts))
	vecs := make([]attune.Vector, len(texts))
	for i, s := range texts {
		docs[i] = attune.Doc{Event: attune.Event{ID: "e" + string(rune('1'+i)), CustomerID: "c1", Text: s}, Analysis: attune.Analysis{Clean: s}}
		vecs[i] = attune.Vector{1, 0, 0, 0}
	}
	if _, err := store.Put(docs, vecs); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	run := func() int {
		t.Helper()
		emb, err := embed.NewClient(host, "attune-test")
		if err != nil {
			t.Fatal(err)
		}
		n, err := ensureEmbedSpace(t.Context(), dir, emb, store, log)
		if err != nil {
			t.Fatalf("ensureEmbedSpace: %v", err)
		}
		return n
	}
	check := func(wantDim int) {
		t.Helper()
		err := store.Each(func(doc attune.Doc, vec attune.Vector) error {
			if len(vec) != wantDim || vec[0] != float32(len(doc.Analysis.Clean)) {
				t.Errorf("event %s has vector %v, want the %d-d one of its text", doc.Event.ID, vec, wantDim)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	if n := run(); n != 3 { // no record yet: the stored vectors' model is unknown
		t.Errorf("first start re-embedded %d events, want 3", n)
	}
	check(4)
	if n := run(); n != 0 {
		t.Errorf("same model: re-embedded %d events, want 0", n)
	}
	digest.Store("sha256:bbbb") // rebuilt under the same name, new dimension
	dim.Store(8)
	if n := run(); n != 3 {
		t.Errorf("new model: re-embedded %d events, want 3", n)
	}
	check(8)
	if b, err := filepathRead(filepath.Join(dir, embedSpaceFile)); err != nil || !strings.Contains(b, "sha256:bbbb") {
		t.Errorf("recorded space %q, %v; want the new digest", b, err)
	}
}

func filepathRead(p string) (string, error) {
	b, err := os.ReadFile(p)
	return string(b), err
}
