package ingest

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Names of what several workers share when segment state is shared
// (cluster.shared): the segment model and the re-cluster lease in KV buckets,
// live workers in a third one, and every event's point (its analysed doc and
// vector) in a stream that each worker replays into its own store.
const (
	ModelBucket   = "ATTUNE_MODEL"   // key ModelKey: the current segment model
	LeaseBucket   = "ATTUNE_LEASE"   // key LeaseKey: the worker that re-clusters
	WorkersBucket = "ATTUNE_WORKERS" // key worker id: a heartbeat of each live worker
	ErasedBucket  = "ATTUNE_ERASED"  // key token(customer): an erasure every worker applies, stopped ones at start
	PointsStream  = "ATTUNE_POINTS"  // subject PointsPrefix+token(event id): one point per event
	ModelKey      = "model"
	LeaseKey      = "recluster"
	PointsPrefix  = "attune.points."
	// ShardSearch is the subject every worker answers with a search of its
	// own index shard (no queue group: all answer).
	ShardSearch = "attune.shard.search"
	// LeaderRecluster is served by the lease holder only: a worker asked to
	// re-cluster forwards the request there.
	LeaderRecluster = "attune.shard.recluster"
	// ShardErase asks every worker to erase a customer from its store and
	// shard (no queue group: all answer).
	ShardErase = "attune.shard.erase"
	// HeaderOrigin names the worker that published a point.
	HeaderOrigin = "Attune-Origin"
)

// PointSubject is the subject of an event's point. The id is base64url
// encoded, so any id (dots, spaces, wildcards) makes one valid token; with
// one message kept per subject, republishing a point replaces it.
func PointSubject(eventID string) string {
	return PointsPrefix + base64.RawURLEncoding.EncodeToString([]byte(eventID))
}

// Shared is the JetStream state workers share.
type Shared struct {
	Model   jetstream.KeyValue
	Lease   jetstream.KeyValue
	Workers jetstream.KeyValue
	Erased  jetstream.KeyValue
	Points  jetstream.Stream
}

// ErasedKey is the key of a customer's erasure in ErasedBucket (base64url,
// so any customer id makes a valid key).
func ErasedKey(customer string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(customer))
}

// EnsureShared creates or binds the shared buckets and the points stream. A
// lease or a worker heartbeat not renewed within ttl expires.
func EnsureShared(ctx context.Context, js jetstream.JetStream, ttl time.Duration) (*Shared, error) {
	if ttl <= 0 {
		return nil, errors.New("shared state: lease ttl must be > 0")
	}
	var s Shared
	var err error
	if s.Model, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: ModelBucket, Description: "Attune: the segment model every worker assigns with",
		History: 1, Storage: jetstream.FileStorage,
	}); err != nil {
		return nil, fmt.Errorf("ensure bucket %s: %w", ModelBucket, err)
	}
	if s.Lease, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: LeaseBucket, Description: "Attune: which worker re-clusters (a lease renewed within the TTL)",
		History: 1, TTL: ttl, Storage: jetstream.FileStorage,
	}); err != nil {
		return nil, fmt.Errorf("ensure bucket %s: %w", LeaseBucket, err)
	}
	if s.Workers, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: WorkersBucket, Description: "Attune: live workers and their progress",
		History: 1, TTL: ttl, Storage: jetstream.MemoryStorage,
	}); err != nil {
		return nil, fmt.Errorf("ensure bucket %s: %w", WorkersBucket, err)
	}
	if s.Erased, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: ErasedBucket, Description: "Attune: customer erasures, for workers that were stopped when they happened",
		History: 1, Storage: jetstream.FileStorage,
	}); err != nil {
		return nil, fmt.Errorf("ensure bucket %s: %w", ErasedBucket, err)
	}
	if s.Points, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:              PointsStream,
		Description:       "Attune: every stored event's analysed doc and vector, one per event id",
		Subjects:          []string{PointsPrefix + ">"},
		Storage:           jetstream.FileStorage,
		MaxMsgsPerSubject: 1,
	}); err != nil {
		return nil, fmt.Errorf("ensure stream %s: %w", PointsStream, err)
	}
	return &s, nil
}

// Lease is one holder's claim on a key of a TTL bucket: whoever creates the
// key holds it, and keeps it by updating it (revision-checked) before the
// bucket's TTL runs out. A holder that dies stops renewing; the key expires
// and another holder's Acquire creates it.
type Lease struct {
	kv     jetstream.KeyValue
	key    string
	holder string

	mu  sync.Mutex
	rev uint64 // revision of our value; 0 when not held
}

// NewLease returns holder's lease on key of kv (a bucket with a TTL).
func NewLease(kv jetstream.KeyValue, key, holder string) *Lease {
	return &Lease{kv: kv, key: key, holder: holder}
}

// Acquire takes the lease if it is free, or renews it if held, and reports
// whether it is held now. A renewal that finds another value (the lease
// expired and someone else took it) reports false.
func (l *Lease) Acquire(ctx context.Context) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rev != 0 {
		rev, err := l.kv.Update(ctx, l.key, []byte(l.holder), l.rev)
		if err == nil {
			l.rev = rev
			return true, nil
		}
		if !isWrongRevision(err) {
			return false, fmt.Errorf("renew lease %s: %w", l.key, err)
		}
		l.rev = 0
	}
	rev, err := l.kv.Create(ctx, l.key, []byte(l.holder))
	if err == nil {
		l.rev = rev
		return true, nil
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return false, fmt.Errorf("acquire lease %s: %w", l.key, err)
	}
	// Ours from before a restart (same holder id): take it back.
	e, err := l.kv.Get(ctx, l.key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return false, nil // expired just now; the next try creates it
	}
	if err != nil {
		return false, fmt.Errorf("read lease %s: %w", l.key, err)
	}
	if string(e.Value()) != l.holder {
		return false, nil
	}
	rev, err = l.kv.Update(ctx, l.key, []byte(l.holder), e.Revision())
	if err != nil {
		if isWrongRevision(err) {
			return false, nil
		}
		return false, fmt.Errorf("renew lease %s: %w", l.key, err)
	}
	l.rev = rev
	return true, nil
}

// Held reports whether the last Acquire took or renewed the lease. It may
// have expired since if the holder stopped renewing it.
func (l *Lease) Held() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rev != 0
}

// Release gives the lease up, if still ours, so another holder need not wait
// for it to expire.
func (l *Lease) Release(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rev == 0 {
		return nil
	}
	rev := l.rev
	l.rev = 0
	err := l.kv.Delete(ctx, l.key, jetstream.LastRevision(rev))
	if err != nil && !isWrongRevision(err) {
		return fmt.Errorf("release lease %s: %w", l.key, err)
	}
	return nil
}

// Holder returns who holds key now, "" if nobody.
func Holder(ctx context.Context, kv jetstream.KeyValue, key string) (string, error) {
	e, err := kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return string(e.Value()), nil
}

func isWrongRevision(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant) {
		return true
	}
	return errors.Is(err, jetstream.ErrKeyExists)
}
