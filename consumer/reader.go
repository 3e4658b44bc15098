package consumer

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/tokensync/tokensync/event"
)

// ensureGroup creates the group, and the stream with it, unless it exists.
func (c *Consumer) ensureGroup(ctx context.Context, stream string) error {
	err := c.rdb.XGroupCreateMkStream(ctx, stream, c.cfg.Group, c.cfg.StartID).Err()
	if err != nil && !redis.HasErrorPrefix(err, "BUSYGROUP") {
		return fmt.Errorf("create group %s on %s: %w", c.cfg.Group, stream, err)
	}
	return nil
}

// read runs until ctx ends, sending decoded batches of stream si to out.
// One reader per stream: in a cluster the shards live on different nodes, and
// one XREADGROUP may not span slots. It first reads this consumer's own pending entries (ID 0 onwards: what a
// previous run under the same name read but never acknowledged), then new ones.
func (c *Consumer) read(ctx context.Context, si int, out chan<- *batch) {
	stream := c.streams[si]
	log := c.log.With().Str("component", "reader").Str("shard", stream).Logger()
	// Reads are not cancelled midway: entries a read returns are already in
	// our pending list and must reach the window. ReadBlock bounds the wait.
	readCtx := context.WithoutCancel(ctx)
	cursor := "0" // own pending entries first; ">" once they are drained
	// lastSeen is the highest ID a read returned. A read whose reply was
	// lost (connection cut, Redis stopping) may still have delivered
	// entries: they sit in our pending list above lastSeen, and only
	// reading our own history from there finds them again.
	lastSeen := "0"
	bo := backoff{min: c.cfg.RetryMin, max: c.cfg.RetryMax}
	for ctx.Err() == nil {
		streams, err := c.rdb.XReadGroup(readCtx, &redis.XReadGroupArgs{
			Group:    c.cfg.Group,
			Consumer: c.cfg.Consumer,
			Streams:  []string{stream, cursor},
			Count:    c.cfg.ReadCount,
			Block:    c.cfg.ReadBlock,
		}).Result()
		switch {
		case errors.Is(err, redis.Nil):
			bo.reset()
			continue
		case redis.HasErrorPrefix(err, "NOGROUP"):
			// The group vanished: Redis restarted without persistence or
			// someone destroyed it. Recreating it replays from StartID; the
			// version guard makes the replay harmless.
			log.Warn().Msg("consumer group missing, recreating it")
			if err := c.ensureGroup(readCtx, stream); err != nil {
				log.Error().Err(err).Msg("recreate consumer group")
				bo.wait(ctx)
			}
			cursor = "0"
			continue
		case err != nil:
			c.redisFailed(err)
			c.stats.retries[retryRead].Add(1)
			log.Error().Err(err).Msg("XREADGROUP failed, retrying")
			if cursor == ">" {
				cursor = lastSeen
			}
			bo.wait(ctx)
			continue
		}
		c.redisOK()
		bo.reset()
		var msgs []redis.XMessage
		if len(streams) > 0 {
			msgs = streams[0].Messages
		}
		if cursor != ">" {
			if len(msgs) == 0 {
				cursor = ">"
				continue
			}
			cursor = msgs[len(msgs)-1].ID
			c.stats.replayed.Add(int64(len(msgs)))
		}
		if len(msgs) == 0 {
			continue
		}
		if last := msgs[len(msgs)-1].ID; idAfter(last, lastSeen) {
			lastSeen = last
		}
		var deliveries map[string]int64
		if cursor != ">" {
			if deliveries, err = c.ownDeliveries(readCtx, stream, msgs); err != nil {
				// Without counts the entries are applied as usual; the
				// limit applies at a later delivery.
				log.Warn().Err(err).Msg("delivery counts of replayed entries unavailable")
			}
		}
		// Blocks while the buffer is full: back-pressure. The loop keeps
		// taking batches until out is closed, also while shutting down.
		out <- c.decode(si, msgs, deliveries)
	}
}

// decode turns a reply into a batch. deliveries, when known, holds each
// entry's delivery count; entries delivered more than MaxDeliveries times
// are dead-lettered instead of applied.
func (c *Consumer) decode(si int, msgs []redis.XMessage, deliveries map[string]int64) *batch {
	b := &batch{stream: si, events: make([]event.Event, 0, len(msgs))}
	for _, m := range msgs {
		if len(m.Values) == 0 {
			// Deleted from the stream while pending: nothing left to apply.
			c.log.Warn().Str("id", m.ID).Msg("pending entry no longer in the stream, acknowledging it")
			b.gone = append(b.gone, m.ID)
			continue
		}
		if n := deliveries[m.ID]; n > c.cfg.MaxDeliveries {
			reason := fmt.Sprintf("delivered %d times, more than the limit of %d", n, c.cfg.MaxDeliveries)
			c.log.Warn().Str("id", m.ID).Str("reason", reason).Msg("entry keeps failing, dead-lettering it")
			c.stats.readByType[typeIndex(typeOf(m.Values))].Add(1)
			b.dead = append(b.dead, deadEntry{kind: deadMaxDeliveries, id: m.ID, values: m.Values, reason: reason, deliveries: n})
			continue
		}
		ev, err := event.Decode(m.ID, m.Values)
		if err != nil {
			c.log.Warn().Str("id", m.ID).Str("reason", err.Error()).Msg("malformed entry, dead-lettering it")
			c.stats.readByType[typeIndex(typeOf(m.Values))].Add(1)
			b.dead = append(b.dead, deadEntry{kind: deadMalformed, id: m.ID, values: m.Values, reason: err.Error(), deliveries: deliveries[m.ID]})
			continue
		}
		c.stats.readByType[typeIndex(ev.Type)].Add(1)
		b.events = append(b.events, ev)
	}
	return b
}

// ownDeliveries returns the delivery counts of a replayed range of our own
// pending entries: a poison entry that kills its consumer comes back through
// this path after every restart, one delivery more each time.
func (c *Consumer) ownDeliveries(ctx context.Context, stream string, msgs []redis.XMessage) (map[string]int64, error) {
	pend, err := c.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{
		Stream: stream, Group: c.cfg.Group, Consumer: c.cfg.Consumer,
		Start: msgs[0].ID, End: msgs[len(msgs)-1].ID, Count: int64(len(msgs)),
	}).Result()
	if err != nil {
		return nil, err
	}
	m := make(map[string]int64, len(pend))
	for _, p := range pend {
		m[p.ID] = p.RetryCount
	}
	return m, nil
}

// idAfter reports whether entry ID a is greater than b; unparsable IDs are
// not (Redis only returns valid ones).
func idAfter(a, b string) bool {
	x, err1 := event.ParseID(a)
	y, err2 := event.ParseID(b)
	return err1 == nil && err2 == nil && x.Compare(y) > 0
}
