package consumer

import (
	"context"
	"fmt"
	"time"

	"github.com/tokensync/tokensync/event"

	"github.com/tokensync/tokensync/store"
)

// ackChunk caps the IDs of one XACK.
const ackChunk = 10_000

// FlushInfo describes one completed flush.
type FlushInfo struct {
	Events   int           // decoded events merged into the window
	Mints    int           // rows offered to PostgreSQL
	Written  int           // rows inserted or changed
	Stale    int           // rows skipped because the table held newer versions
	Rejected int           // rows PostgreSQL refused for their data; their entries were dead-lettered
	Dead     int           // entries dead-lettered (malformed, over MaxDeliveries, or in a rejected row)
	Acked    int           // entries acknowledged, dead letters included
	Waited   time.Duration // from the window's first entry to the start of the flush
	Took     time.Duration // from the start of the flush to the last XACK

	// Committed is when the PostgreSQL commit returned (zero when the
	// window held no row), and Applied the IDs of the entries whose effect
	// it committed; both only when Config.OnFlush is set.
	Committed time.Time
	Applied   []event.ID
}

// flush writes w, then dead-letters and acknowledges its entries. Each step
// is retried until it succeeds or ctx ends; on failure nothing after the
// failed step happens, so unacknowledged entries stay pending for replay.
func (c *Consumer) flush(ctx context.Context, w *window) (FlushInfo, bool) {
	start := time.Now()
	byType, events := w.byType()
	info := FlushInfo{Events: events, Mints: len(w.slots), Waited: start.Sub(w.opened)}
	log := c.log.With().Str("component", "flusher").Logger()
	bo := backoff{min: c.cfg.RetryMin, max: c.cfg.RetryMax}
	dead := w.dead
	if len(w.slots) > 0 {
		rows := w.rows()
		for {
			res, rejected, err := store.UpsertIsolating(ctx, c.pool, rows)
			if err == nil {
				c.pgOK()
				c.stats.transactions.Add(1)
				info.Written, info.Stale, info.Rejected = res.Written, res.Stale()-len(rejected), len(rejected)
				for _, r := range rejected {
					log.Error().Err(r.Err).Str("mint", r.Mint).Msg("PostgreSQL refused a row; dead-lettering its entries")
					for _, ref := range w.slots[r.Mint].ids {
						dead = append(dead, deadEntry{kind: deadRejected, stream: int(ref.stream), id: ref.id.String(), reason: r.Err.Error()})
					}
					delete(w.slots, r.Mint)
				}
				break
			}
			c.pgFailed(err)
			c.stats.retries[retryWrite].Add(1)
			log.Error().Err(err).Int("mints", len(rows)).Msg("write failed, retrying; entries stay pending")
			if !bo.wait(ctx) {
				return info, false
			}
		}
	}
	if c.cfg.OnFlush != nil && len(w.slots) > 0 {
		info.Committed = time.Now()
		for _, s := range w.slots {
			for _, r := range s.ids {
				info.Applied = append(info.Applied, r.id)
			}
		}
	}
	c.afterCommit(w)
	bo.reset()
	for i := 0; i < len(dead); {
		if err := c.deadLetter(ctx, &dead[i]); err != nil {
			c.redisFailed(err)
			c.stats.retries[retryDeadLetter].Add(1)
			log.Error().Err(err).Msg("dead-lettering failed, retrying")
			if !bo.wait(ctx) {
				return info, false
			}
			continue
		}
		c.stats.deadByKind[dead[i].kind].Add(1)
		i++
	}
	info.Dead = len(dead)
	ids := make([][]string, len(c.streams)) // per stream
	acked := 0
	add := func(r entryRef) {
		ids[r.stream] = append(ids[r.stream], r.id.String())
		acked++
	}
	for _, r := range w.gone {
		add(r)
	}
	for _, s := range w.slots {
		for _, r := range s.ids {
			add(r)
		}
	}
	for si, list := range ids {
		for rest := list; len(rest) > 0; {
			n := min(len(rest), ackChunk)
			if err := c.rdb.XAck(ctx, c.streams[si], c.cfg.Group, rest[:n]...).Err(); err != nil {
				c.redisFailed(err)
				c.stats.retries[retryAck].Add(1)
				// Committed but not acknowledged: a replay would be
				// harmless, but the entries would be written twice, so
				// keep trying.
				log.Error().Err(err).Int("ids", n).Msg("XACK failed, retrying")
				if !bo.wait(ctx) {
					return info, false
				}
				continue
			}
			rest = rest[n:]
		}
	}
	c.redisOK()
	info.Acked = acked + len(dead)
	info.Took = time.Since(start)
	for i, n := range byType {
		c.stats.appliedByType[i].Add(int64(n))
	}
	c.stats.flushSeconds.Observe(info.Took.Seconds())
	return info, true
}

// afterCommit is a seam for crash tests: the window is committed and not yet
// acknowledged.
func (c *Consumer) afterCommit(w *window) {
	if c.cfg.AfterCommit != nil && len(w.slots) > 0 {
		c.cfg.AfterCommit()
	}
}

// fetchValues fills in the original fields of dead entries that lack them.
func (c *Consumer) fetchValues(ctx context.Context, d *deadEntry) error {
	if d.values != nil {
		return nil
	}
	msgs, err := c.rdb.XRangeN(ctx, c.streams[d.stream], d.id, d.id, 1).Result()
	if err != nil {
		return fmt.Errorf("XRANGE %s: %w", d.id, err)
	}
	d.values = map[string]any{}
	if len(msgs) == 1 {
		d.values = msgs[0].Values
	}
	return nil
}
