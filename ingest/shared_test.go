package ingest

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

func sharedEnv(t *testing.T, ttl time.Duration) *Shared {
	t.Helper()
	sh, _ := sharedEnvJS(t, ttl)
	return sh
}

func sharedEnvJS(t *testing.T, ttl time.Duration) (*Shared, jetstream.JetStream) {
	t.Helper()
	_, _, js := startJS(t)
	sh, err := EnsureShared(context.Background(), js, ttl)
	if err != nil {
		t.Fatal(err)
	}
	// Binding again (a second worker starting) must not fail.
	if _, err := EnsureShared(context.Background(), js, ttl); err != nil {
		t.Fatalf("second EnsureShared: %v", err)
	}
	return sh, js
}

// TestLeaseElectsOneHolderAndFailsOver: of two contenders exactly one holds
// the lease; it keeps it by renewing; when it stops renewing (a dead worker)
// the key expires and the other takes over; the old holder's renewal then
// fails instead of taking it back.
func TestLeaseElectsOneHolderAndFailsOver(t *testing.T) {
	ctx := context.Background()
	const ttl = 1500 * time.Millisecond
	sh := sharedEnv(t, ttl)
	a := NewLease(sh.Lease, LeaseKey, "worker-a")
	b := NewLease(sh.Lease, LeaseKey, "worker-b")
	okA, err := a.Acquire(ctx)
	if err != nil || !okA {
		t.Fatalf("a.Acquire on a free lease = %v, %v; want true", okA, err)
	}
	if okB, err := b.Acquire(ctx); err != nil || okB {
		t.Fatalf("b.Acquire on a's lease = %v, %v; want false", okB, err)
	}
	// a renews for longer than the TTL: b never gets it.
	for i := 0; i < 4; i++ {
		time.Sleep(ttl / 3)
		if ok, err := a.Acquire(ctx); err != nil || !ok {
			t.Fatalf("renewal %d by a = %v, %v", i, ok, err)
		}
		if ok, err := b.Acquire(ctx); err != nil || ok {
			t.Fatalf("b took a renewed lease: %v, %v", ok, err)
		}
	}
	if h, err := Holder(ctx, sh.Lease, LeaseKey); err != nil || h != "worker-a" {
		t.Fatalf("holder = %q, %v; want worker-a", h, err)
	}
	// a dies: no more renewals. b gets the lease once it expired.
	deadline := time.Now().Add(10 * ttl)
	for {
		ok, err := b.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the lease never expired for b")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if h, _ := Holder(ctx, sh.Lease, LeaseKey); h != "worker-b" {
		t.Fatalf("holder after failover = %q", h)
	}
	if ok, err := a.Acquire(ctx); err != nil || ok {
		t.Fatalf("the old holder's renewal = %v, %v; want false", ok, err)
	}
	// A restarted b (same holder id, no revision in memory) takes its own
	// lease back; releasing frees it at once for a.
	b2 := NewLease(sh.Lease, LeaseKey, "worker-b")
	if ok, err := b2.Acquire(ctx); err != nil || !ok {
		t.Fatalf("restarted holder = %v, %v; want true", ok, err)
	}
	if err := b2.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, err := a.Acquire(ctx); err != nil || !ok {
		t.Fatalf("a after release = %v, %v; want true", ok, err)
	}
}

func TestPointSubjectIsOneTokenPerID(t *testing.T) {
	ids := []string{"a.b", "x y", "*", ">", "t-570306133677760513", "ü~r1"}
	seen := map[string]bool{}
	for _, id := range ids {
		s := PointSubject(id)
		tok := s[len(PointsPrefix):]
		for _, c := range tok {
			if c == '.' || c == '*' || c == '>' || c == ' ' {
				t.Errorf("PointSubject(%q) = %q: token has %q", id, s, c)
			}
		}
		if seen[s] {
			t.Errorf("PointSubject(%q) = %q collides", id, s)
		}
		seen[s] = true
	}
}

// TestPointsKeepOnePerEvent: republishing an event's point (a retried
// batch) replaces it, so the stream holds one point per event, the latest.
func TestPointsKeepOnePerEvent(t *testing.T) {
	ctx := context.Background()
	sh, js := sharedEnvJS(t, time.Second)
	for i, body := range []string{"a1", "b1", "a2", "c1", "a3"} {
		id := body[:1] + ".event"
		if _, err := js.Publish(ctx, PointSubject(id), []byte(body)); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	info, err := sh.Points.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 3 {
		t.Errorf("%d points stored for 3 events", info.State.Msgs)
	}
	m, err := sh.Points.GetLastMsgForSubject(ctx, PointSubject("a.event"))
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Data) != "a3" {
		t.Errorf("point of a.event is %q, want the latest, a3", m.Data)
	}
}
