package consumer

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/tokensync/tokensync/event"
)

// ensureGroup creates the group, and the stream with it, unless it exists.
func (c *Consumer) ensureGroup(ctx context.Context) error {
	err := c.rdb.XGroupCreateMkStream(ctx, c.cfg.Stream, c.cfg.Group, c.cfg.StartID).Err()
	if err != nil && !redis.HasErrorPrefix(err, "BUSYGROUP") {
		return fmt.Errorf("create group %s on %s: %w", c.cfg.Group, c.cfg.Stream, err)
	}
	return nil
}

// read runs until ctx ends, sending decoded batches to out, and closes out.
// It first reads this consumer's own pending entries (ID 0 onwards: what a
// previous run under the same name read but never acknowledged), then new ones.
func (c *Consumer) read(ctx context.Context, out chan<- *batch) {
	defer close(out)
	log := c.log.With().Str("component", "reader").Logger()
	// Reads are not cancelled midway: entries a read returns are already in
	// our pending list and must reach the window. ReadBlock bounds the wait.
	readCtx := context.WithoutCancel(ctx)
	cursor := "0" // own pending entries first; ">" once they are drained
	bo := backoff{min: c.cfg.RetryMin, max: c.cfg.RetryMax}
	for ctx.Err() == nil {
		streams, err := c.rdb.XReadGroup(readCtx, &redis.XReadGroupArgs{
			Group:    c.cfg.Group,
			Consumer: c.cfg.Consumer,
			Streams:  []string{c.cfg.Stream, cursor},
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
			log.Warn().Str("stream", c.cfg.Stream).Str("group", c.cfg.Group).Msg("consumer group missing, recreating it")
			if err := c.ensureGroup(readCtx); err != nil {
				log.Error().Err(err).Msg("recreate consumer group")
				bo.wait(ctx)
			}
			cursor = "0"
			continue
		case err != nil:
			c.stats.readErrors.Add(1)
			log.Error().Err(err).Msg("XREADGROUP failed, retrying")
			bo.wait(ctx)
			continue
		}
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
		// Blocks while both windows are full: back-pressure. The loop keeps
		// taking batches until out is closed, also while shutting down.
		out <- c.decode(msgs)
	}
}

func (c *Consumer) decode(msgs []redis.XMessage) *batch {
	b := &batch{events: make([]event.Event, 0, len(msgs)), ack: make([]string, 0, len(msgs))}
	for _, m := range msgs {
		if len(m.Values) == 0 {
			// Deleted from the stream while pending: nothing left to apply.
			c.log.Warn().Str("id", m.ID).Msg("pending entry no longer in the stream, acknowledging it")
			b.ack = append(b.ack, m.ID)
			continue
		}
		ev, err := event.Decode(m.ID, m.Values)
		if err != nil {
			c.log.Warn().Str("id", m.ID).Str("reason", err.Error()).Msg("malformed entry, dead-lettering it")
			b.dead = append(b.dead, deadEntry{id: m.ID, values: m.Values, reason: err.Error()})
			continue
		}
		b.events = append(b.events, ev)
		b.ack = append(b.ack, m.ID)
	}
	return b
}
