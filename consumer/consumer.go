package consumer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/tokensync/tokensync/event"
	"github.com/tokensync/tokensync/store"
)

// Consumer is one replica of the pipeline.
type Consumer struct {
	rdb     redis.UniversalClient
	pool    *pgxpool.Pool
	cfg     Config
	streams []string // the shards of cfg.Stream
	log     zerolog.Logger
	stats   counters

	// Unix milliseconds since which PostgreSQL or Redis keeps failing; 0 when fine.
	pgDownSince, redisDownSince atomic.Int64
	running                     atomic.Bool
}

// New validates cfg and returns a Consumer. It does not close rdb or pool;
// the caller does, after Run returned.
//
// rdb should not retry failed commands itself (go-redis' MaxRetries: -1):
// a read retried after a lost reply delivers entries nobody sees. The
// consumer retries everything it does, and re-reads what a failed read may
// have delivered.
func New(rdb redis.UniversalClient, pool *pgxpool.Pool, cfg Config) (*Consumer, error) {
	if rdb == nil || pool == nil {
		return nil, errors.New("consumer: nil Redis client or PostgreSQL pool")
	}
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("consumer config: %w", err)
	}
	c := &Consumer{rdb: rdb, pool: pool, cfg: cfg, streams: event.ShardStreams(cfg.Stream, cfg.Shards)}
	c.stats.flushSeconds = newFlushHistogram()
	c.stats.deadByKind = map[string]*atomic.Int64{deadMalformed: {}, deadMaxDeliveries: {}, deadRejected: {}}
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
		if err != nil {
			c.pgFailed(err)
		} else {
			c.pgOK()
			for _, s := range c.streams {
				if err = c.ensureGroup(ctx, s); err != nil {
					break
				}
			}
			if err == nil {
				err = c.beat(ctx) // before reading: nobody may claim what we replay
			}
			if err != nil {
				c.redisFailed(err)
			}
		}
		if err == nil {
			c.redisOK()
			break
		}
		c.log.Error().Err(err).Msg("start-up failed, retrying")
		if !bo.wait(ctx) {
			return nil
		}
	}
	c.running.Store(true)
	defer c.running.Store(false)
	c.log.Info().Dur("flush_interval", c.cfg.FlushInterval).Int("max_batch_mints", c.cfg.MaxBatchMints).
		Dur("claim_idle", c.cfg.ClaimIdle).Int("shards", len(c.streams)).Msg("consuming")

	// Flushes outlive ctx so the final one can run; shutdown cancels them
	// when ShutdownTimeout has passed. The heartbeat lives as long as
	// flushes may: a consumer that is still flushing is alive.
	flushCtx, cancelFlush := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelFlush()

	var wg sync.WaitGroup
	goFn := func(f func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f()
		}()
	}
	goFn(func() { c.heartbeat(flushCtx) })
	if !c.cfg.DisableTrim {
		goFn(func() { c.janitor(ctx) })
	}
	// Readers (one per shard) and the claimer feed the loop; in closes
	// when all of them are done.
	in := make(chan *batch, 1)
	var senders sync.WaitGroup
	senders.Add(len(c.streams) + 1)
	for si := range c.streams {
		goFn(func() { defer senders.Done(); c.read(ctx, si, in) })
	}
	goFn(func() { defer senders.Done(); c.claim(ctx, in) })
	goFn(func() { senders.Wait(); close(in) })

	cur := newWindow()
	var (
		flushing      bool
		flushingMints int
		flushDone     = make(chan struct{})
		stopping      bool
		timer         = time.NewTimer(time.Hour)
		shutdown      <-chan time.Time
		done          = ctx.Done()
	)
	defer timer.Stop()
	// startFlush writes the whole open window, or only its urgent part when
	// that alone is due.
	startFlush := func(whole bool) {
		w := cur
		if whole {
			cur = newWindow()
		} else {
			w = cur.takeUrgent()
		}
		flushing, flushingMints = true, len(w.slots)
		goFn(func() {
			info, ok := c.flush(flushCtx, w)
			if ok {
				c.stats.record(info)
				c.log.Info().Int("events", info.Events).Int("mints", info.Mints).Int("written", info.Written).
					Int("stale", info.Stale).Int("dead", info.Dead).Dur("waited", info.Waited).Dur("took", info.Took).Msg("flushed")
				if c.cfg.OnFlush != nil {
					c.cfg.OnFlush(info)
				}
			} else {
				c.log.Warn().Int("entries", w.entries).Msg("flush abandoned at shutdown; its entries stay pending for replay")
			}
			flushDone <- struct{}{}
		})
	}
	// flushIfDue starts the flush the open window is due for, if any: all
	// of it when full or at its deadline, else its urgent part at urgentAt.
	flushIfDue := func() {
		now := time.Now()
		switch {
		case cur.full(&c.cfg) || !now.Before(cur.deadline):
			startFlush(true)
		case !cur.urgentAt.IsZero() && !now.Before(cur.urgentAt):
			startFlush(false)
		}
	}
	for {
		// Take batches unless the buffer is full while a flush runs
		// (back-pressure: the backlog waits in Redis). While stopping, take
		// everything until the senders are done.
		recv := in
		if in == nil || (!stopping && flushing && c.bufferFull(cur, flushingMints)) {
			recv = nil
		}
		var due <-chan time.Time
		if !flushing && !cur.empty() && !stopping {
			timer.Reset(time.Until(cur.due()))
			due = timer.C
		}
		c.stats.buffered.Store(int64(len(cur.slots) + flushingMints))
		select {
		case b, ok := <-recv:
			if !ok {
				in = nil
				break
			}
			cur.add(b, &c.cfg, time.Now())
			c.stats.read.Add(int64(b.entries()))
			if !flushing && !stopping && cur.full(&c.cfg) {
				startFlush(true)
			}
		case <-due:
			flushIfDue()
		case <-flushDone:
			flushing, flushingMints = false, 0
			if !stopping && !cur.empty() {
				flushIfDue()
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
			startFlush(true)
		}
	}
	if flushCtx.Err() == nil {
		c.stopBeating(flushCtx)
	}
	cancelFlush()
	wg.Wait()
	c.log.Info().Msg("stopped")
	return nil
}

