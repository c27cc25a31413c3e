package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/attune-cx/attune"
)

// do sends a request and returns the status and body.
func (f *apiFixture) do(t *testing.T, method, path, token, body string) (int, http.Header, []byte) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.http.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// getJSON GETs path, wants 200 and decodes the body into v.
func (f *apiFixture) getJSON(t *testing.T, path string, v any) {
	t.Helper()
	code, _, b := f.do(t, "GET", path, "", "")
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, code, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, b)
	}
}

// wantError checks a JSON error reply.
func wantError(t *testing.T, what string, code int, b []byte, wantCode int, wantKind string) {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal(b, &e); err != nil {
		t.Errorf("%s: error body is not JSON: %s", what, b)
		return
	}
	if code != wantCode || e.Code != wantKind || e.Error == "" {
		t.Errorf("%s: got %d %+v, want %d %s with a message", what, code, e, wantCode, wantKind)
	}
}

func TestAPIAuth(t *testing.T) {
	f := newAPIFixture(t, 250)
	seg := f.srv.stats
	st, err := seg.get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	id := st.profiles[0].ID
	rename := "/api/segments/" + id + "/name"

	// No token configured: reads open on loopback, writes refused.
	if code, _, b := f.do(t, "GET", "/api/search?q=flight", "", ""); code != 200 {
		t.Errorf("open read on loopback: %d %s", code, b)
	}
	code, _, b := f.do(t, "PUT", rename, "", `{"name":"x"}`)
	wantError(t, "write without a configured token", code, b, 403, "writes_disabled")
	code, _, b = f.do(t, "DELETE", "/api/customers/someone", "anything", "")
	wantError(t, "erase without a configured token", code, b, 403, "writes_disabled")

	// A token configured: writes need it.
	f.srv.cfg.Token = "s3cret-token"
	code, h, b := f.do(t, "PUT", rename, "", `{"name":"x"}`)
	wantError(t, "write without a token", code, b, 401, "unauthorized")
	if !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("401 without WWW-Authenticate: %v", h)
	}
	code, _, b = f.do(t, "PUT", rename, "s3cret-tokeN", `{"name":"x"}`)
	wantError(t, "write with a wrong token", code, b, 403, "forbidden")
	if code, _, b := f.do(t, "PUT", rename, "s3cret-token", `{"name":"renamed-by-test"}`); code != 200 {
		t.Errorf("write with the token: %d %s", code, b)
	}

	// Not on loopback: reads need the token too; health stays open.
	f.srv.openReads = false
	for _, p := range []string{"/api/search?q=flight", "/api/segments", "/metrics", "/api/customers/x"} {
		code, _, b := f.do(t, "GET", p, "", "")
		wantError(t, "read off loopback without a token: "+p, code, b, 401, "unauthorized")
	}
	if code, _, b := f.do(t, "GET", "/api/segments", "s3cret-token", ""); code != 200 {
		t.Errorf("read with the token: %d %s", code, b)
	}
	if code, _, _ := f.do(t, "GET", "/healthz", "", ""); code != 200 {
		t.Errorf("healthz needs no token, got %d", code)
	}

	// A listener off loopback without a token is a configuration error.
	if _, err := LoadConfig("", nil, []string{"http.listen=0.0.0.0:8080"}); err == nil || !strings.Contains(err.Error(), "http.token") {
		t.Errorf("non-loopback listen without a token: %v", err)
	}
	if _, err := LoadConfig("", nil, []string{"http.listen=0.0.0.0:8080", "http.token=abc"}); err != nil {
		t.Errorf("non-loopback listen with a token: %v", err)
	}
}

