package consumer

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/tokensync/tokensync/event"
	"github.com/tokensync/tokensync/store"
)

// ReplayConfig selects a range of the stream to apply again.
type ReplayConfig struct {
	Stream     string // DefaultStream when empty
	Shards     int    // as Config.Shards; 1 when 0
	From, To   string // entry IDs, inclusive; "-" and "+" are the ends; "-" and "+" when empty
	BatchMints int    // mints per statement; DefaultMaxBatchMints when 0
	Logger     zerolog.Logger
}

// ReplayStats describe a replay.
type ReplayStats struct {
	Entries, Events, Malformed int
	Statements                 int
	Written, Stale, Rejected   int
	Took                       time.Duration
}

// Replay applies a range of the stream again, outside any consumer group:
// nothing is read through the group and nothing is acknowledged. Because
// every group of columns keeps the highest entry ID it has seen, a replay
// only moves rows forward, for example after PostgreSQL was restored from a
// backup older than the stream's retained history. Malformed entries are
// counted and skipped; rows PostgreSQL refuses are logged and skipped.
func Replay(ctx context.Context, rdb redis.UniversalClient, pool *pgxpool.Pool, cfg ReplayConfig) (ReplayStats, error) {
	cfg.Stream = cmp.Or(cfg.Stream, DefaultStream)
	cfg.From, cfg.To = cmp.Or(cfg.From, "-"), cmp.Or(cfg.To, "+")
	cfg.BatchMints = cmp.Or(cfg.BatchMints, DefaultMaxBatchMints)
	var st ReplayStats
	start := time.Now()
	rows := make(map[string]*store.Row)
	write := func() error {
		if len(rows) == 0 {
			return nil
		}
		list := make([]store.Row, 0, len(rows))
		for _, r := range rows {
			list = append(list, *r)
		}
		res, rejected, err := store.UpsertIsolating(ctx, pool, list)
		if err != nil {
			return err
		}
		st.Statements++
		st.Written += res.Written
		st.Stale += res.Stale() - len(rejected)
		st.Rejected += len(rejected)
		for _, r := range rejected {
			cfg.Logger.Error().Err(r.Err).Str("mint", r.Mint).Msg("PostgreSQL refused a replayed row; skipped")
		}
		clear(rows)
		return nil
	}
	const page = 10_000
	// Shards are independent (a mint lives in one), so one after the other
	// is as good as interleaved.
	for _, stream := range event.ShardStreams(cfg.Stream, cfg.Shards) {
		if err := replayStream(ctx, rdb, stream, cfg.From, cfg.To, page, &st, rows, cfg.BatchMints, write); err != nil {
			return st, err
		}
	}
	err := write()
	st.Took = time.Since(start)
	return st, err
}

func replayStream(ctx context.Context, rdb redis.UniversalClient, stream, from, to string, page int64,
	st *ReplayStats, rows map[string]*store.Row, batchMints int, write func() error) error {
	for {
		msgs, err := rdb.XRangeN(ctx, stream, from, to, page).Result()
		if err != nil {
			return fmt.Errorf("XRANGE %s %s %s: %w", stream, from, to, err)
		}
		for _, m := range msgs {
			st.Entries++
			ev, err := event.Decode(m.ID, m.Values)
			if err != nil {
				st.Malformed++
				continue
			}
			st.Events++
			r := rows[ev.Mint]
			if r == nil {
				r = &store.Row{Mint: ev.Mint}
				rows[ev.Mint] = r
			}
			r.Apply(&ev)
			if len(rows) >= batchMints {
				if err := write(); err != nil {
					return err
				}
			}
		}
		if int64(len(msgs)) < page {
			return nil
		}
		from = "(" + msgs[len(msgs)-1].ID
	}
}

// SinceID is the first entry ID of the last d, by this machine's clock.
func SinceID(d time.Duration) string {
	return event.ID{Ms: uint64(time.Now().Add(-d).UnixMilli())}.String()
}
