package consumer

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/tokensync/tokensync/event"
)

// trimScript trims the stream below the oldest entry any group still needs
// and below the retention horizon, in one atomic step: no group can read or
// claim between the computation and the trim. Per group, "needed" starts at
// its oldest pending entry or, with none pending, at its last delivered entry
// (everything after it is unread). Redis 7.0 has no XTRIM … ACKED.
//
// IDs are compared as decimal strings, part by part: Lua numbers are doubles
// and would round a large sequence number.
//
// KEYS[1] stream; ARGV[1] retention in milliseconds. Returns the number of
// entries removed, or -1 when the stream has no group (nothing is known to be
// consumed, so nothing is trimmed).
var trimScript = redis.NewScript(`
local function num_less(a, b)
  if #a ~= #b then return #a < #b end
  return a < b
end
local function id_less(a, b)
  local ams, aseq = string.match(a, '^(%d+)-(%d+)$')
  local bms, bseq = string.match(b, '^(%d+)-(%d+)$')
  if ams ~= bms then return num_less(ams, bms) end
  return num_less(aseq, bseq)
end
local groups = redis.call('XINFO', 'GROUPS', KEYS[1])
if #groups == 0 then return -1 end
local t = redis.call('TIME')
local horizon = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - tonumber(ARGV[1])
if horizon < 0 then horizon = 0 end
local minid = string.format('%.0f', horizon) .. '-0'
for _, g in ipairs(groups) do
  local name, last
  for i = 1, #g, 2 do
    if g[i] == 'name' then name = g[i + 1] elseif g[i] == 'last-delivered-id' then last = g[i + 1] end
  end
  local p = redis.call('XPENDING', KEYS[1], name)
  local need = last
  if p[1] > 0 then need = p[2] end
  if id_less(need, minid) then minid = need end
end
return redis.call('XTRIM', KEYS[1], 'MINID', minid)`)

// forgetScript removes a consumer from the group only if it holds no pending
// entry and has no heartbeat, atomically: XGROUP DELCONSUMER would drop the
// pending entries of a consumer that came back in between.
// KEYS[1] stream, KEYS[2] its heartbeat key; ARGV[1] group, ARGV[2] consumer.
var forgetScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
if #redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2]) > 0 then return 0 end
redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
return 1`)

// janitor trims the stream and forgets dead consumers every TrimInterval,
// on one replica at a time.
func (c *Consumer) janitor(ctx context.Context) {
	every(ctx, c.cfg.TrimInterval, func() {
		if err := c.tidy(ctx); err != nil && ctx.Err() == nil {
			c.redisFailed(err)
			c.log.Warn().Err(err).Msg("janitor failed; will retry")
		}
	})
}

// tidy is one janitor pass over every shard.
func (c *Consumer) tidy(ctx context.Context) error {
	var errs []error
	for _, s := range c.streams {
		errs = append(errs, c.tidyStream(ctx, s))
	}
	return errors.Join(errs...)
}

// tidyStream trims one stream and forgets its dead consumers; it does
// nothing when another replica holds the stream's janitor lock.
func (c *Consumer) tidyStream(ctx context.Context, stream string) error {
	got, err := c.rdb.SetNX(ctx, event.JanitorLockKey(stream), c.cfg.Consumer, c.cfg.TrimInterval).Result()
	if err != nil {
		return fmt.Errorf("janitor lock: %w", err)
	}
	if !got {
		return nil
	}
	trimmed, err := c.trim(ctx, stream)
	if err != nil {
		return err
	}
	if trimmed > 0 {
		c.log.Info().Int64("entries", trimmed).Str("shard", stream).Msg("trimmed the stream")
	}
	consumers, err := c.rdb.XInfoConsumers(ctx, stream, c.cfg.Group).Result()
	if err != nil {
		return fmt.Errorf("XINFO CONSUMERS: %w", err)
	}
	for _, cons := range consumers {
		// Idle is a second guard: a consumer that interacted recently is not gone.
		if cons.Pending > 0 || cons.Name == c.cfg.Consumer || cons.Idle < c.cfg.ClaimIdle {
			continue
		}
		keys := []string{stream, event.HeartbeatKey(stream, c.cfg.Group, cons.Name)}
		n, err := forgetScript.Run(ctx, c.rdb, keys, c.cfg.Group, cons.Name).Int()
		if err != nil {
			return fmt.Errorf("forget consumer %s: %w", cons.Name, err)
		}
		if n == 1 {
			c.log.Info().Str("gone", cons.Name).Str("shard", stream).Msg("removed a consumer that is gone and holds no entries")
		}
	}
	return nil
}

// Trim removes, from every shard, entries older than Retain that no group
// still needs, and returns how many. Safe to call from anywhere at any time.
func (c *Consumer) Trim(ctx context.Context) (int64, error) {
	var total int64
	for _, s := range c.streams {
		n, err := c.trim(ctx, s)
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

func (c *Consumer) trim(ctx context.Context, stream string) (int64, error) {
	n, err := trimScript.Run(ctx, c.rdb, []string{stream}, c.cfg.Retain.Milliseconds()).Int64()
	if err != nil && !errors.Is(err, redis.Nil) {
		return 0, fmt.Errorf("trim %s: %w", stream, err)
	}
	c.stats.trimmed.Add(max(n, 0))
	return max(n, 0), nil
}
