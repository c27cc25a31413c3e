package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/attune-cx/attune/cluster"
	"github.com/attune-cx/attune/ingest"
	"github.com/attune-cx/attune/nlp"

	"github.com/attune-cx/attune/configs"
)

// Config is the whole configuration. configs/attune.yaml documents every
// field and is loaded first as the defaults.
type Config struct {
	DataDir  string        `yaml:"data_dir"`
	LogLevel string        `yaml:"log_level"`
	NATS     NATSConfig    `yaml:"nats"`
	Ollama   OllamaConfig  `yaml:"ollama"`
	Embed    EmbedConfig   `yaml:"embed"`
	NLP      NLPConfig     `yaml:"nlp"`
	Model    ModelConfig   `yaml:"model"`
	Cluster  ClusterConfig `yaml:"cluster"`
	HTTP     HTTPConfig    `yaml:"http"`
}

type NATSConfig struct {
	URL             string        `yaml:"url"`
	Listen          string        `yaml:"listen"`
	Stream          string        `yaml:"stream"`
	DLQStream       string        `yaml:"dlq_stream"`
	Consumer        string        `yaml:"consumer"`
	DuplicateWindow time.Duration `yaml:"duplicate_window"`
	MaxEventBytes   int           `yaml:"max_event_bytes"`
	FetchBatch      int           `yaml:"fetch_batch"`
	FetchWait       time.Duration `yaml:"fetch_wait"`
	AckWait         time.Duration `yaml:"ack_wait"`
	MaxAckPending   int           `yaml:"max_ack_pending"`
	RetryBase       time.Duration `yaml:"retry_base"`
	RetryMax        time.Duration `yaml:"retry_max"`
	Drain           time.Duration `yaml:"drain"`
	MaxDeliver      int           `yaml:"max_deliver"`
	MaxPayload      int           `yaml:"max_payload"`
	User            string        `yaml:"user"`
	Password        string        `yaml:"password"`
	NKeySeedFile    string        `yaml:"nkey_seed_file"`
	TLSCert         string        `yaml:"tls_cert"`
	TLSKey          string        `yaml:"tls_key"`
	TLSCA           string        `yaml:"tls_ca"`
}

// auth is the NATS authentication both the embedded server and every
// client use.
func (n NATSConfig) auth() ingest.Auth {
	return ingest.Auth{User: n.User, Password: n.Password, NKeySeedFile: n.NKeySeedFile, TLSCert: n.TLSCert, TLSKey: n.TLSKey, TLSCA: n.TLSCA}
}

type OllamaConfig struct {
	Host     string `yaml:"host"`
	Manage   bool   `yaml:"manage"`
	Binary   string `yaml:"binary"`
	CacheDir string `yaml:"cache_dir"`
	Version  string `yaml:"version"`
}

type EmbedConfig struct {
	Model        string        `yaml:"model"`
	BatchSize    int           `yaml:"batch_size"`
	Timeout      time.Duration `yaml:"timeout"`
	Threads      int           `yaml:"threads"`
	BatchChars   int           `yaml:"batch_chars"`
	MaxInFlight  int           `yaml:"max_in_flight"`
	Cache        bool          `yaml:"cache"`
	CacheEntries int           `yaml:"cache_entries"`
}

type NLPConfig struct {
	AspectsFile string   `yaml:"aspects_file"`
	Sentiment   string   `yaml:"sentiment"`
	Redact      []string `yaml:"redact"`
}

type ModelConfig struct {
	DatasetsDir string `yaml:"datasets_dir"`
	Dim         int    `yaml:"dim"`
	Seed        int64  `yaml:"seed"`
}