func TestAPIBadInput(t *testing.T) {
	f := newAPIFixture(t, 250)
	f.srv.cfg.Token = "tok"
	st, err := f.srv.stats.get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p0, p1 := st.profiles[0], st.profiles[1]
	long := url.QueryEscape(strings.Repeat("delay ", 100))
	for _, c := range []struct {
		method, path, body string
		code               int
		kind               string
	}{
		{"GET", "/api/search?qq=delay", "", 400, "bad_request"},
		{"GET", "/api/search?q=a&q=b", "", 400, "bad_request"},
		{"GET", "/api/search?limit=0", "", 400, "bad_request"},
		{"GET", "/api/search?limit=201", "", 400, "bad_request"},
		{"GET", "/api/search?limit=ten", "", 400, "bad_request"},
		{"GET", "/api/search?offset=-5", "", 400, "bad_request"},
		{"GET", "/api/search?q=" + long, "", 400, "bad_request"},
		{"GET", "/api/search?sentiment_min=low", "", 400, "bad_request"},
		{"GET", "/api/search?from=yesterday", "", 400, "bad_request"},
		{"GET", "/api/search?label=angry", "", 400, "invalid_query"},
		{"GET", "/api/search?sentiment_min=2", "", 400, "invalid_query"},
		{"GET", "/api/search?sort=loudest", "", 400, "invalid_query"},
		{"GET", "/api/search?facets=colour", "", 400, "invalid_query"},
		{"GET", "/api/search?offset=9990&limit=20", "", 400, "invalid_query"},
		{"GET", "/api/search?q=" + url.QueryEscape(`"lost bag`), "", 400, "invalid_query"},
		{"GET", "/api/segments/no-such-segment", "", 404, "not_found"},
		{"GET", "/api/segments/" + p0.ID + "/members?format=xml", "", 400, "bad_request"},
		{"GET", "/api/segments/" + p0.ID + "/members?format=json&limit=5000", "", 400, "bad_request"},
		{"GET", "/api/customers/nobody-at-all", "", 404, "not_found"},
		{"GET", "/api/nothing-here", "", 404, "not_found"},
		{"PUT", "/api/segments/" + p0.ID + "/name", `not json`, 400, "bad_request"},
		{"PUT", "/api/segments/" + p0.ID + "/name", `{"name":"x","colour":"red"}`, 400, "bad_request"},
		{"PUT", "/api/segments/" + p0.ID + "/name", `{"name":"   "}`, 400, "bad_request"},
		{"PUT", "/api/segments/" + p0.ID + "/name", `{"name":"` + strings.Repeat("x", 70000) + `"}`, 413, "too_large"},
		{"PUT", "/api/segments/" + p0.ID + "/name", `{"name":"` + p1.Name + `"}`, 409, "name_taken"},
		{"PUT", "/api/segments/seg-999/name", `{"name":"ghost"}`, 404, "not_found"},
	} {
		code, _, b := f.do(t, c.method, c.path, "tok", c.body)
		what := c.method + " " + c.path
		if len(what) > 90 {
			what = what[:90] + "…"
		}
		wantError(t, what, code, b, c.code, c.kind)
	}
}

