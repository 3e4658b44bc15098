package consumer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/tokensync/tokensync/store"
)

// Consumer is one replica of the pipeline.
type Consumer struct {
	rdb   redis.UniversalClient
	pool  *pgxpool.Pool
	cfg   Config
	log   zerolog.Logger
	stats counters

	// onFlush, when set (by tests), sees every completed flush.
	onFlush func(FlushInfo)
}

// New validates cfg and returns a Consumer. It does not close rdb or pool;
// the caller does, after Run returned.
func New(rdb redis.UniversalClient, pool *pgxpool.Pool, cfg Config) (*Consumer, error) {
	if rdb == nil || pool == nil {
		return nil, errors.New("consumer: nil Redis client or PostgreSQL pool")
	}
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("consumer config: %w", err)
	}
	c := &Consumer{rdb: rdb, pool: pool, cfg: cfg}
	c.log = cfg.Logger.With().Str("stream", cfg.Stream).Str("group", cfg.Group).Str("consumer", cfg.Consumer).Logger()
	return c, nil
}

// Config returns the configuration in effect, defaults filled in.
func (c *Consumer) Config() Config { return c.cfg }

// Run applies migrations, creates the group if needed, and consumes until ctx
// is cancelled. It then stops reading, flushes and acknowledges what it holds
// within ShutdownTimeout, and returns nil. Entries it could not flush stay
// pending for the next run. Run returns only after all its goroutines ended.
func (c *Consumer) Run(ctx context.Context) error {
	bo := backoff{min: c.cfg.RetryMin, max: c.cfg.RetryMax}
	for {
		_, err := store.Migrate(ctx, c.pool)
		if err == nil {
			err = c.ensureGroup(ctx)
		}
		if err == nil {
			break
		}
		c.log.Error().Err(err).Msg("start-up failed, retrying")
		if !bo.wait(ctx) {
			return nil
		}
	}
	c.log.Info().Dur("flush_interval", c.cfg.FlushInterval).Int("max_batch_mints", c.cfg.MaxBatchMints).Msg("consuming")

	// Flushes outlive ctx so the final one can run; shutdown cancels them
	// when ShutdownTimeout has passed.
	flushCtx, cancelFlush := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelFlush()

	in := make(chan *batch, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.read(ctx, in)
	}()

	cur := newWindow()
	var (
		flushing  bool
		flushDone = make(chan struct{})
		stopping  bool
		timer     = time.NewTimer(time.Hour)
		shutdown  <-chan time.Time
		done      = ctx.Done()
	)
	defer timer.Stop()
	startFlush := func() {
		w := cur
		cur = newWindow()
		flushing = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			info, ok := c.flush(flushCtx, w)
			if ok {
				c.stats.record(info)
				c.log.Info().Int("events", info.Events).Int("mints", info.Mints).Int("written", info.Written).
					Int("stale", info.Stale).Int("dead", info.Dead).Dur("waited", info.Waited).Dur("took", info.Took).Msg("flushed")
				if c.onFlush != nil {
					c.onFlush(info)
				}
			} else {
				c.log.Warn().Int("entries", len(w.ack)+len(w.dead)).Msg("flush abandoned at shutdown; its entries stay pending for replay")
			}
			flushDone <- struct{}{}
		}()
	}
	for {
		// Take batches unless both windows are full (back-pressure); while
		// stopping, take everything until the reader closes the channel.
		recv := in
		if in == nil || (!stopping && flushing && cur.full(&c.cfg)) {
			recv = nil
		}
		var due <-chan time.Time
		if !flushing && !cur.empty() && !stopping {
			timer.Reset(time.Until(cur.deadline))
			due = timer.C
		}
		select {
		case b, ok := <-recv:
			if !ok {
				in = nil
				break
			}
			cur.add(b, &c.cfg, time.Now())
			c.stats.read.Add(int64(len(b.ack) + len(b.dead)))
			if !flushing && !stopping && cur.full(&c.cfg) {
				startFlush()
			}
		case <-due:
			startFlush()
		case <-flushDone:
			flushing = false
			if !stopping && !cur.empty() && (cur.full(&c.cfg) || !time.Now().Before(cur.deadline)) {
				startFlush()
			}
		case <-done:
			done = nil
			stopping = true
			shutdown = time.After(c.cfg.ShutdownTimeout)
			c.log.Info().Msg("stopping: no new reads, flushing what is buffered")
		case <-shutdown:
			c.log.Warn().Dur("timeout", c.cfg.ShutdownTimeout).Msg("shutdown deadline passed, abandoning the flush")
			cancelFlush()
			shutdown = nil
		}
		if stopping && in == nil && !flushing {
			if cur.empty() {
				break
			}
			startFlush()
		}
	}
	wg.Wait()
	c.log.Info().Msg("stopped")
	return nil
}

// Stats are cumulative counters of one Consumer.
type Stats struct {
	Read         int64 // entries received from Redis
	Replayed     int64 // of which own pending entries read again at start
	Applied      int64 // decoded events in committed flushes
	Flushes      int64 // completed non-empty flushes
	Transactions int64 // PostgreSQL transactions committed
	Written      int64 // rows inserted or changed
	Stale        int64 // rows skipped as stale
	Dead         int64 // entries dead-lettered
	Acked        int64 // entries acknowledged
	ReadErrors   int64
	PgErrors     int64
	RedisErrors  int64
}

type counters struct {
	read, replayed, applied, flushes, transactions, written, stale, dead, acked atomic.Int64
	readErrors, pgErrors, redisErrors                                           atomic.Int64
}

func (s *counters) record(f FlushInfo) {
	s.applied.Add(int64(f.Events))
	s.flushes.Add(1)
	s.written.Add(int64(f.Written))
	s.stale.Add(int64(f.Stale))
	s.dead.Add(int64(f.Dead))
	s.acked.Add(int64(f.Acked))
}

// Stats returns a snapshot of the counters.
func (c *Consumer) Stats() Stats {
	s := &c.stats
	return Stats{
		Read: s.read.Load(), Replayed: s.replayed.Load(), Applied: s.applied.Load(), Flushes: s.flushes.Load(),
		Transactions: s.transactions.Load(), Written: s.written.Load(), Stale: s.stale.Load(), Dead: s.dead.Load(),
		Acked: s.acked.Load(), ReadErrors: s.readErrors.Load(), PgErrors: s.pgErrors.Load(), RedisErrors: s.redisErrors.Load(),
	}
}