type ClusterConfig struct {
	K               int           `yaml:"k"`
	KMin            int           `yaml:"k_min"`
	KMax            int           `yaml:"k_max"`
	MaxShare        float64       `yaml:"max_share"`
	SampleSize      int           `yaml:"sample_size"`
	MaxIter         int           `yaml:"max_iter"`
	Seed            int64         `yaml:"seed"`
	ReclusterEvery  int           `yaml:"recluster_every"`
	MinEvents       int           `yaml:"min_events"`
	Weights         WeightsConfig `yaml:"weights"`
	TopTerms        int           `yaml:"top_terms"`
	Algorithm       string        `yaml:"algorithm"`
	Inits           int           `yaml:"inits"`
	BatchSize       int           `yaml:"batch_size"`
	PCADims         int           `yaml:"pca_dims"`
	MinClusterSize  int           `yaml:"min_cluster_size"`
	MinSamples      int           `yaml:"min_samples"`
	Attributes      []string      `yaml:"attributes"`
	MonetaryAttr    string        `yaml:"monetary_attr"`
	EngagementAttrs []string      `yaml:"engagement_attrs"`
	// Membership and CustomerHalfLife: see cluster.Config.
	Membership       string        `yaml:"membership"`
	CustomerHalfLife time.Duration `yaml:"customer_half_life"`
	Drift            DriftConfig   `yaml:"drift"`
	Feed             FeedConfig    `yaml:"feed"`
	// Shared: several workers on one NATS share one segment model (see
	// shared.go); SharedLease is the re-cluster lease's TTL.
	Shared      bool          `yaml:"shared"`
	SharedLease time.Duration `yaml:"shared_lease"`
}

// DriftConfig is cluster.drift: how segment volume and sentiment spikes are
// judged (see cluster.DriftConfig).
type DriftConfig struct {
	Window    time.Duration `yaml:"window"`
	Trailing  int           `yaml:"trailing"`
	Sigma     float64       `yaml:"sigma"`
	MinEvents int           `yaml:"min_events"`
}

// FeedConfig is cluster.feed: the JetStream stream that keeps segment
// membership changes and alerts.
type FeedConfig struct {
	Stream string        `yaml:"stream"`
	MaxAge time.Duration `yaml:"max_age"`
}

type HTTPConfig struct {
	Listen         string        `yaml:"listen"`
	Token          string        `yaml:"token"`
	MaxPageSize    int           `yaml:"max_page_size"`
	MaxQueryBytes  int           `yaml:"max_query_bytes"`
	MaxBodyBytes   int64         `yaml:"max_body_bytes"`
	RequestTimeout time.Duration `yaml:"request_timeout"`
}

type WeightsConfig struct {
	Embedding float64 `yaml:"embedding"`
	Sentiment float64 `yaml:"sentiment"`
	Behavior  float64 `yaml:"behavior"`
}

// ownModel is the name of the embedding model the project builds itself.
const ownModel = "attune-embed"

// LoadConfig reads the shipped defaults, then the file at path (if any), then
// ATTUNE_* environment variables, then the key=value overrides, and
// validates the result. Unknown keys are errors everywhere.
func LoadConfig(path string, env []string, sets []string) (*Config, error) {
	var cfg Config
	if err := decodeStrict(configs.Default, &cfg); err != nil {
		return nil, fmt.Errorf("shipped defaults: %w", err)
	}
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read config: %w", err)
		}
		if err := decodeStrict(b, &cfg); err != nil {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
	}
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(k, "ATTUNE_") {
			continue
		}
		key := strings.ToLower(strings.TrimPrefix(k, "ATTUNE_"))
		if err := setKey(&cfg, key, v, "_"); err != nil {
			return nil, fmt.Errorf("environment %s: %w", k, err)
		}
	}
	for _, kv := range sets {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("--set %q: want key=value", kv)
		}
		if err := setKey(&cfg, strings.TrimSpace(k), v, "."); err != nil {
			return nil, fmt.Errorf("--set %s: %w", k, err)
		}
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

