package bench

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/tokensync/tokensync/consumer"
	"github.com/tokensync/tokensync/event"
)

// replica is one in-process consumer with its own Redis client and
// PostgreSQL pool, as a separate process would have.
type replica struct {
	c    *consumer.Consumer
	pool *pgxpool.Pool
	rdb  *redis.Client
	done chan error
}

// consumerConfig is the consumer's defaults, except that the bench never
// trims its stream (later scenarios read it again) and reads the log.
func consumerConfig(stream, group, name string, log *flushLog) consumer.Config {
	return consumer.Config{
		Stream: stream, Group: group, Consumer: name,
		DisableTrim: true,
		Logger:      zerolog.New(log).Level(zerolog.InfoLevel),
	}
}

func (r *runner) newReplica(ctx context.Context, cfg consumer.Config) (*replica, error) {
	pool, err := pgxpool.New(ctx, r.benchURL)
	if err != nil {
		return nil, err
	}
	opt := *r.cfg.RedisOptions
	rdb := redis.NewClient(&opt)
	c, err := consumer.New(rdb, pool, cfg)
	if err != nil {
		pool.Close()
		rdb.Close()
		return nil, err
	}
	return &replica{c: c, pool: pool, rdb: rdb, done: make(chan error, 1)}, nil
}

func (rp *replica) start(ctx context.Context) {
	go func() { rp.done <- rp.c.Run(ctx) }()
}

// wait waits for Run to return and closes the clients.
func (rp *replica) wait() error {
	err := <-rp.done
	rp.pool.Close()
	rp.rdb.Close()
	return err
}

func (r *runner) group(ctx context.Context, stream, group string) (redis.XInfoGroup, error) {
	groups, err := r.rdb.XInfoGroups(ctx, stream).Result()
	if err != nil {
		return redis.XInfoGroup{}, fmt.Errorf("XINFO GROUPS %s: %w", stream, err)
	}
	for _, g := range groups {
		if g.Name == group {
			return g, nil
		}
	}
	return redis.XInfoGroup{}, fmt.Errorf("group %s of %s missing", group, stream)
}

// waitDrained polls every 10ms until the group has read every entry and
// holds none pending, reporting progress every second.
func (r *runner) waitDrained(ctx context.Context, name, stream, group string, timeout time.Duration) error {
	start := time.Now()
	lastReport := start
	return poll(ctx, timeout, 10*time.Millisecond, func() (bool, error) {
		g, err := r.group(ctx, stream, group)
		if err != nil {
			return false, err
		}
		if time.Since(lastReport) >= time.Second {
			lastReport = time.Now()
			r.progress("%s: %s entries read, %s pending, %s unread", name, count(g.EntriesRead), count(g.Pending), count(g.Lag))
		}
		return g.Lag == 0 && g.Pending == 0, nil
	})
}

// drain runs replicas consumers over the pre-loaded stream in a new group
// and measures the time until the group has read and acknowledged all of it.
func (r *runner) drain(ctx context.Context, replicas int) error {
	name := fmt.Sprintf("drain-%d", replicas)
	group := name
	if err := r.rdb.XGroupCreate(ctx, r.stream, group, "0").Err(); err != nil {
		return fmt.Errorf("%s: create group: %w", name, err)
	}
	return r.measure(ctx, name, meterOpts{pg: true, truncate: true}, func(ctx context.Context, m *meter) error {
		log := &flushLog{warn: r.cfg.Progress}
		var reps []*replica
		for i := range replicas {
			rp, err := r.newReplica(ctx, consumerConfig(r.stream, group, fmt.Sprintf("bench-%d", i+1), log))
			if err != nil {
				return err
			}
			reps = append(reps, rp)
		}
		runCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		if err := m.start(ctx); err != nil {
			return err
		}
		for _, rp := range reps {
			rp.start(runCtx)
		}
		drainErr := r.waitDrained(ctx, name, r.stream, group, 10*time.Minute)
		m.stop()
		cancel()
		var errs []error
		errs = append(errs, drainErr)
		for _, rp := range reps {
			errs = append(errs, rp.wait())
			st := rp.c.Stats()
			m.res.Flushes += st.Flushes
			m.res.Transactions += st.Transactions
		}
		m.res.Events = int64(r.cfg.Events)
		m.res.Replicas = replicas
		m.res.FlushInterval = consumer.DefaultFlushInterval.String()
		m.res.Notes = append(m.res.Notes, windowNote(log.records()))
		return errors.Join(errs...)
	})
}

