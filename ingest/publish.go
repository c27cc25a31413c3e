package ingest

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Record is one event payload ready to publish.
type Record struct {
	// ID is the event id, sent as Nats-Msg-Id so JetStream stores a
	// republished event once. Empty for payloads whose id could not be read;
	// those are published anyway and dead-lettered by the worker.
	ID string
	// Source selects the subject attune.events.<Source>.
	Source  string
	Payload []byte
}

// Subject is the NATS subject the record is published on.
func (r Record) Subject() string {
	src := r.Source
	if src == "" {
		src = "unknown"
	}
	return EventsPrefix + src
}

// PublishResult counts what a publish run did.
type PublishResult struct {
	Published  int // stored by JetStream as new messages
	Duplicates int // recognised by JetStream as already published (same id)
}

// Publish sends records to JetStream with at most inflight unacknowledged
// publishes, and returns once every record is acknowledged by the stream.
// progress, if not nil, is called once per acknowledged record.
func Publish(ctx context.Context, js jetstream.JetStream, records func(yield func(Record, error) bool), inflight int, progress func()) (PublishResult, error) {
	var res PublishResult
	if inflight <= 0 {
		inflight = 256
	}
	pending := make([]jetstream.PubAckFuture, 0, inflight)
	settle := func(fs []jetstream.PubAckFuture) error {
		for _, f := range fs {
			select {
			case ack := <-f.Ok():
				if ack.Duplicate {
					res.Duplicates++
				} else {
					res.Published++
				}
			case err := <-f.Err():
				return fmt.Errorf("publish to %s: %w", f.Msg().Subject, err)
			case <-ctx.Done():
				return ctx.Err()
			}
			if progress != nil {
				progress()
			}
		}
		return nil
	}
	var err error
	records(func(r Record, rerr error) bool {
		if rerr != nil {
			err = rerr
			return false
		}
		m := nats.NewMsg(r.Subject())
		m.Data = r.Payload
		var opts []jetstream.PublishOpt
		if r.ID != "" {
			opts = append(opts, jetstream.WithMsgID(r.ID))
		}
		f, perr := js.PublishMsgAsync(m, opts...)
		if perr != nil {
			err = fmt.Errorf("publish to %s: %w", m.Subject, perr)
			return false
		}
		pending = append(pending, f)
		if len(pending) >= inflight {
			if err = settle(pending); err != nil {
				return false
			}
			pending = pending[:0]
		}
		return ctx.Err() == nil
	})
	if err == nil {
		err = settle(pending)
	}
	if err == nil {
		err = ctx.Err()
	}
	return res, err
}