func TestAPISearch(t *testing.T) {
	f := newAPIFixture(t, 300)
	var res searchResponse
	f.getJSON(t, "/api/search?q=delayed&facets=segment,aspect,sentiment&limit=50", &res)
	if res.Total == 0 || len(res.Hits) == 0 {
		t.Fatalf("no hits for delayed: %+v", res)
	}
	marked := 0
	for _, h := range res.Hits {
		if strings.Contains(h.Snippet, "<mark>") {
			marked++
		}
		if h.SegmentID == "" {
			t.Errorf("hit %s has no segment", h.ID)
		}
	}
	if marked == 0 {
		t.Errorf("no highlighted snippet among %d hits", len(res.Hits))
	}
	fs := res.Facets["segment"]
	if len(fs.Buckets) == 0 {
		t.Fatalf("no segment facet: %+v", res.Facets)
	}
	sum := 0
	for _, b := range fs.Buckets {
		sum += b.Count
	}
	if uint64(sum+fs.Other+fs.Missing) != res.Total {
		t.Errorf("segment facet counts %d+%d+%d, want total %d", sum, fs.Other, fs.Missing, res.Total)
	}

	// A facet bucket is a filter: every hit is in that segment.
	b := fs.Buckets[0]
	var narrowed searchResponse
	f.getJSON(t, "/api/search?q=delayed&limit=200&segment="+url.QueryEscape(b.Value), &narrowed)
	if narrowed.Total != uint64(b.Count) {
		t.Errorf("segment filter %s: %d hits, facet said %d", b.Value, narrowed.Total, b.Count)
	}
	for _, h := range narrowed.Hits {
		if h.SegmentID != b.Value {
			t.Errorf("hit %s in %s, filter was %s", h.ID, h.SegmentID, b.Value)
		}
	}

	// Sorting by sentiment, ascending, and paging.
	var p1, p2 searchResponse
	f.getJSON(t, "/api/search?sort=sentiment&order=asc&limit=20", &p1)
	f.getJSON(t, "/api/search?sort=sentiment&order=asc&limit=20&offset=20", &p2)
	all := append(p1.Hits, p2.Hits...)
	if len(all) != 40 || p1.Total != 300 {
		t.Fatalf("pages: %d hits of %d, want 40 of 300", len(all), p1.Total)
	}
	seen := map[string]bool{}
	for i, h := range all {
		if seen[h.ID] {
			t.Errorf("hit %s on both pages", h.ID)
		}
		seen[h.ID] = true
		if i > 0 && h.Sentiment < all[i-1].Sentiment {
			t.Errorf("hit %d sentiment %v after %v: not ascending", i, h.Sentiment, all[i-1].Sentiment)
		}
	}
}

func TestAPISegmentsAndExport(t *testing.T) {
	const n = 300
	f := newAPIFixture(t, n)
	var list segmentsResponse
	f.getJSON(t, "/api/segments", &list)
	m, err := f.a.store.LoadModel()
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Segments) != m.K() || list.Events != n {
		t.Fatalf("%d segments over %d events, want %d over %d", len(list.Segments), list.Events, m.K(), n)
	}
	customers := map[string]bool{}
	for _, d := range f.docs {
		customers[d.Event.CustomerID] = true
	}
	size, members, trended := 0, 0, 0
	for _, s := range list.Segments {
		size += s.Size
		members += s.Members
		for _, b := range s.Trend {
			trended += b.Events
		}
		if s.Name == "" || len(s.Explanation) == 0 || len(s.TopTerms) == 0 {
			t.Errorf("segment %s lacks a name, an explanation or terms: %+v", s.ID, s)
		}
	}
	if size != n || trended != n {
		t.Errorf("sizes add up to %d and trends to %d, want %d", size, trended, n)
	}
	// Each segment's dominant aspect, as the model has it.
	aspects := 0
	for _, s := range list.Segments {
		i := slices.IndexFunc(m.Clusters, func(c attune.Segment) bool { return c.ID == s.ID })
		if i < 0 || s.Aspect != m.Clusters[i].Aspect {
			t.Errorf("segment %s: aspect %q in the API, model has %+v", s.ID, s.Aspect, m.Clusters[max(i, 0)].Aspect)
		}
		if s.Aspect != "" {
			aspects++
		}
	}
	if aspects == 0 {
		t.Error("no segment of the 300 tweets has a dominant aspect in /api/segments")
	}
	if members != len(customers) {
		t.Errorf("members add up to %d, want the %d customers", members, len(customers))
	}

	// Detail by name, as by id.
	s0 := list.Segments[0]
	var byName segmentView
	f.getJSON(t, "/api/segments/"+url.PathEscape(s0.Name), &byName)
	if byName.ID != s0.ID || len(byName.Trend) != len(s0.Trend) || byName.Interval == "" {
		t.Errorf("detail by name: %+v, want %s with its trend", byName.ID, s0.ID)
	}

	// CSV export: streamed (no length known up front), one row per member.
	resp, err := http.Get(f.http.URL + "/api/segments/" + s0.ID + "/members?format=csv")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("csv export: %d %v", resp.StatusCode, resp.Header)
	}
	if resp.ContentLength != -1 {
		t.Errorf("csv export has Content-Length %d; want it streamed", resp.ContentLength)
	}
	rows, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != s0.Members+1 || rows[0][0] != "customer_id" {
		t.Fatalf("csv: %d rows (header %v), want %d members + header", len(rows), rows[0], s0.Members)
	}
	var ids []string
	for _, r := range rows[1:] {
		if r[1] != s0.ID {
			t.Errorf("csv row %v is not in %s", r, s0.ID)
		}
		if !customers[strings.TrimPrefix(r[0], "'")] {
			t.Errorf("csv row customer %q is not a customer", r[0])
		}
		ids = append(ids, r[0])
	}

	// JSONL export: the same customers.
	code, h, b := f.do(t, "GET", "/api/segments/"+s0.ID+"/members?format=jsonl", "", "")
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "application/x-ndjson") {
		t.Fatalf("jsonl export: %d %v", code, h)
	}
	var jids []string
	for line := range strings.Lines(string(b)) {
		var r memberRow
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("jsonl line %q: %v", line, err)
		}
		if r.SegmentID != s0.ID || r.InSegment < 1 || r.Events < r.InSegment {
			t.Errorf("jsonl row %+v", r)
		}
		jids = append(jids, csvSafe(r.Customer))
	}
	if !slices.Equal(ids, jids) {
		t.Errorf("csv and jsonl list different customers: %d vs %d", len(ids), len(jids))
	}
}