func decodeStrict(b []byte, out any) error {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	// An empty document decodes to nothing: io.EOF is not an error here.
	if err := dec.Decode(out); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// Validate reports the first setting that cannot work.
func (c *Config) Validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(c.DataDir != "", "data_dir is empty")
	check(c.NATS.MaxEventBytes > 0, "nats.max_event_bytes must be > 0")
	check(c.NATS.FetchBatch > 0 && c.NATS.FetchBatch <= 10000, "nats.fetch_batch must be in 1..10000")
	check(c.NATS.MaxAckPending >= c.NATS.FetchBatch, "nats.max_ack_pending must be >= nats.fetch_batch")
	check(c.NATS.MaxDeliver == -1 || c.NATS.MaxDeliver >= 2, "nats.max_deliver must be -1 (never) or >= 2")
	check(c.NATS.MaxPayload >= c.NATS.MaxEventBytes && c.NATS.MaxPayload <= 64<<20, "nats.max_payload must be >= nats.max_event_bytes and <= 64 MiB")
	if err := c.NATS.auth().Validate(); err != nil {
		errs = append(errs, err)
	}
	check(c.Embed.Model != "", "embed.model is empty")
	check(c.Embed.BatchSize > 0, "embed.batch_size must be > 0")
	check(c.Embed.Threads >= 0, "embed.threads must be >= 0")
	check(c.Embed.BatchChars > 0, "embed.batch_chars must be > 0")
	check(c.Embed.MaxInFlight > 0, "embed.max_in_flight must be > 0")
	check(c.Embed.CacheEntries >= 0, "embed.cache_entries must be >= 0")
	check(c.NLP.Sentiment == "model" || c.NLP.Sentiment == "lexicon", "nlp.sentiment %q: want model or lexicon", c.NLP.Sentiment)
	for _, k := range c.NLP.Redact {
		check(slices.Contains(nlp.AllPII, nlp.PII(k)), "nlp.redact: unknown kind %q (want one of %v)", k, nlp.AllPII)
	}
	check(c.Model.Dim >= 8, "model.dim must be >= 8")
	check(c.Cluster.K >= 0, "cluster.k must be >= 0")
	check(c.Cluster.K > 0 || (c.Cluster.KMin >= 2 && c.Cluster.KMax >= c.Cluster.KMin), "cluster.k_min must be >= 2 and <= cluster.k_max")
	check(c.Cluster.MaxShare > 0 && c.Cluster.MaxShare <= 1, "cluster.max_share must be in (0, 1] (1: off)")
	check(c.Cluster.MinEvents >= 2, "cluster.min_events must be >= 2")
	check(c.Cluster.Drift.Window > 0 && c.Cluster.Drift.Trailing >= 3 && c.Cluster.Drift.Sigma > 0 && c.Cluster.Drift.MinEvents >= 1,
		"cluster.drift: window must be > 0, trailing >= 3, sigma > 0, min_events >= 1")
	check(!c.Cluster.Shared || c.Cluster.SharedLease >= time.Second, "cluster.shared_lease must be >= 1s")
	check(c.Cluster.Feed.Stream != "" && c.Cluster.Feed.MaxAge >= 0, "cluster.feed: stream must be set and max_age >= 0")
	check(c.Cluster.Membership == "" || c.Cluster.Membership == cluster.MembershipCustomer || c.Cluster.Membership == cluster.MembershipLatest,
		"cluster.membership %q: want customer or latest", c.Cluster.Membership)
	check(c.Cluster.CustomerHalfLife >= 0, "cluster.customer_half_life must be > 0")
	check(c.Cluster.Weights.Embedding >= 0 && c.Cluster.Weights.Sentiment >= 0 && c.Cluster.Weights.Behavior >= 0, "cluster.weights must be >= 0")
	check(c.HTTP.MaxPageSize > 0 && c.HTTP.MaxPageSize <= 1000, "http.max_page_size must be in 1..1000")
	check(c.HTTP.MaxQueryBytes > 0 && c.HTTP.MaxQueryBytes <= 1024, "http.max_query_bytes must be in 1..1024")
	check(c.HTTP.MaxBodyBytes > 0, "http.max_body_bytes must be > 0")
	check(c.HTTP.RequestTimeout > 0, "http.request_timeout must be > 0")
	if err := checkHTTPListen(c.HTTP); err != nil {
		errs = append(errs, err)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log_level %q: want debug, info, warn or error", c.LogLevel))
	}
	return errors.Join(errs...)
}

