package nlp

import (
	"errors"
	"fmt"
)

// ErrInvalidOption is wrapped by the error [New] returns when an [Option] is
// given a value it cannot use.
var ErrInvalidOption = errors.New("nlp: invalid option")

// DefaultMaxBytes is the default for [WithMaxBytes]: 64 KiB, some ten
// thousand words, far beyond any review or ticket and beyond the context of
// common embedding models.
const DefaultMaxBytes = 64 << 10

// config holds the settings an [Option] can change.
type config struct {
	// maxBytes bounds how much of a text is analysed, in bytes; 0 means no
	// bound. Default DefaultMaxBytes.
	maxBytes int
	// model replaces the embedded English sentiment model; nil keeps it.
	model *Model
	// lexiconOnly scores with VADER alone, as before the learned models.
	lexiconOnly bool
	// aspects finds aspects; nil (the default) finds none.
	aspects *AspectSet
	// aspectModel detects aspects; nil (the default) detects none.
	aspectModel *AspectModel
}

// WithAspectModel adds the aspects a learned model detects to those the
// aspect set's phrases find, e.g. [RestaurantAspects]. A nil model is an
// error wrapping [ErrInvalidOption]. Default: none.
func WithAspectModel(m *AspectModel) Option {
	return func(c *config) error {
		if m == nil || len(m.Names) == 0 {
			return fmt.Errorf("%w: nil aspect model", ErrInvalidOption)
		}
		c.aspectModel = m
		return nil
	}
}

// WithAspects makes the Analyzer find the aspects of s in English text
// (see configs/aspects.yaml and [ParseAspects]). A nil set is an error
// wrapping [ErrInvalidOption]. Default: no aspects.
func WithAspects(s *AspectSet) Option {
	return func(c *config) error {
		if s == nil {
			return fmt.Errorf("%w: nil aspect set", ErrInvalidOption)
		}
		c.aspects = s
		return nil
	}
}

func defaultConfig() config {
	return config{maxBytes: DefaultMaxBytes}
}

// WithModel replaces the embedded English sentiment model, e.g. with one
// [Train] just fitted. A nil model is an error wrapping [ErrInvalidOption].
func WithModel(m *Model) Option {
	return func(c *config) error {
		if m == nil || m.W == nil {
			return fmt.Errorf("%w: nil model", ErrInvalidOption)
		}
		c.model = m
		return nil
	}
}

// WithLexiconOnly makes the Analyzer score sentiment with VADER's lexicon
// and rules alone, for every language, as the stage did before it learned
// from customer text. Default off.
func WithLexiconOnly() Option {
	return func(c *config) error {
		c.lexiconOnly = true
		return nil
	}
}

// Option changes a setting of the [Analyzer] that [New] builds.
type Option func(*config) error

// WithMaxBytes bounds the work one text can cost: [Analyzer.Analyze] looks at
// the first n bytes of a text only (cut at a character boundary), so a
// pathological event cannot stall a worker; the cut applies to the Clean
// text too. Analysis time is linear in the text, about 0.5 s per MB of
// tweets on one core. n = 0 removes the bound; n < 0 is an error wrapping
// [ErrInvalidOption]. Default [DefaultMaxBytes].
func WithMaxBytes(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("%w: max bytes %d is negative", ErrInvalidOption, n)
		}
		c.maxBytes = n
		return nil
	}
}
