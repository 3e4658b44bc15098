package consumer

import (
	"context"
	"time"

	"github.com/tokensync/tokensync/store"
)

// ackChunk caps the IDs of one XACK.
const ackChunk = 10_000

// FlushInfo describes one completed flush.
type FlushInfo struct {
	Events  int           // entries applied (decoded events)
	Mints   int           // rows offered to PostgreSQL
	Written int           // rows inserted or changed
	Stale   int           // rows skipped because the table held newer versions
	Dead    int           // malformed entries dead-lettered
	Acked   int           // entries acknowledged, dead letters included
	Waited  time.Duration // from the window's first entry to the start of the flush
	Took    time.Duration // from the start of the flush to the last XACK
}

// flush writes w in one statement, then dead-letters and acknowledges its
// entries. It retries until it succeeds or ctx ends; on failure nothing after
// the failed step happens, so unacknowledged entries stay pending.
func (c *Consumer) flush(ctx context.Context, w *window) (FlushInfo, bool) {
	start := time.Now()
	info := FlushInfo{Events: w.events, Mints: len(w.rows), Dead: len(w.dead), Waited: start.Sub(w.opened)}
	log := c.log.With().Str("component", "flusher").Logger()
	bo := backoff{min: c.cfg.RetryMin, max: c.cfg.RetryMax}
	if len(w.rows) > 0 {
		rows := w.list()
		for {
			res, err := store.Upsert(ctx, c.pool, rows)
			if err == nil {
				c.stats.transactions.Add(1)
				info.Written, info.Stale = res.Written, res.Stale()
				break
			}
			c.stats.pgErrors.Add(1)
			log.Error().Err(err).Int("mints", len(rows)).Msg("write failed, retrying; entries stay pending")
			if !bo.wait(ctx) {
				return info, false
			}
		}
	}
	bo.reset()
	for _, d := range w.dead {
		for {
			err := c.deadLetter(ctx, d)
			if err == nil {
				break
			}
			c.stats.redisErrors.Add(1)
			log.Error().Err(err).Msg("dead-lettering failed, retrying")
			if !bo.wait(ctx) {
				return info, false
			}
		}
	}
	for ids := w.ack; len(ids) > 0; {
		n := min(len(ids), ackChunk)
		if err := c.rdb.XAck(ctx, c.cfg.Stream, c.cfg.Group, ids[:n]...).Err(); err != nil {
			c.stats.redisErrors.Add(1)
			// Committed but not acknowledged: a replay would be harmless, but
			// the entries would be written twice, so keep trying.
			log.Error().Err(err).Int("ids", n).Msg("XACK failed, retrying")
			if !bo.wait(ctx) {
				return info, false
			}
			continue
		}
		ids = ids[n:]
	}
	info.Acked = len(w.ack) + len(w.dead)
	info.Took = time.Since(start)
	return info, true
}