// secretMask replaces secrets in printed configuration and logs.
const secretMask = "[REDACTED]"

// Redacted returns a copy of c safe to print or log: passwords and the
// credentials in URLs are masked. Files named by path (nkey seeds, TLS keys)
// are not secrets themselves and stay.
func (c *Config) Redacted() *Config {
	r := *c
	if r.NATS.Password != "" {
		r.NATS.Password = secretMask
	}
	r.NATS.URL = redactURL(r.NATS.URL)
	r.Ollama.Host = redactURL(r.Ollama.Host)
	return &r
}

// redactURL masks the password (or a lone token) in the userinfo of every
// URL in a comma-separated list, as NATS accepts.
func redactURL(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	parts := strings.Split(s, ",")
	for i, p := range parts {
		scheme, rest, ok := strings.Cut(p, "://")
		if !ok {
			scheme, rest = "", p
		}
		at := strings.LastIndex(rest, "@")
		if at < 0 {
			continue
		}
		user, _, hasPass := strings.Cut(rest[:at], ":")
		masked := secretMask
		if hasPass {
			masked = user + ":" + secretMask
		}
		if scheme != "" {
			scheme += "://"
		}
		parts[i] = scheme + masked + rest[at:]
	}
	return strings.Join(parts, ",")
}

// Paths derived from data_dir and cache_dir.
func (c *Config) natsDir() string   { return filepath.Join(c.DataDir, "nats") }
func (c *Config) indexDir() string  { return filepath.Join(c.DataDir, "index") }
func (c *Config) storePath() string { return filepath.Join(c.DataDir, "segments.db") }
func (c *Config) cacheDir() string {
	if c.Ollama.CacheDir != "" {
		return c.Ollama.CacheDir
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".cache", "attune")
	}
	return filepath.Join(os.TempDir(), "attune-cache")
}

// setKey sets the field at a key path such as "nats.url" (sep ".") or
// "nats_url" (sep "_", environment form, where field names may themselves
// contain underscores).
func setKey(cfg *Config, key, value, sep string) error {
	v := reflect.ValueOf(cfg).Elem()
	rest := key
	for {
		t := v.Type()
		found := false
		for i := 0; i < t.NumField(); i++ {
			tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
			if rest != tag && !strings.HasPrefix(rest, tag+sep) {
				continue
			}
			f := v.Field(i)
			if rest == tag {
				return setValue(f, value)
			}
			if f.Kind() == reflect.Struct {
				v, rest, found = f, strings.TrimPrefix(rest, tag+sep), true
				break
			}
		}
		if !found {
			return fmt.Errorf("unknown setting %q", key)
		}
	}
}

func setValue(f reflect.Value, s string) error {
	s = strings.TrimSpace(s)
	switch {
	case f.Type() == reflect.TypeOf(time.Duration(0)):
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		f.SetInt(int64(d))
	case f.Kind() == reflect.String:
		f.SetString(s)
	case f.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return err
		}
		f.SetBool(b)
	case f.Kind() == reflect.Int || f.Kind() == reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return err
		}
		f.SetInt(n)
	case f.Kind() == reflect.Float64:
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return err
		}
		f.SetFloat(x)
	case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.String:
		var parts []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		f.Set(reflect.ValueOf(parts))
	default:
		return fmt.Errorf("cannot set a %s from text", f.Type())
	}
	return nil
}