// windowNote describes the windows a consumer wrote.
func windowNote(fl []flushRecord) string {
	if len(fl) == 0 {
		return "no flushes"
	}
	events, mints := 0, 0
	for _, f := range fl {
		events += f.events
		mints += f.mints
	}
	windows := "windows"
	if len(fl) == 1 {
		windows = "window"
	}
	return fmt.Sprintf("%d %s of %s events and %s mints on average (%.1f events per row offered)",
		len(fl), windows, count(int64(events/len(fl))), count(int64(mints/len(fl))), float64(events)/float64(max(mints, 1)))
}

// buffer runs one consumer whose window can hold the whole pre-loaded
// stream: no size limit, a flush interval of an hour and no urgent types.
// Once every entry is in the window it measures the live heap the window
// holds per mint; then it stops the consumer, which writes everything in
// one final flush.
func (r *runner) buffer(ctx context.Context) error {
	const name, group = "buffer", "buffer"
	if err := r.rdb.XGroupCreate(ctx, r.stream, group, "0").Err(); err != nil {
		return fmt.Errorf("%s: create group: %w", name, err)
	}
	return r.measure(ctx, name, meterOpts{pg: true, truncate: true}, func(ctx context.Context, m *meter) error {
		log := &flushLog{warn: r.cfg.Progress}
		cfg := consumerConfig(r.stream, group, "bench-1", log)
		cfg.FlushInterval = time.Hour
		cfg.UrgentTypes = []event.Type{}
		cfg.MaxBatchMints = r.mints + 1
		cfg.MaxBufferedMints = r.mints + 1
		cfg.MaxBatchEvents = r.cfg.Events + 1
		cfg.ShutdownTimeout = 5 * time.Minute
		rp, err := r.newReplica(ctx, cfg)
		if err != nil {
			return err
		}
		runCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		base := liveHeap()
		if err := m.start(ctx); err != nil {
			return err
		}
		rp.start(runCtx)
		lastReport := time.Now()
		err = poll(ctx, 10*time.Minute, 10*time.Millisecond, func() (bool, error) {
			read := rp.c.Stats().Read
			if time.Since(lastReport) >= time.Second {
				lastReport = time.Now()
				r.progress("%s: %s of %s entries in the window", name, count(read), count(int64(r.cfg.Events)))
			}
			return read >= int64(r.cfg.Events), nil
		})
		if err == nil {
			heap := liveHeap() - base
			rss, _ := procStatus()
			m.res.Buffer = &Buffer{
				Mints: r.mints, Entries: int64(r.cfg.Events), HeapBytes: heap,
				BytesPerMint: float64(heap) / float64(r.mints), RSSBytes: rss,
			}
			r.progress("%s: %s mints buffered: %s B live heap per mint, RSS %d MB; flushing",
				name, count(int64(r.mints)), count(int64(m.res.Buffer.BytesPerMint)), rss>>20)
		}
		cancel()
		errs := []error{err, rp.wait()}
		m.stop() // Run returned: the final flush committed and was acknowledged
		st := rp.c.Stats()
		m.res.Flushes, m.res.Transactions = st.Flushes, st.Transactions
		m.res.Events = st.Acked
		m.res.Replicas = 1
		m.res.FlushInterval = "1h"
		m.res.Notes = append(m.res.Notes, windowNote(log.records()))
		if g, err := r.group(ctx, r.stream, group); err == nil && g.Pending != 0 {
			errs = append(errs, fmt.Errorf("%d entries still pending after the final flush", g.Pending))
		}
		return errors.Join(errs...)
	})
}

// liveHeap returns the bytes of live heap objects after two collections.
func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}
