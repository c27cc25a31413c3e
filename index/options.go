package index

import (
	"errors"
	"fmt"
	"log/slog"
)

// ErrInvalidOption is wrapped by the error Open returns for an option it
// cannot apply.
var ErrInvalidOption = errors.New("invalid option")

// Option configures Open.
type Option func(*options) error

type options struct {
	logger *slog.Logger
}

func defaultOptions() options {
	return options{logger: slog.New(slog.DiscardHandler)}
}

// WithLogger sets the logger for index lifecycle events and for errors Bleve
// reports from its background persister and merger. Default: discard.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrInvalidOption)
		}
		o.logger = l
		return nil
	}
}
