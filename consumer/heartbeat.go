package consumer

import (
	"context"
	"time"

	"github.com/tokensync/tokensync/event"
)

// beat marks this consumer alive for ClaimIdle. Run refreshes it every
// ClaimIdle/3 from its own goroutine, so neither a long window nor a flush
// retrying through a PostgreSQL outage lets it lapse.
func (c *Consumer) beat(ctx context.Context) error {
	key := event.HeartbeatKey(c.cfg.Stream, c.cfg.Group, c.cfg.Consumer)
	return c.rdb.Set(ctx, key, time.Now().UTC().Format(time.RFC3339Nano), c.cfg.ClaimIdle).Err()
}

func (c *Consumer) heartbeat(ctx context.Context) {
	t := time.NewTicker(c.cfg.ClaimIdle / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := c.beat(ctx); err != nil && ctx.Err() == nil {
				c.redisFailed(err)
				c.log.Warn().Err(err).Msg("heartbeat failed; other replicas may take over our entries")
			}
		}
	}
}

// stopBeating removes the heartbeat at a clean exit, so that what this run
// leaves pending (nothing, normally) is taken over without waiting ClaimIdle.
func (c *Consumer) stopBeating(ctx context.Context) {
	c.rdb.Del(ctx, event.HeartbeatKey(c.cfg.Stream, c.cfg.Group, c.cfg.Consumer))
}
