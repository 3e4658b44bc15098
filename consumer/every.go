package consumer

import (
	"context"
	"time"
)

// every calls f every d until ctx ends; the heartbeat, the claimer and the
// janitor are such loops.
func every(ctx context.Context, d time.Duration, f func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f()
		}
	}
}