func TestAPIRenameReindexes(t *testing.T) {
	f := newAPIFixture(t, 250, "http.token=tok")
	var list segmentsResponse
	f.getJSON(t, "/api/segments", &list)
	s := list.Segments[1]
	code, _, b := f.do(t, "PUT", "/api/segments/"+s.ID+"/name", "tok", `{"name":"crew-kudos-test"}`)
	if code != 200 {
		t.Fatalf("rename: %d %s", code, b)
	}
	var got segmentView
	f.getJSON(t, "/api/segments/crew-kudos-test", &got)
	if got.ID != s.ID || !got.UserNamed {
		t.Errorf("renamed segment: %+v", got.Profile)
	}
	m, err := f.a.store.LoadModel()
	if err != nil {
		t.Fatal(err)
	}
	if seg := resolveSegment(m, "crew-kudos-test"); seg != s.ID {
		t.Errorf("stored model resolves the new name to %q, want %s", seg, s.ID)
	}
	// The index carries the new name on every event of the segment.
	var res searchResponse
	f.getJSON(t, "/api/search?limit=200&segment=crew-kudos-test", &res)
	var byID searchResponse
	f.getJSON(t, "/api/search?limit=200&segment="+s.ID, &byID)
	if res.Total == 0 || res.Total != byID.Total {
		t.Errorf("search by new name finds %d events, by id %d", res.Total, byID.Total)
	}
	for _, h := range byID.Hits {
		if h.SegmentName != "crew-kudos-test" {
			t.Errorf("event %s still named %q", h.ID, h.SegmentName)
		}
	}
	segs, err := f.a.ix.Segments(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(segs, func(x attune.Segment) bool { return x.ID == s.ID && x.Name == "crew-kudos-test" }) {
		t.Errorf("index segment documents not renamed: %+v", segs)
	}
}

func TestAPIHealthAndMetrics(t *testing.T) {
	f := newAPIFixture(t, 200)
	var h healthReport
	f.getJSON(t, "/healthz", &h)
	if h.Status != "ok" || h.Components["index"].Status != "ok" || h.Components["nats"].Status != "not_used" {
		t.Errorf("health: %+v", h)
	}
	f.getJSON(t, "/api/search?q=bag", new(searchResponse))
	code, _, b := f.do(t, "GET", "/metrics", "", "")
	if code != 200 {
		t.Fatalf("metrics: %d", code)
	}
	for _, want := range []string{
		"attune_index_events 200",
		`attune_http_requests_total{code="200",route="GET /api/search"} 1`,
		`attune_http_requests_total{code="200",route="GET /healthz"} 1`,
		"go_goroutines",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if m := parseMetrics(t, string(b)); m["attune_index_bytes"] <= 0 {
		t.Errorf("attune_index_bytes = %v, want the index size", m["attune_index_bytes"])
	}
	// A closed index is visible as degraded.
	if err := f.a.ix.Close(); err != nil {
		t.Fatal(err)
	}
	code, _, b = f.do(t, "GET", "/healthz", "", "")
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	if code != 503 || h.Status != "degraded" || h.Components["index"].Status != "down" || h.Components["index"].Error == "" {
		t.Errorf("health with the index closed: %d %+v", code, h)
	}
}

func TestOpenAPICoversEveryRoute(t *testing.T) {
	f := newAPIFixture(t, 60, "cluster.min_events=20")
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	f.getJSON(t, "/openapi.json", &doc)
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi version %q", doc.OpenAPI)
	}
	for _, r := range []struct{ method, path string }{
		{"get", "/api/search"}, {"get", "/api/segments"}, {"get", "/api/segments/{id}"},
		{"get", "/api/segments/{id}/members"}, {"put", "/api/segments/{id}/name"},
		{"get", "/api/customers/{id}"}, {"delete", "/api/customers/{id}"},
		{"get", "/healthz"}, {"get", "/metrics"}, {"get", "/openapi.json"}, {"get", "/"},
	} {
		if _, ok := doc.Paths[r.path][r.method]; !ok {
			t.Errorf("openapi lacks %s %s", r.method, r.path)
		}
	}
	// The document is valid OpenAPI 3 (schemas, refs, parameters).
	loader := openapi3.NewLoader()
	spec, err := loader.LoadFromData(openAPIDoc)
	if err != nil {
		t.Fatalf("load openapi: %v", err)
	}
	if err := spec.Validate(loader.Context); err != nil {
		t.Errorf("openapi document is invalid: %v", err)
	}
	// Every search parameter the server takes is documented.
	params := fmt.Sprint(doc.Paths["/api/search"]["get"])
	for _, p := range searchParams {
		if !strings.Contains(params, "name:"+p+" ") {
			t.Errorf("openapi search lacks parameter %s", p)
		}
	}
}

// TestServeStandalone: `attune serve` opens a data dir no process holds and
// serves what the worker left; while another process (here: another open of
// the same files) holds the stores, it refuses with an error that says so.
func TestServeStandalone(t *testing.T) {
	f := newAPIFixture(t, 120, "cluster.min_events=20")
	held := newApp(f.a.cfg, testLogger(t))
	defer held.Close()
	_, err := held.standaloneAPI()
	if err == nil || !strings.Contains(err.Error(), "held by another process") || !strings.Contains(err.Error(), "attune worker") {
		t.Fatalf("serve on a held data dir: %v", err)
	}

	f.http.Close()
	f.a.Close()
	a := newApp(f.a.cfg, testLogger(t))
	defer a.Close()
	srv, err := a.standaloneAPI()
	if err != nil {
		t.Fatal(err)
	}
	addr, stop, err := listenHTTP(a.cfg.HTTP, srv.Handler(), a.log)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	g := &apiFixture{a: a, srv: srv, http: &httptest.Server{URL: "http://" + addr}}
	var list segmentsResponse
	g.getJSON(t, "/api/segments", &list)
	if list.Events != 120 || len(list.Segments) == 0 {
		t.Errorf("standalone serve shows %d events in %d segments, want 120", list.Events, len(list.Segments))
	}
	var h healthReport
	g.getJSON(t, "/healthz", &h)
	if h.Components["nats"].Status != "not_used" || h.Components["ollama"].Status != "not_used" || h.Components["index"].Status != "ok" {
		t.Errorf("standalone health: %+v", h)
	}

	// No data dir at all: a clear error, not an empty store created.
	cfg := testConfig(t)
	if _, err := newApp(cfg, testLogger(t)).standaloneAPI(); err == nil || !strings.Contains(err.Error(), "no segment store") {
		t.Errorf("serve on an empty data dir: %v", err)
	}
}
