package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/attune-cx/attune"
	"github.com/attune-cx/attune/cluster"
)

// Subjects of the segment feed. Membership changes go to
// attune.segments.<segment id>.enter and .exit, drift alerts to
// attune.alerts.segment. Both are published to JetStream (stream
// cluster.feed.stream), not core NATS: a publish is confirmed only once the
// server stored it, so a transition is never lost to a NATS hiccup or to a
// consumer that is away, and its Nats-Msg-Id drops a repeat after a retry.
const (
	segmentFeedPrefix = "attune.segments."
	alertSubject      = "attune.alerts.segment"
)

// membershipSubject is attune.segments.<id>.<kind>, with characters NATS
// treats specially in the id replaced by '_'.
func membershipSubject(segmentID, kind string) string {
	id := strings.Map(func(r rune) rune {
		switch r {
		case '.', '*', '>', ' ', '\t', '\r', '\n':
			return '_'
		}
		return r
	}, segmentID)
	return segmentFeedPrefix + id + "." + kind
}

// ensureFeedStream creates or updates the stream that keeps the segment feed
// and the alerts. dup is its de-duplication window.
func ensureFeedStream(ctx context.Context, js jetstream.JetStream, cfg FeedConfig, dup time.Duration) error {
	if cfg.MaxAge > 0 && dup > cfg.MaxAge {
		dup = cfg.MaxAge
	}
	_, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        cfg.Stream,
		Description: "Attune segment membership changes (enter/exit) and segment drift alerts",
		Subjects:    []string{segmentFeedPrefix + "*." + cluster.Enter, segmentFeedPrefix + "*." + cluster.Exit, "attune.alerts.>"},
		Storage:     jetstream.FileStorage,
		MaxAge:      cfg.MaxAge,
		Duplicates:  dup,
	})
	if err != nil {
		return fmt.Errorf("ensure stream %s: %w", cfg.Stream, err)
	}
	return nil
}

// feedMsg is one message for publishFeed.
type feedMsg struct {
	subject string
	id      string // Nats-Msg-Id
	body    any    // marshalled as JSON
}

// feedWindow bounds the unconfirmed publishes in flight: a re-cluster can
// move tens of thousands of customers at once.
const feedWindow = 256

