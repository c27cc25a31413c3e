//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package embed

import (
	"context"
	"log/slog"
)

// lockFile is a no-op where flock(2) is missing: two processes building at
// once each build into their own temporary directory and the last rename
// wins, which wastes time but leaves a whole binary.
func lockFile(ctx context.Context, path string, logger *slog.Logger) (unlock func(), err error) {
	return func() {}, nil
}
