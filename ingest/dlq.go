package ingest

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DeadLetter is one stored dead letter.
type DeadLetter struct {
	Seq     uint64      `json:"seq"`
	Subject string      `json:"subject"` // attune.dlq.<reason>
	Reason  string      `json:"reason"`
	Error   string      `json:"error"`
	Origin  string      `json:"origin"` // the subject the event was published on
	Payload []byte      `json:"payload"`
	Header  nats.Header `json:"header,omitempty"`
}

// ListDeadLetters returns up to limit dead letters from the stream, oldest
// first, optionally only those with the given reason.
func ListDeadLetters(ctx context.Context, js jetstream.JetStream, stream, reason string, limit int) ([]DeadLetter, error) {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return nil, fmt.Errorf("dead-letter stream %s: %w", stream, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("dead-letter stream %s: %w", stream, err)
	}
	var out []DeadLetter
	if info.State.Msgs == 0 {
		return nil, nil
	}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && (limit <= 0 || len(out) < limit); seq++ {
		m, err := s.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue // deleted by a replay
		}
		if err != nil {
			return out, fmt.Errorf("read dead letter %d: %w", seq, err)
		}
		dl := DeadLetter{
			Seq: seq, Subject: m.Subject, Payload: m.Data, Header: m.Header,
			Reason: m.Header.Get(HeaderReason), Error: m.Header.Get(HeaderError), Origin: m.Header.Get(HeaderSubject),
		}
		if dl.Reason == "" {
			dl.Reason = strings.TrimPrefix(m.Subject, DLQPrefix)
		}
		if reason != "" && dl.Reason != reason {
			continue
		}
		out = append(out, dl)
	}
	return out, nil
}

// Replay publishes a dead letter's payload and original headers again on its
// original subject, for when the cause is fixed (a raised size limit, a
// corrected producer), and then deletes it from the dead-letter stream. The
// replay carries a fresh message id so JetStream does not drop it as a
// duplicate of the first publish.
func Replay(ctx context.Context, js jetstream.JetStream, stream string, dl DeadLetter) error {
	if dl.Origin == "" || !strings.HasPrefix(dl.Origin, EventsPrefix) {
		return fmt.Errorf("dead letter %d has no original events subject", dl.Seq)
	}
	m := nats.NewMsg(dl.Origin)
	m.Data = dl.Payload
	for k, vs := range dl.Header {
		switch k {
		case HeaderReason, HeaderError, HeaderSubject, HeaderSeq, jetstream.MsgIDHeader:
			continue
		}
		for _, v := range vs {
			m.Header.Add(k, v)
		}
	}
	if _, err := js.PublishMsg(ctx, m, jetstream.WithMsgID(fmt.Sprintf("replay-%s-%d", stream, dl.Seq))); err != nil {
		return fmt.Errorf("replay dead letter %d: %w", dl.Seq, err)
	}
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return fmt.Errorf("dead-letter stream %s: %w", stream, err)
	}
	if err := s.DeleteMsg(ctx, dl.Seq); err != nil {
		return fmt.Errorf("delete replayed dead letter %d: %w", dl.Seq, err)
	}
	return nil
}
