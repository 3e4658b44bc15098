package consumer

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tokensync/tokensync/event"
)

// beat marks this consumer alive for ClaimIdle. Run refreshes it every
// ClaimIdle/3 from its own goroutine, so neither a long window nor a flush
// retrying through a PostgreSQL outage lets it lapse.
func (c *Consumer) beat(ctx context.Context) error {
	now := time.Now().UTC().Format(time.RFC3339Nano)
	_, err := c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, s := range c.streams { // a key per shard, in the shard's slot
			p.Set(ctx, event.HeartbeatKey(s, c.cfg.Group, c.cfg.Consumer), now, c.cfg.ClaimIdle)
		}
		return nil
	})
	return err
}

func (c *Consumer) heartbeat(ctx context.Context) {
	every(ctx, c.cfg.ClaimIdle/3, func() {
		if err := c.beat(ctx); err != nil && ctx.Err() == nil {
			c.redisFailed(err)
			c.log.Warn().Err(err).Msg("heartbeat failed; other replicas may take over our entries")
		}
	})
}

// stopBeating removes the heartbeat at a clean exit, so that what this run
// leaves pending (nothing, normally) is taken over without waiting ClaimIdle.
func (c *Consumer) stopBeating(ctx context.Context) {
	for _, s := range c.streams {
		c.rdb.Del(ctx, event.HeartbeatKey(s, c.cfg.Group, c.cfg.Consumer))
	}
}
