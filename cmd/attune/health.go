package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/attune-cx/attune/ingest"
)

// Health is what a running worker reports about itself and its
// dependencies: the `health` control request answers it, and the HTTP
// /healthz can serve it as is (503 unless OK).
type Health struct {
	// OK: connected to NATS, Ollama answers, and the worker is consuming
	// (not stopped, not waiting on a failed dependency).
	OK              bool   `json:"ok"`
	NATSConnected   bool   `json:"nats_connected"`
	OllamaReachable bool   `json:"ollama_reachable"`
	OllamaError     string `json:"ollama_error,omitempty"`
	// Worker: status (starting, running, waiting, stopped), last error,
	// since when it waits, counters.
	Worker ingest.State `json:"worker"`
}

// health probes Ollama (bounded by 2s) and reads the worker's state.
func (a *app) health(ctx context.Context, w *ingest.Worker) Health {
	h := Health{Worker: w.State()}
	h.NATSConnected = h.Worker.NATSConnected
	if a.emb != nil {
		if err := pingOllama(ctx, a.emb.Host()); err != nil {
			h.OllamaError = err.Error()
		} else {
			h.OllamaReachable = true
		}
	}
	h.OK = h.NATSConnected && h.OllamaReachable && h.Worker.Status == ingest.StatusRunning
	return h
}

func pingOllama(ctx context.Context, host string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	base := strings.TrimSuffix(host, "/")
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/version", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("ollama at %s: %w", host, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("ollama at %s: %s", host, resp.Status)
	}
	return nil
}