// bufferFull: while a flush of flushingMints runs, the open window may keep
// merging until the two together hold MaxBufferedMints mints, or the window
// holds MaxBatchEvents entries (their IDs wait in memory for the XACK).
func (c *Consumer) bufferFull(cur *window, flushingMints int) bool {
	return flushingMints+len(cur.slots) >= c.cfg.MaxBufferedMints || cur.entries >= c.cfg.MaxBatchEvents
}

func (c *Consumer) pgFailed(error) {
	c.stats.pgErrors.Add(1)
	c.pgDownSince.CompareAndSwap(0, time.Now().UnixMilli())
}

func (c *Consumer) pgOK() { c.pgDownSince.Store(0) }

func (c *Consumer) redisFailed(error) {
	c.stats.redisErrors.Add(1)
	c.redisDownSince.CompareAndSwap(0, time.Now().UnixMilli())
}

func (c *Consumer) redisOK() { c.redisDownSince.Store(0) }

// Ready reports why the consumer cannot do its work now, or nil: Run is
// running, Redis and PostgreSQL answer a ping, the group exists, and neither
// is failing the consumer's own reads and writes (it is not backing off).
func (c *Consumer) Ready(ctx context.Context) error {
	if !c.running.Load() {
		return errors.New("not consuming (starting, or stopped)")
	}
	if since := c.pgDownSince.Load(); since != 0 {
		return fmt.Errorf("PostgreSQL writes failing for %v; retrying", time.Since(time.UnixMilli(since)).Round(time.Second))
	}
	if since := c.redisDownSince.Load(); since != 0 {
		return fmt.Errorf("Redis failing for %v; retrying", time.Since(time.UnixMilli(since)).Round(time.Second))
	}
	if err := c.pool.Ping(ctx); err != nil {
		return fmt.Errorf("PostgreSQL: %w", err)
	}
	for _, s := range c.streams {
		groups, err := c.rdb.XInfoGroups(ctx, s).Result()
		if err != nil {
			return fmt.Errorf("Redis: %w", err)
		}
		found := false
		for _, g := range groups {
			found = found || g.Name == c.cfg.Group
		}
		if !found {
			return fmt.Errorf("group %s of %s does not exist", c.cfg.Group, s)
		}
	}
	return nil
}

// Stats are cumulative counters of one Consumer.
type Stats struct {
	Read         int64 // entries received from Redis (reads and claims)
	Replayed     int64 // of which own pending entries read again at start
	Claimed      int64 // of which taken over from dead consumers
	ClaimRuns    int64 // claim passes done
	Applied      int64 // decoded events in committed flushes
	Flushes      int64 // completed flushes
	Transactions int64 // PostgreSQL transactions committed
	Written      int64 // rows inserted or changed
	Stale        int64 // rows skipped as stale
	Rejected     int64 // rows refused by PostgreSQL for their data
	Dead         int64 // entries dead-lettered
	Acked        int64 // entries acknowledged
	Trimmed      int64 // entries trimmed from the stream by this replica
	PgErrors     int64
	RedisErrors  int64
}

type counters struct {
	read, replayed, claimed, claimRuns, applied, flushes, transactions atomic.Int64
	written, stale, rejected, dead, acked, trimmed                     atomic.Int64
	pgErrors, redisErrors                                              atomic.Int64

	readByType, appliedByType [numTypes]atomic.Int64
	deadByKind                map[string]*atomic.Int64 // fixed keys, filled by New
	retries                   [numRetryOps]atomic.Int64
	buffered                  atomic.Int64 // mints in memory
	lastFlush                 atomic.Int64 // Unix milliseconds
	flushSeconds              prometheus.Histogram
}

func (s *counters) record(f FlushInfo) {
	s.lastFlush.Store(time.Now().UnixMilli())
	s.applied.Add(int64(f.Events))
	s.flushes.Add(1)
	s.written.Add(int64(f.Written))
	s.stale.Add(int64(f.Stale))
	s.rejected.Add(int64(f.Rejected))
	s.dead.Add(int64(f.Dead))
	s.acked.Add(int64(f.Acked))
}

// Stats returns a snapshot of the counters.
func (c *Consumer) Stats() Stats {
	s := &c.stats
	return Stats{
		Read: s.read.Load(), Replayed: s.replayed.Load(), Claimed: s.claimed.Load(), ClaimRuns: s.claimRuns.Load(),
		Applied: s.applied.Load(), Flushes: s.flushes.Load(), Transactions: s.transactions.Load(),
		Written: s.written.Load(), Stale: s.stale.Load(), Rejected: s.rejected.Load(), Dead: s.dead.Load(),
		Acked: s.acked.Load(), Trimmed: s.trimmed.Load(), PgErrors: s.pgErrors.Load(), RedisErrors: s.redisErrors.Load(),
	}
}
