package ingest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Subject prefixes and header names shared by publishers and consumers.
const (
	EventsPrefix    = "attune.events."
	DLQPrefix       = "attune.dlq."
	ControlPrefix   = "attune.control."
	SegmentsUpdated = "attune.segments.updated"

	HeaderReason  = "Attune-Reason"
	HeaderError   = "Attune-Error"
	HeaderSubject = "Attune-Subject"
	HeaderSeq     = "Attune-Stream-Seq"
)

// StreamConfig names the streams and the consumer and sets their limits.
type StreamConfig struct {
	Stream    string // events stream, default ATTUNE_EVENTS
	DLQStream string // dead-letter stream, default ATTUNE_DLQ
	Consumer  string // durable pull consumer, default attune-worker
	// Duplicates is the publish de-duplication window (Nats-Msg-Id), default 2m.
	Duplicates time.Duration
	// AckWait is how long a delivered event may stay unacknowledged before
	// JetStream redelivers it, default 30s. The worker marks what it holds in
	// progress every third of it, so in practice this bounds how long the
	// events a crashed worker held wait for another worker.
	AckWait time.Duration
	// MaxAckPending bounds the events in flight for the consumer, default 1024.
	MaxAckPending int
	// MaxDeliver bounds deliveries of an event that keeps failing with a
	// retryable error; -1 (default) never gives up, because a dependency being
	// away must not lose events.
	MaxDeliver int
}

func (c *StreamConfig) setDefaults() {
	if c.Stream == "" {
		c.Stream = "ATTUNE_EVENTS"
	}
	if c.DLQStream == "" {
		c.DLQStream = "ATTUNE_DLQ"
	}
	if c.Consumer == "" {
		c.Consumer = "attune-worker"
	}
	if c.Duplicates == 0 {
		c.Duplicates = 2 * time.Minute
	}
	if c.AckWait == 0 {
		c.AckWait = 30 * time.Second
	}
	if c.MaxAckPending == 0 {
		c.MaxAckPending = 1024
	}
	if c.MaxDeliver == 0 {
		c.MaxDeliver = -1
	}
}

// EnsureStreams creates or updates the events and dead-letter streams (file
// storage) and the durable pull consumer, and returns the consumer.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, cfg StreamConfig) (jetstream.Consumer, error) {
	cfg.setDefaults()
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        cfg.Stream,
		Description: "Attune customer text events",
		Subjects:    []string{EventsPrefix + ">"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Duplicates:  cfg.Duplicates,
	}); err != nil {
		return nil, fmt.Errorf("ensure stream %s: %w", cfg.Stream, err)
	}
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        cfg.DLQStream,
		Description: "Attune dead letters: events that can never be processed, with the reason",
		Subjects:    []string{DLQPrefix + ">"},
		Storage:     jetstream.FileStorage,
		Duplicates:  cfg.Duplicates,
	}); err != nil {
		return nil, fmt.Errorf("ensure stream %s: %w", cfg.DLQStream, err)
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, cfg.Stream, jetstream.ConsumerConfig{
		Durable:       cfg.Consumer,
		Description:   "Attune workers share this consumer; JetStream spreads the events",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       cfg.AckWait,
		MaxDeliver:    cfg.MaxDeliver,
		MaxAckPending: cfg.MaxAckPending,
		FilterSubject: EventsPrefix + ">",
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("ensure consumer %s: %w", cfg.Consumer, err)
	}
	return cons, nil
}

// Pending reports how many events the consumer has not yet finished: not yet
// delivered plus delivered but unacknowledged. Zero means the stream is
// drained.
func Pending(ctx context.Context, cons jetstream.Consumer) (uint64, error) {
	info, err := cons.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("consumer info: %w", err)
	}
	return info.NumPending + uint64(info.NumAckPending), nil
}

// ErrNoWorker is returned by control requests when no worker answers.
var ErrNoWorker = errors.New("no attune worker answered; start one with `attune worker`")
