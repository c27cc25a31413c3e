package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
)

// controlReply is the envelope of every control reply.
type controlReply struct {
	Error  string          `json:"error,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
}

// ServeControl answers requests on attune.control.<verb> with fn's result as
// JSON. Requests are served one at a time per verb, in a queue group so that
// with several workers exactly one answers.
func ServeControl(nc *nats.Conn, verb string, timeout time.Duration, log *slog.Logger, fn func(ctx context.Context, req []byte) (any, error)) (*nats.Subscription, error) {
	return nc.QueueSubscribe(ControlPrefix+verb, "attune-control", func(m *nats.Msg) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		var rep controlReply
		res, err := fn(ctx, m.Data)
		if err == nil {
			rep.Result, err = json.Marshal(res)
		}
		if err != nil {
			rep.Error = err.Error()
			log.Warn("control request failed", "verb", verb, "err", err)
		}
		b, _ := json.Marshal(rep)
		if err := m.Respond(b); err != nil {
			log.Warn("control reply failed", "verb", verb, "err", err)
		}
	})
}

// Control sends a request to a running worker on attune.control.<verb> and
// decodes its result into out. It returns ErrNoWorker when nobody listens.
func Control(ctx context.Context, nc *nats.Conn, verb string, req, out any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("encode %s request: %w", verb, err)
	}
	m, err := nc.RequestWithContext(ctx, ControlPrefix+verb, body)
	if errors.Is(err, nats.ErrNoResponders) {
		return ErrNoWorker
	}
	if err != nil {
		return fmt.Errorf("%s request: %w", verb, err)
	}
	var rep controlReply
	if err := json.Unmarshal(m.Data, &rep); err != nil {
		return fmt.Errorf("decode %s reply: %w", verb, err)
	}
	if rep.Error != "" {
		return fmt.Errorf("%s: %s", verb, rep.Error)
	}
	if out == nil || len(rep.Result) == 0 {
		return nil
	}
	return json.Unmarshal(rep.Result, out)
}
