package main

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/attune-cx/attune/cluster"
	"github.com/attune-cx/attune/index"
	"github.com/attune-cx/attune/web"
)

// apiServer is the HTTP API and the web UI over one data dir's stores. The
// worker serves it over its own open stores; `attune serve` over stores it
// opened itself (bbolt and Bleve admit one process).
type apiServer struct {
	cfg   HTTPConfig
	log   *slog.Logger
	store *cluster.Store
	ix    *index.Index
	state segmentState
	// forget drops the cached vectors of texts; nil when no cache is kept.
	forget func(ctx context.Context, texts []string) (int, error)
	// purge deletes the raw events of a customer from the NATS streams and
	// returns how many messages it deleted; nil when no stream is reachable.
	purge func(ctx context.Context, customer string, eventIDs []string) (int, error)
	// checks are the readiness checks /healthz runs, by component.
	checks map[string]func(context.Context) error
	// notUsed are components this process does not use (standalone serve).
	notUsed []string
	reg     *prometheus.Registry
	// openReads: reads need no token (the listener is on loopback).
	openReads bool
	stats     *statsCache
	// search, when set, replaces ix.Search (a worker with shared state
	// searches every worker's shard).
	searchFn func(context.Context, index.Query) (*index.Result, error)
	// eraseShared, when set, erases a customer from the other workers'
	// stores and shards too and returns their index documents deleted.
	eraseShared func(ctx context.Context, customer string, eventIDs []string) (docs, workers int, err error)
}

// errorBody is every error response: a message meant for a person, and a
// stable code for programs.
type errorBody struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

// apiError is an error with its HTTP status.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &apiError{http.StatusBadRequest, "bad_request", fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) error {
	return &apiError{http.StatusNotFound, "not_found", fmt.Sprintf(format, args...)}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// fail writes err as a JSON error: its own status for an apiError, 400 for a
// query the index rejects, 404 for an unknown segment, 409 for a taken name,
// 503 when the stores are closing, 500 otherwise (logged, with no detail to
// the client).
func (s *apiServer) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
	case errors.Is(err, index.ErrInvalidQuery):
		ae = &apiError{http.StatusBadRequest, "invalid_query", err.Error()}
	case errors.Is(err, cluster.ErrUnknownSegment):
		ae = &apiError{http.StatusNotFound, "not_found", "unknown segment"}
	case errors.Is(err, cluster.ErrNameTaken):
		ae = &apiError{http.StatusConflict, "name_taken", err.Error()}
	case errors.Is(err, cluster.ErrInvalidConfig):
		ae = &apiError{http.StatusBadRequest, "bad_request", err.Error()}
	case errors.Is(err, index.ErrClosed):
		ae = &apiError{http.StatusServiceUnavailable, "unavailable", "the index is closing"}
	case errors.Is(err, context.DeadlineExceeded):
		ae = &apiError{http.StatusServiceUnavailable, "timeout", "the request took longer than http.request_timeout"}
	default:
		s.log.Error("http request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		ae = &apiError{http.StatusInternalServerError, "internal", "internal error; see the server log"}
	}
	writeJSON(w, ae.status, errorBody{Error: ae.msg, Code: ae.code})
}

// access says who may call a route.
type access int

const (
	public access = iota // anyone: health, static assets
	read                 // open on loopback, else the token
	write                // always the token
)

// authorize checks the bearer token for the access a route needs.
func (s *apiServer) authorize(r *http.Request, need access) error {
	if need == public || (need == read && s.openReads) {
		return nil
	}
	if s.cfg.Token == "" {
		// Only writes get here: Validate refuses a non-loopback listener
		// without a token.
		return &apiError{http.StatusForbidden, "writes_disabled", "writes are disabled: no http.token is configured"}
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || got == "" {
		return &apiError{http.StatusUnauthorized, "unauthorized", "missing bearer token: send Authorization: Bearer <http.token>"}
	}
	if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(s.cfg.Token)) != 1 {
		return &apiError{http.StatusForbidden, "forbidden", "wrong bearer token"}
	}
	return nil
}

