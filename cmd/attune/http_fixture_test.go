package main

import (
	"context"
	"hash/fnv"
	"math"
	"net/http/httptest"
	"testing"

	"github.com/attune-cx/attune"
	"github.com/attune-cx/attune/cluster"
)

// apiFixture is the HTTP API over real stores in a temp data dir, filled
// from real airline tweets through the real NLP stage, clustering and
// index, without NATS or Ollama: vectors are hashed bags of the texts'
// stems, so that these tests run anywhere in seconds. What needs the worker
// (its counters, the vector cache, the streams) is tested with the real
// pipeline in TestWorkerAPI.
type apiFixture struct {
	a    *app
	srv  *apiServer
	http *httptest.Server
	docs []attune.Doc
}

// hashDim is the dimension of the stand-in vectors.
const hashDim = 128

// hashVec is a feature-hashed, L2-normalised bag of stems.
func hashVec(stems []string) attune.Vector {
	v := make([]float64, hashDim)
	for _, s := range stems {
		h := fnv.New32a()
		h.Write([]byte(s))
		x := h.Sum32()
		sign := 1.0
		if x&1 == 1 {
			sign = -1
		}
		v[(x>>1)%hashDim] += sign
	}
	var n float64
	for _, x := range v {
		n += x * x
	}
	out := make(attune.Vector, hashDim)
	if n == 0 {
		return out
	}
	for i, x := range v {
		out[i] = float32(x / math.Sqrt(n))
	}
	return out
}

func newAPIFixture(t *testing.T, n int, sets ...string) *apiFixture {
	t.Helper()
	cfg := testConfig(t)
	for _, kv := range append([]string{"http.listen=127.0.0.1:0"}, sets...) {
		if err := setKeyString(cfg, kv); err != nil {
			t.Fatal(err)
		}
	}
	a := newApp(cfg, testLogger(t))
	t.Cleanup(a.Close)
	if err := a.openStores(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var docs []attune.Doc
	var vecs []attune.Vector
	for _, r := range tweetRecords(t, n) {
		ev, err := attune.DecodeEvent(r.Payload, 0)
		if err != nil {
			t.Fatal(err)
		}
		if a.redactor != nil {
			ev.Text, _ = a.redactor.Redact(ev.Text)
		}
		d := attune.Doc{Event: ev, Analysis: a.nlp.Analyze(ev.Text)}
		docs = append(docs, d)
		vecs = append(vecs, hashVec(d.Analysis.Stems))
	}
	if _, err := a.store.Put(docs, vecs); err != nil {
		t.Fatal(err)
	}
	pts, err := a.store.Points(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m, err := cluster.Fit(ctx, pts, a.clusterConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.store.SaveModel(m); err != nil {
		t.Fatal(err)
	}
	for i := range pts {
		seg := m.Assign(pts[i])
		pts[i].Doc.SegmentID, pts[i].Doc.SegmentName = seg.ID, seg.Name
		docs[i] = pts[i].Doc
	}
	if err := a.ix.IndexDocs(ctx, docs); err != nil {
		t.Fatal(err)
	}
	if err := a.ix.ReplaceSegments(ctx, m.Segments()); err != nil {
		t.Fatal(err)
	}
	srv := a.newAPI(&storeState{store: a.store})
	srv.notUsed = []string{"nats", "ollama"}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &apiFixture{a: a, srv: srv, http: hs, docs: docs}
}

// setKeyString applies one key=value as --set does.
func setKeyString(cfg *Config, kv string) error {
	for i := 0; i < len(kv); i++ {
		if kv[i] == '=' {
			if err := setKey(cfg, kv[:i], kv[i+1:], "."); err != nil {
				return err
			}
			return cfg.Validate()
		}
	}
	return nil
}
