package bench

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
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
	rdb  redis.UniversalClient
	done chan error
}

// consumerConfig is the consumer's defaults, except that the bench never
// trims its stream (later scenarios read it again) and reads the log.
func consumerConfig(stream, group, name string, log *flushLog) consumer.Config {
	return consumer.Config{
		Stream: stream, Group: group, Consumer: name,
		DisableTrim: true,
		Logger:      zerolog.New(log).Level(zerolog.WarnLevel),
		OnFlush:     log.onFlush,
	}
}

// newReplica starts a consumer on the server of Config.RedisOptions.
func (r *runner) newReplica(ctx context.Context, cfg consumer.Config) (*replica, error) {
	return r.newReplicaOn(ctx, cfg, r.single.newClient)
}

// newReplicaOn starts a consumer with a client of its own from newClient.
func (r *runner) newReplicaOn(ctx context.Context, cfg consumer.Config, newClient func() redis.UniversalClient) (*replica, error) {
	pool, err := pgxpool.New(ctx, r.benchURL)
	if err != nil {
		return nil, err
	}
	rdb := newClient()
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
	return findGroup(groups, stream, group)
}

func findGroup(groups []redis.XInfoGroup, stream, group string) (redis.XInfoGroup, error) {
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

// waitReadOut polls every 10ms until the group has read every entry of
// every stream of t (what it holds may still be pending), reporting
// progress every second. One pipeline of XINFO GROUPS (one round trip per
// node) asks the streams not yet read out: nothing is appended during a
// drain, so a stream read out stays so.
func (r *runner) waitReadOut(ctx context.Context, name string, t *target, group string, timeout time.Duration) error {
	type state struct{ read, pending, lag int64 }
	last := make(map[string]state, len(t.streams))
	remaining := slices.Clone(t.streams)
	lastReport := time.Now()
	return poll(ctx, timeout, 10*time.Millisecond, func() (bool, error) {
		groups, err := groupsOf(ctx, t.rdb, remaining, group)
		if err != nil {
			return false, err
		}
		var next []string
		for i, s := range remaining {
			g := groups[i]
			last[s] = state{g.EntriesRead, g.Pending, g.Lag}
			if g.Lag != 0 {
				next = append(next, s)
			}
		}
		remaining = next
		if time.Since(lastReport) >= time.Second {
			lastReport = time.Now()
			var sum state
			for _, st := range last {
				sum.read += st.read
				sum.pending += st.pending
				sum.lag += st.lag
			}
			r.progress("%s: %d of %d streams read out; %s entries read, %s pending, %s unread", name,
				len(t.streams)-len(remaining), len(t.streams), count(sum.read), count(sum.pending), count(sum.lag))
		}
		return len(remaining) == 0, nil
	})
}

// groupsOf returns group as XINFO GROUPS shows it on each of streams, in
// one pipeline.
func groupsOf(ctx context.Context, rdb redis.UniversalClient, streams []string, group string) ([]redis.XInfoGroup, error) {
	cmds := make([]*redis.XInfoGroupsCmd, len(streams))
	if _, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, s := range streams {
			cmds[i] = p.XInfoGroups(ctx, s)
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("XINFO GROUPS: %w", err)
	}
	gs := make([]redis.XInfoGroup, len(streams))
	for i, s := range streams {
		g, err := findGroup(cmds[i].Val(), s, group)
		if err != nil {
			return nil, err
		}
		gs[i] = g
	}
	return gs, nil
}

// drain runs replicas consumers over the pre-loaded streams of t in a new
// group and measures the time until the group has read all of them and the
// stopped replicas have written and acknowledged their last windows.
func (r *runner) drain(ctx context.Context, t *target, replicas int) error {
	name := fmt.Sprintf("%sdrain-%d", t.prefix, replicas)
	group := name
	for _, s := range t.streams {
		if err := t.rdb.XGroupCreate(ctx, s, group, "0").Err(); err != nil {
			return fmt.Errorf("%s: create group on %s: %w", name, s, err)
		}
	}
	return r.measure(ctx, name, meterOpts{pg: true, truncate: true, nodes: t.nodes}, func(ctx context.Context, m *meter) error {
		log := &flushLog{warn: r.cfg.Progress}
		var reps []*replica
		for i := range replicas {
			cfg := consumerConfig(t.stream, group, fmt.Sprintf("bench-%d", i+1), log)
			if t.shards > 1 {
				cfg.Shards = t.shards
			}
			rp, err := r.newReplicaOn(ctx, cfg, t.newClient)
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
		// The drain ends when the replicas, stopped once every entry is
		// read, have written and acknowledged the rest in their final
		// flush: the last window then does not wait for its flush interval,
		// a wait that would make rows differ by up to FlushInterval
		// depending only on where the last window happens to begin.
		drainErr := r.waitReadOut(ctx, name, t, group, 10*time.Minute)
		cancel()
		var errs []error
		errs = append(errs, drainErr)
		for _, rp := range reps {
			errs = append(errs, rp.wait())
			st := rp.c.Stats()
			m.res.Flushes += st.Flushes
			m.res.Transactions += st.Transactions
		}
		m.stop() // every replica's Run returned: its final flush committed and was acknowledged
		if drainErr == nil {
			errs = append(errs, r.requireDrained(ctx, t, group))
		}
		m.res.Events = int64(r.cfg.Events)
		m.res.Replicas = replicas
		m.res.FlushInterval = consumer.DefaultFlushInterval.String()
		m.res.Notes = append(m.res.Notes, windowNote(log.records()))
		if t.nodes != nil {
			m.res.Redis, m.res.Shards = t.label, t.shards
			m.res.Nodes = slices.Clone(t.layout)
		}
		return errors.Join(errs...)
	})
}

// requireDrained fails unless the group has read and acknowledged every
// entry of every stream of t.
func (r *runner) requireDrained(ctx context.Context, t *target, group string) error {
	groups, err := groupsOf(ctx, t.rdb, t.streams, group)
	if err != nil {
		return err
	}
	var pending, unread int64
	for _, g := range groups {
		pending += g.Pending
		unread += g.Lag
	}
	if pending != 0 || unread != 0 {
		return fmt.Errorf("after the replicas stopped: %d entries pending, %d unread", pending, unread)
	}
	return nil
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
