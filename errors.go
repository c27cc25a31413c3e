package attune

import (
	"errors"
	"fmt"
)

// PermanentError marks a failure that retrying cannot fix: the event goes to
// the dead-letter subject attune.dlq.<Reason> instead of being redelivered.
// Any error that is not (or does not wrap) a PermanentError is retryable.
type PermanentError struct {
	Reason string
	Err    error
}

// Permanent wraps err as a PermanentError with the given reason.
func Permanent(reason string, err error) error {
	return &PermanentError{Reason: reason, Err: err}
}

func (e *PermanentError) Error() string { return fmt.Sprintf("%s: %v", e.Reason, e.Err) }
func (e *PermanentError) Unwrap() error { return e.Err }

// IsPermanent reports whether err is or wraps a PermanentError, and its reason.
func IsPermanent(err error) (string, bool) {
	var p *PermanentError
	if errors.As(err, &p) {
		return p.Reason, true
	}
	return "", false
}