// handlerFunc is a route's handler; an error it returns is written by fail.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// Handler returns the whole HTTP surface.
func (s *apiServer) Handler() http.Handler {
	mux := http.NewServeMux()
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "attune_http_requests_total",
		Help: "HTTP requests served, by route and status code.",
	}, []string{"route", "code"})
	s.reg.MustRegister(requests)

	handle := func(pattern string, need access, timeout bool, h handlerFunc) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
			defer func() { requests.WithLabelValues(pattern, fmt.Sprint(sw.status)).Inc() }()
			if err := s.authorize(r, need); err != nil {
				if ae, ok := err.(*apiError); ok && ae.status == http.StatusUnauthorized {
					sw.Header().Set("WWW-Authenticate", `Bearer realm="attune"`)
				}
				s.fail(sw, r, err)
				return
			}
			if r.Body != nil {
				r.Body = http.MaxBytesReader(sw, r.Body, s.cfg.MaxBodyBytes)
			}
			if timeout {
				ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
				defer cancel()
				r = r.WithContext(ctx)
			}
			if err := h(sw, r); err != nil {
				if sw.wrote {
					// Headers are gone (a stream broke off): log only.
					s.log.Warn("http response cut short", "path", r.URL.Path, "err", err)
					return
				}
				s.fail(sw, r, err)
			}
		})
	}

	handle("GET /healthz", public, true, s.health)
	handle("GET /openapi.json", public, false, s.openAPI)
	mux.Handle("GET /metrics", s.metricsHandler(requests))
	handle("GET /api/search", read, true, s.search)
	handle("GET /api/segments", read, true, s.segments)
	handle("GET /api/segments/{id}", read, true, s.segment)
	handle("GET /api/segments/{id}/members", read, false, s.members)
	handle("PUT /api/segments/{id}/name", write, true, s.rename)
	handle("GET /api/customers/{id}", read, true, s.customer)
	handle("DELETE /api/customers/{id}", write, true, s.erase)
	handle("/api/", public, false, func(w http.ResponseWriter, r *http.Request) error {
		return notFound("no endpoint %s %s; see /openapi.json", r.Method, r.URL.Path)
	})
	mux.Handle("/", web.Handler())
	return securityHeaders(mux)
}

// metricsHandler guards /metrics like a read.
func (s *apiServer) metricsHandler(requests *prometheus.CounterVec) http.Handler {
	h := promHandler(s.reg)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		defer func() { requests.WithLabelValues("GET /metrics", fmt.Sprint(sw.status)).Inc() }()
		if err := s.authorize(r, read); err != nil {
			s.fail(sw, r, err)
			return
		}
		h.ServeHTTP(sw, r)
	})
}

// securityHeaders keeps the UI from being framed or sniffed, and its scripts
// to its own origin.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'")
		h.ServeHTTP(w, r)
	})
}

// statusWriter records the status and whether anything was written.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status = code
		w.wrote = true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Flush lets streamed exports reach the client as they are written.
func (w *statusWriter) Flush() {
	w.wrote = true
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// decodeBody reads a JSON request body into v, strictly.
func decodeBody(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return &apiError{http.StatusUnsupportedMediaType, "unsupported_media_type", "send the body as application/json"}
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &apiError{http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("request body over %d bytes", tooBig.Limit)}
		}
		if errors.Is(err, io.EOF) {
			return badRequest("empty request body; want a JSON object")
		}
		return badRequest("bad JSON body: %v", err)
	}
	if dec.More() {
		return badRequest("bad JSON body: more than one value")
	}
	return nil
}

// isLoopback reports whether addr (host:port) listens on loopback only.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkHTTPListen refuses a listener anyone on the network could read
// customer text from without a token.
func checkHTTPListen(c HTTPConfig) error {
	if c.Listen == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("http.listen %q: want host:port (e.g. 127.0.0.1:8080)", c.Listen)
	}
	if !isLoopback(c.Listen) && c.Token == "" {
		return fmt.Errorf("http.listen %s is not loopback: set http.token (ATTUNE_HTTP_TOKEN), or listen on 127.0.0.1", c.Listen)
	}
	return nil
}

// listenHTTP starts serving h on cfg.Listen and returns the bound address
// and a function that shuts the server down (waiting up to 5s for requests
// in flight).
func listenHTTP(cfg HTTPConfig, h http.Handler, log *slog.Logger) (string, func(), error) {
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return "", nil, fmt.Errorf("http listen %s: %w", cfg.Listen, err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server stopped", "err", err)
		}
	}()
	addr := ln.Addr().String()
	log.Info("HTTP API and web UI listening", "url", "http://"+addr+"/")
	return addr, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			_ = srv.Close()
		}
		<-done
	}, nil
}
