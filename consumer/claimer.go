package consumer

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/tokensync/tokensync/event"
)

// claimBatch caps the entries claimed per XCLAIM.
const claimBatch = 1000

// claim runs every ClaimInterval until ctx ends, taking over the pending
// entries of consumers whose heartbeat has expired, and sends them to out.
func (c *Consumer) claim(ctx context.Context, out chan<- *batch) {
	every(ctx, c.cfg.ClaimInterval, func() {
		for si := range c.streams {
			n, err := c.claimOnce(ctx, si, out)
			if err != nil && ctx.Err() == nil {
				c.redisFailed(err)
				c.log.Warn().Err(err).Str("shard", c.streams[si]).Msg("claiming dead consumers' entries failed; will retry")
			}
			if n > 0 {
				c.log.Info().Int("entries", n).Str("shard", c.streams[si]).Msg("took over entries of dead consumers")
			}
		}
		c.stats.claimRuns.Add(1)
	})
}

// claimOnce is one pass over the group's consumers.
//
// Why not XAUTOCLAIM: it claims by idle time alone, and the entries of a live
// consumer that holds a long window look idle too. The heartbeat key says
// who is alive; XPENDING … consumer lists a dead one's entries; XCLAIM with
// ClaimIdle as min-idle-time makes concurrent claimers take each entry once.
// XCLAIM drops entries deleted from the stream from the pending list (Redis
// 7.0), which acknowledges them away.
func (c *Consumer) claimOnce(ctx context.Context, si int, out chan<- *batch) (int, error) {
	stream := c.streams[si]
	consumers, err := c.rdb.XInfoConsumers(ctx, stream, c.cfg.Group).Result()
	if err != nil {
		return 0, fmt.Errorf("XINFO CONSUMERS: %w", err)
	}
	claimed := 0
	for _, cons := range consumers {
		if cons.Name == c.cfg.Consumer || cons.Pending == 0 {
			continue
		}
		alive, err := c.rdb.Exists(ctx, event.HeartbeatKey(stream, c.cfg.Group, cons.Name)).Result()
		if err != nil {
			return claimed, fmt.Errorf("heartbeat of %s: %w", cons.Name, err)
		}
		if alive > 0 {
			continue
		}
		for ctx.Err() == nil {
			pend, err := c.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{
				Stream: stream, Group: c.cfg.Group, Consumer: cons.Name,
				Idle: c.cfg.ClaimIdle, Start: "-", End: "+", Count: claimBatch,
			}).Result()
			if err != nil {
				return claimed, fmt.Errorf("XPENDING of %s: %w", cons.Name, err)
			}
			if len(pend) == 0 {
				break
			}
			ids := make([]string, len(pend))
			deliveries := make(map[string]int64, len(pend))
			for i, p := range pend {
				ids[i] = p.ID
				deliveries[p.ID] = p.RetryCount + 1 // XCLAIM counts a delivery
			}
			msgs, err := c.xclaim(ctx, stream, ids)
			if err != nil {
				return claimed, fmt.Errorf("XCLAIM from %s: %w", cons.Name, err)
			}
			c.stats.claimed.Add(int64(len(msgs)))
			claimed += len(msgs)
			c.log.Info().Str("shard", stream).Str("from", cons.Name).Int("entries", len(msgs)).Int("gone", len(ids)-len(msgs)).Msg("claimed entries of a dead consumer")
			if len(msgs) > 0 {
				out <- c.decode(si, msgs, deliveries)
			}
			if len(pend) < claimBatch {
				break
			}
		}
	}
	return claimed, nil
}

// xclaim claims ids for this consumer. When the reply is lost the claim may
// have happened: the entries would then be ours, unseen, and no longer the
// dead consumer's, so nobody would look at them again. It therefore retries
// the same claim, without the min-idle guard (which our own first attempt
// would now fail), until Redis answers or ctx ends. At worst an entry that
// another replica claimed in between is processed twice.
func (c *Consumer) xclaim(ctx context.Context, stream string, ids []string) ([]redis.XMessage, error) {
	bo := backoff{min: c.cfg.RetryMin, max: c.cfg.RetryMax}
	minIdle := c.cfg.ClaimIdle
	for {
		msgs, err := c.rdb.XClaim(ctx, &redis.XClaimArgs{
			Stream: stream, Group: c.cfg.Group, Consumer: c.cfg.Consumer, MinIdle: minIdle, Messages: ids,
		}).Result()
		if err == nil || errors.Is(err, redis.Nil) {
			return msgs, nil
		}
		c.redisFailed(err)
		c.log.Warn().Err(err).Str("shard", stream).Int("entries", len(ids)).Msg("XCLAIM failed, retrying the same claim")
		minIdle = 0
		if !bo.wait(ctx) {
			return nil, err
		}
	}
}
