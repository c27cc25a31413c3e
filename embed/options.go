package embed

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// ErrInvalidOption is wrapped by the error NewClient returns for an option
// with an unusable value.
var ErrInvalidOption = errors.New("invalid option")

// Defaults for a Client's settings.
const (
	// DefaultBatchSize is the number of texts per /api/embed request. Ollama
	// embeds them one at a time either way; batching saves round trips.
	DefaultBatchSize = 64
	// DefaultTimeout bounds one request (one batch), including loading the
	// model on a cold server. A large third-party model on CPU can take
	// tens of seconds for a batch.
	DefaultTimeout = 2 * time.Minute
	// DefaultMaxAttempts and DefaultBackoff give retries of about 3.75 s in
	// all (0.25+0.5+1+2 s, less jitter): enough to ride out a server restart.
	DefaultMaxAttempts = 5
	DefaultBackoff     = 250 * time.Millisecond
	// DefaultThreads is the number of CPU threads the server computes an
	// embedding with. One is best for the project's own model, whose
	// encoder block is an identity: measured on 2 busy cores, 128 tweets
	// took 0.15 s with one thread and 13-34 s with the server's default of
	// one per core, as ggml's worker threads spin waiting for each other
	// when the CPU is shared. Raise it for a large third-party model on an
	// otherwise idle machine.
	DefaultThreads = 1
	// DefaultBatchChars bounds the characters of one request, so that a
	// batch of long texts does not hold the server (and the retry timeout)
	// as long as many batches of tweets.
	DefaultBatchChars = 32 << 10
	// DefaultMaxInFlight is the number of requests one Embed call keeps
	// open. Ollama computes one text at a time; a second request lets the
	// server parse and queue the next batch while the runner works on this
	// one, and the client decode the last answer meanwhile. Measured with
	// `attune bench embed --in-flight N`: 2 gave 1.04-1.05× a plain
	// sequential loop, 1 gave 0.89-1.01×, 3 no more than 2.
	DefaultMaxInFlight = 2
	// maxBackoff caps the wait between two attempts.
	maxBackoff = 30 * time.Second
)

// Option sets an optional Client setting.
type Option func(*Client) error

// WithBatchSize sets how many texts go into one request. Default 64.
func WithBatchSize(n int) Option {
	return func(c *Client) error {
		if n < 1 {
			return fmt.Errorf("%w: batch size %d, want at least 1", ErrInvalidOption, n)
		}
		c.batchSize = n
		return nil
	}
}

// WithTimeout bounds each request, each attempt of it separately. Default 2m.
func WithTimeout(d time.Duration) Option {
	return func(c *Client) error {
		if d <= 0 {
			return fmt.Errorf("%w: timeout %s, want more than 0", ErrInvalidOption, d)
		}
		c.timeout = d
		return nil
	}
}

// WithRetry sets how often a request that failed transiently (connection
// refused or reset, 5xx, 429, timeout) is tried in all, and the wait before
// the first retry, which doubles for each further one (with jitter, at most
// 30s). maxAttempts 1 disables retries. Default 5 attempts, 250ms.
func WithRetry(maxAttempts int, backoff time.Duration) Option {
	return func(c *Client) error {
		if maxAttempts < 1 {
			return fmt.Errorf("%w: %d attempts, want at least 1", ErrInvalidOption, maxAttempts)
		}
		if backoff < 0 {
			return fmt.Errorf("%w: backoff %s, want 0 or more", ErrInvalidOption, backoff)
		}
		c.maxAttempts, c.backoff = maxAttempts, backoff
		return nil
	}
}

// WithThreads sets how many CPU threads the server uses per embedding
// (Ollama's num_thread option). 0 leaves the choice to the server: one per
// physical core. Default 1 (see DefaultThreads). Clients of one model
// should agree on it: the server reloads the model when it changes.
func WithThreads(n int) Option {
	return func(c *Client) error {
		if n < 0 {
			return fmt.Errorf("%w: %d threads, want 0 or more", ErrInvalidOption, n)
		}
		c.threads = n
		return nil
	}
}

// WithLogger sets where retries are reported. Default: discard.
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrInvalidOption)
		}
		c.logger = l
		return nil
	}
}

// WithMissingModelHint sets the remedy that the ErrModelMissing error
// names, e.g. "run `attune model build`" for the project's own model.
// Default "run `ollama pull <model>`", right for a published model.
func WithMissingModelHint(hint string) Option {
	return func(c *Client) error {
		if hint == "" {
			return fmt.Errorf("%w: empty missing-model hint", ErrInvalidOption)
		}
		c.missingHint = hint
		return nil
	}
}

// WithBatchChars bounds the total characters of the texts in one request.
// A single longer text still goes alone. Default 32 KiB.
func WithBatchChars(n int) Option {
	return func(c *Client) error {
		if n < 1 {
			return fmt.Errorf("%w: batch characters %d, want at least 1", ErrInvalidOption, n)
		}
		c.batchChars = n
		return nil
	}
}

// WithMaxInFlight sets how many requests one Embed call keeps open at
// once. Default 2.
func WithMaxInFlight(n int) Option {
	return func(c *Client) error {
		if n < 1 {
			return fmt.Errorf("%w: %d requests in flight, want at least 1", ErrInvalidOption, n)
		}
		c.inFlight = n
		return nil
	}
}

// WithCache makes Embed look texts up in cache before sending them and
// store what it embeds. The caller opens and closes the cache. Default:
// no cache.
func WithCache(cache *Cache) Option {
	return func(c *Client) error {
		if cache == nil {
			return fmt.Errorf("%w: nil cache", ErrInvalidOption)
		}
		c.cache = cache
		return nil
	}
}

// WithChunker sets how a text is cut into inputs the model embeds whole.
// chunk must return at least one string for any text, and one text whole
// when it fits. Default: SplitSentences with DefaultMaxChunkChars, right
// for third-party models; the project's own model counts words instead
// (wordvec.Split).
func WithChunker(chunk func(string) []string) Option {
	return func(c *Client) error {
		if chunk == nil {
			return fmt.Errorf("%w: nil chunker", ErrInvalidOption)
		}
		c.chunk = chunk
		return nil
	}
}