// publishFeed publishes msgs to JetStream and returns once the server has
// stored every one, or with the first error. On an error some messages may be
// stored already; publishing them all again is safe, their ids drop repeats
// within the stream's duplicate window.
func publishFeed(ctx context.Context, js jetstream.JetStream, msgs []feedMsg) error {
	pending := make([]jetstream.PubAckFuture, 0, feedWindow)
	wait := func() error {
		for _, f := range pending {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				return fmt.Errorf("publish %s: %w", f.Msg().Subject, err)
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		pending = pending[:0]
		return nil
	}
	for _, m := range msgs {
		b, err := json.Marshal(m.body)
		if err != nil {
			return fmt.Errorf("encode %s: %w", m.subject, err)
		}
		msg := nats.NewMsg(m.subject)
		msg.Data = b
		msg.Header.Set(jetstream.MsgIDHeader, m.id)
		f, err := js.PublishMsgAsync(msg)
		if err != nil {
			_ = wait()
			return fmt.Errorf("publish %s: %w", m.subject, err)
		}
		pending = append(pending, f)
		if len(pending) == feedWindow {
			if err := wait(); err != nil {
				return err
			}
		}
	}
	return wait()
}

// membershipMsgs turns transitions into feed messages.
func membershipMsgs(trs []cluster.Transition, name func(string) string, ts func(cluster.Transition) time.Time, reason string) []feedMsg {
	var out []feedMsg
	for _, t := range trs {
		for _, e := range cluster.MembershipEvents(t, name, ts(t), reason) {
			out = append(out, feedMsg{subject: membershipSubject(e.SegmentID, e.Kind), id: e.Key(), body: e})
		}
	}
	return out
}

// feedBatch publishes what a stored and indexed batch changed: the customers
// it moved to another segment (then records the moves) and the drift
// alerts its windows raised (then records them). It runs under p.mu.
func (p *pipeline) feedBatch(ctx context.Context, docs []attune.Doc, customers map[string]attune.Customer) error {
	if p.resync {
		if err := p.resyncAll(ctx); err != nil {
			return err
		}
	}
	// An event older than its customer's latest (a late or replayed one)
	// does not say where the customer is now.
	var current []attune.Doc
	for _, d := range docs {
		c, ok := customers[cluster.CustomerOf(d.Event)]
		if ok && !d.Event.TS.IsZero() && c.Last.After(d.Event.TS) {
			continue
		}
		current = append(current, d)
	}
	ms, err := p.store.CustomerMemberships(cluster.MembershipOf(current), p.model, p.ccfg)
	if err != nil {
		return err
	}
	trs, err := p.store.Diff(ms)
	if err != nil {
		return err
	}
	if len(trs) > 0 && p.js != nil {
		at := map[string]time.Time{}
		for _, d := range current {
			at[d.Event.ID] = d.Event.TS
		}
		now := time.Now()
		ts := func(t cluster.Transition) time.Time {
			if v := at[t.EventID]; !v.IsZero() {
				return v
			}
			return now
		}
		if err := publishFeed(ctx, p.js, membershipMsgs(trs, p.segmentName(nil), ts, cluster.ReasonEvent)); err != nil {
			return fmt.Errorf("segment feed: %w", err)
		}
	}
	if _, err := p.store.Move(ms); err != nil {
		return err
	}
	return p.alertDrift(ctx, docs)
}

// alertDrift counts docs in their drift windows and publishes, once per
// segment, window and kind, the alerts of the windows they fell in.
func (p *pipeline) alertDrift(ctx context.Context, docs []attune.Doc) error {
	type win struct {
		seg string
		at  time.Time
	}
	touched := map[win]bool{}
	var order []win
	for _, d := range docs {
		if !p.count(d) {
			continue
		}
		w := win{d.SegmentID, p.drift.Window(d.SegmentID, d.Event.TS).Start}
		if !touched[w] {
			touched[w] = true
			order = append(order, w)
		}
	}
	var alerts []cluster.Alert
	var keys []string
	now := time.Now()
	name := p.segmentName(nil)
	for _, w := range order {
		for _, a := range cluster.AlertsOf(w.seg, name(w.seg), p.drift.Window(w.seg, w.at), p.drift.Config(), now) {
			alerts = append(alerts, a)
			keys = append(keys, a.Key())
		}
	}
	if len(alerts) == 0 {
		return nil
	}
	done, err := p.store.Alerted(keys)
	if err != nil {
		return err
	}
	var msgs []feedMsg
	var fresh []string
	for _, a := range alerts {
		if done[a.Key()] {
			continue
		}
		msgs = append(msgs, feedMsg{subject: alertSubject, id: a.Key(), body: a})
		fresh = append(fresh, a.Key())
		p.log.Warn("segment drift alert", "segment", a.SegmentID, "name", a.SegmentName, "kind", a.Kind,
			"window", a.WindowStart.Format(time.RFC3339), "count", a.Count, "z", fmt.Sprintf("%.2f", a.Z))
	}
	if len(msgs) == 0 {
		return nil
	}
	if p.js != nil {
		if err := publishFeed(ctx, p.js, msgs); err != nil {
			return fmt.Errorf("segment alerts: %w", err)
		}
	}
	return p.store.MarkAlerted(fresh, now)
}

// syncMemberships publishes and records the moves of every customer after
// m replaced prev (nil when unknown: ids of m name themselves otherwise), and
// marks m's memberships synced. slim holds every stored event with its
// segment under m.
func (p *pipeline) syncMemberships(ctx context.Context, slim []attune.Doc, prev, m *cluster.Model) error {
	ms, err := p.store.CustomerMemberships(cluster.MembershipOf(slim), m, p.ccfg)
	if err != nil {
		return err
	}
	trs, err := p.store.Diff(ms)
	if err != nil {
		return err
	}
	if len(trs) > 0 && p.js != nil {
		ts := func(cluster.Transition) time.Time { return m.FittedAt }
		if err := publishFeed(ctx, p.js, membershipMsgs(trs, p.segmentName(prev), ts, cluster.ReasonRecluster)); err != nil {
			return fmt.Errorf("segment feed: %w", err)
		}
	}
	if _, err := p.store.Move(ms); err != nil {
		return err
	}
	if err := p.store.MarkSynced(m.FittedAt); err != nil {
		return err
	}
	p.resync = false
	p.log.Info("segment memberships published", "moves", len(trs))
	return nil
}

// resyncAll publishes the moves a re-cluster left unpublished.
func (p *pipeline) resyncAll(ctx context.Context) error {
	var slim []attune.Doc
	err := p.assignAll(ctx, p.model, func(d attune.Doc) error {
		slim = append(slim, slimDoc(d))
		return nil
	})
	if err != nil {
		return err
	}
	return p.syncMemberships(ctx, slim, nil, p.model)
}

// segmentName names segment ids by the current model, then by prev (for
// segments a re-cluster dissolved); an unknown id names itself.
func (p *pipeline) segmentName(prev *cluster.Model) func(string) string {
	names := map[string]string{}
	for _, mod := range []*cluster.Model{prev, p.model} {
		if mod == nil {
			continue
		}
		for _, s := range mod.Clusters {
			names[s.ID] = s.Name
		}
	}
	return func(id string) string {
		if n, ok := names[id]; ok {
			return n
		}
		return id
	}
}
