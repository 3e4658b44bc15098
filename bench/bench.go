package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/tokensync/tokensync/event"
	"github.com/tokensync/tokensync/producer"
	"github.com/tokensync/tokensync/store"
)

// Defaults for Config.
const (
	DefaultDatabase       = "tokensync_bench"
	DefaultKeyPrefix      = "tokensync-bench:"
	DefaultEvents         = 1_000_000
	DefaultDirectSample   = 50_000
	DefaultProduceEvents  = 200_000
	DefaultSteadyRate     = 5000
	DefaultSteadyDuration = 30 * time.Second
	DefaultSeed           = 1
	DefaultShards         = 16
)

// DefaultSteadyIntervals are the flush intervals the steady scenario runs with.
var DefaultSteadyIntervals = []time.Duration{time.Second, 5 * time.Second}

// Scenarios, in the order they run.
const (
	ScenarioProduce = "produce" // producer.Publish against raw pipelined XADD
	ScenarioCeiling = "ceiling" // raw XREADGROUP + XACK, 1 and 2 readers
	ScenarioDrain   = "drain"   // consumer replicas (1, then 2) drain the pre-loaded stream
	ScenarioBuffer  = "buffer"  // one window holds the whole stream: heap per buffered mint
	ScenarioReplay  = "replay"  // consumer.Replay of the stream, then again
	ScenarioDirect  = "direct"  // one autocommit upsert per event
	ScenarioSteady  = "steady"  // paced producer, event-to-commit latency
)

// AllScenarios lists every scenario in running order.
var AllScenarios = []string{ScenarioProduce, ScenarioCeiling, ScenarioDrain, ScenarioBuffer, ScenarioReplay, ScenarioDirect, ScenarioSteady}

// Config configures a benchmark run. Zero fields take the defaults above.
type Config struct {
	// RedisOptions reach the Redis server. Required.
	RedisOptions *redis.Options
	// DatabaseURL reaches PostgreSQL. The bench uses its credentials and
	// server, but works in Database, which it drops and creates at the start.
	DatabaseURL string
	Database    string
	// KeyPrefix starts every Redis key the bench creates; all of them are
	// deleted at the end (and any left over from an interrupted run at the start).
	KeyPrefix string

	// Scenarios to run; all when empty.
	Scenarios []string
	// Events pre-loaded into the stream that ceiling, drain, buffer, replay
	// and direct read.
	Events int
	// DirectSample is how many of those events the direct scenario writes.
	DirectSample int
	// ProduceEvents are appended per round by each side of the produce scenario.
	ProduceEvents int
	// SteadyRate (events per second) and SteadyDuration pace the steady
	// scenario, once per flush interval in SteadyIntervals.
	SteadyRate      float64
	SteadyDuration  time.Duration
	SteadyIntervals []time.Duration
	// Seed makes the workload repeatable.
	Seed uint64
	// KeepDatabase leaves the bench database in place at the end.
	KeepDatabase bool
	// Cluster, when set, reaches a Redis Cluster: the drain scenario then
	// also runs over Shards hash-tagged stream shards, first on the server
	// of RedisOptions (rows sharded-drain-N), then on the cluster (rows
	// cluster-drain-N), and every drain row reports, per Redis node, the
	// shards and entries it holds and the CPU time of its server process.
	// Nil keeps the single-node run as it always was.
	Cluster *redis.ClusterOptions
	// Shards of the sharded and cluster drain rows; DefaultShards when 0.
	Shards int

	// CPUProfile, when set, is written with a CPU profile of the scenarios
	// (pre-loading left out).
	CPUProfile string
	// CPUProfileDir, when set, receives one CPU profile per measured
	// scenario, <scenario>.pprof, covering its measured part. Not with CPUProfile.
	CPUProfileDir string
	// Progress receives progress lines and consumer warnings; nil discards them.
	Progress io.Writer
}

// Quick returns cfg sized for a run of well under a minute; fields already
// set are kept.
func Quick(cfg Config) Config {
	if cfg.Events == 0 {
		cfg.Events = 100_000
	}
	if cfg.DirectSample == 0 {
		cfg.DirectSample = 5_000
	}
	if cfg.ProduceEvents == 0 {
		cfg.ProduceEvents = 50_000
	}
	if cfg.SteadyDuration == 0 {
		cfg.SteadyDuration = 8 * time.Second
	}
	return cfg
}

func (c *Config) setDefaults() {
	c.Database = cmpOr(c.Database, DefaultDatabase)
	c.KeyPrefix = cmpOr(c.KeyPrefix, DefaultKeyPrefix)
	if len(c.Scenarios) == 0 {
		c.Scenarios = AllScenarios
	}
	c.Events = cmpOr(c.Events, DefaultEvents)
	c.DirectSample = cmpOr(c.DirectSample, DefaultDirectSample)
	c.ProduceEvents = cmpOr(c.ProduceEvents, DefaultProduceEvents)
	c.SteadyRate = cmpOr(c.SteadyRate, DefaultSteadyRate)
	c.SteadyDuration = cmpOr(c.SteadyDuration, DefaultSteadyDuration)
	if len(c.SteadyIntervals) == 0 {
		c.SteadyIntervals = DefaultSteadyIntervals
	}
	c.Seed = cmpOr(c.Seed, DefaultSeed)
	if c.Cluster != nil {
		c.Shards = cmpOr(c.Shards, DefaultShards)
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Validate reports what is wrong with cfg once defaults are filled in.
func (c Config) Validate() error {
	c.setDefaults()
	return c.validate()
}

func (c *Config) validate() error {
	var errs []error
	if c.RedisOptions == nil {
		errs = append(errs, errors.New("no Redis options"))
	}
	if c.DatabaseURL == "" {
		errs = append(errs, errors.New("no database URL"))
	}
	for _, s := range c.Scenarios {
		if !slices.Contains(AllScenarios, s) {
			errs = append(errs, fmt.Errorf("unknown scenario %q (want %s)", s, strings.Join(AllScenarios, ", ")))
		}
	}
	if c.Events < 10 || c.DirectSample < 1 || c.ProduceEvents < 1 {
		errs = append(errs, fmt.Errorf("events %d, direct sample %d, produce events %d: want at least 10, 1 and 1", c.Events, c.DirectSample, c.ProduceEvents))
	}
	if c.SteadyRate <= 0 || c.SteadyDuration <= 0 {
		errs = append(errs, fmt.Errorf("steady rate %g and duration %v: want both positive", c.SteadyRate, c.SteadyDuration))
	}
	for _, d := range c.SteadyIntervals {
		if d < 10*time.Millisecond {
			errs = append(errs, fmt.Errorf("steady flush interval %v: want at least 10ms", d))
		}
	}
	if c.CPUProfile != "" && c.CPUProfileDir != "" {
		errs = append(errs, errors.New("a CPU profile of the whole run and one per scenario exclude each other"))
	}
	if c.Cluster != nil {
		if len(c.Cluster.Addrs) == 0 {
			errs = append(errs, errors.New("cluster: no seed address"))
		}
		if !c.has(ScenarioDrain) {
			errs = append(errs, errors.New("cluster: the cluster comparison runs with the drain scenario, which is not selected"))
		}
		if c.Shards < 2 || c.Shards > 1024 {
			errs = append(errs, fmt.Errorf("shards %d: want 2 to 1024", c.Shards))
		}
	} else if c.Shards != 0 {
		errs = append(errs, errors.New("shards are set without a cluster"))
	}
	if !strings.HasSuffix(c.KeyPrefix, ":") {
		errs = append(errs, fmt.Errorf("key prefix %q: want it to end in a colon", c.KeyPrefix))
	}
	return errors.Join(errs...)
}

func (c *Config) has(s string) bool { return slices.Contains(c.Scenarios, s) }

// runner holds what the scenarios share.
type runner struct {
	cfg      Config
	rdb      *redis.Client // the bench's own client: pre-loading, ceiling, producer, statistics
	benchURL string        // the bench database
	mon      *pgMonitor
	stream   string // the pre-loaded stream
	mints    int    // distinct mints in it
	// single is the server of RedisOptions with the pre-loaded stream; in a
	// run with a cluster, sharded is that server with Shards shards, and
	// cluster the cluster (crdb) with as many.
	single, sharded, cluster *target
	crdb                     *redis.ClusterClient
	// postmaster is the PID of PostgreSQL's postmaster when it runs on this
	// machine (its CPU time is then measured), else 0.
	postmaster int
	report     *Report
}

// Run runs the selected scenarios and returns their figures and the issue's
// targets checked against them. Interrupting ctx stops the run; keys and the
// database are cleaned up either way.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("bench config: %w", err)
	}
	r := &runner{cfg: cfg, stream: cfg.KeyPrefix + "events", report: &Report{Started: time.Now().UTC(), Settings: settingsOf(cfg)}}
	// Registered first, so it runs last: after the clean-up.
	defer func() { r.report.Took = time.Since(r.report.Started).Round(time.Second).String() }()
	r.rdb = redis.NewClient(cfg.RedisOptions)
	defer r.rdb.Close()
	if err := r.rdb.Ping(ctx).Err(); err != nil {
		return nil, fmt.Errorf("Redis: %w", err)
	}
	r.single = r.singleTarget()
	cleanupCtx := context.WithoutCancel(ctx)
	if err := r.deleteKeys(ctx); err != nil {
		return nil, err
	}
	defer func() {
		if err := r.deleteKeys(cleanupCtx); err != nil {
			r.progress("cleanup: %v", err)
		}
	}()
	if cfg.Cluster != nil {
		err := r.connectCluster(ctx)
		defer func() {
			if r.crdb == nil {
				return
			}
			if err == nil {
				if err := deleteKeysOf(cleanupCtx, r.crdb, cfg.KeyPrefix); err != nil {
					r.progress("cleanup: Redis Cluster: %v", err)
				}
			}
			r.crdb.Close()
		}()
		if err != nil {
			return nil, err
		}
	}

	maintCfg, err := r.setupDatabase(ctx)
	if err != nil {
		return nil, err
	}
	if !cfg.KeepDatabase {
		defer func() {
			if r.mon != nil {
				r.mon.close()
			}
			if err := dropDatabase(cleanupCtx, maintCfg, cfg.Database); err != nil {
				r.progress("cleanup: %v", err)
			}
		}()
	} else {
		defer func() {
			if r.mon != nil {
				r.mon.close()
			}
		}()
	}
	localCfg, err := pgx.ParseConfig(r.benchURL)
	if err != nil {
		return nil, err
	}
	if r.mon, err = newPGMonitor(ctx, maintCfg, localCfg); err != nil {
		return nil, err
	}
	r.report.Machine = machine(ctx, r.rdb, r.mon.maint)
	if r.cluster != nil {
		r.report.Machine.RedisCluster = describeCluster(ctx, r.cluster.nodes)
	}
	if r.postmaster = postmasterOf(r.mon.localPID); r.postmaster == 0 {
		r.report.Notes = append(r.report.Notes, "PostgreSQL's processes are not visible in /proc: its CPU time is not measured")
	}
	if load, err := backgroundLoad(ctx); err == nil {
		r.report.Machine.BackgroundLoad = load
		if load > 0.25 {
			msg := fmt.Sprintf("the machine was %.2f cores busy before the run started: other work competes with the scenarios", load)
			r.report.Notes = append(r.report.Notes, msg)
			r.progress("warning: %s", msg)
		}
	}

	if cfg.has(ScenarioCeiling) || cfg.has(ScenarioDrain) || cfg.has(ScenarioBuffer) || cfg.has(ScenarioReplay) || cfg.has(ScenarioDirect) {
		if err := r.preload(ctx); err != nil {
			return nil, err
		}
		if err := r.layoutOf(ctx, r.single); err != nil {
			return nil, err
		}
	}

	if cfg.CPUProfileDir != "" {
		if err := os.MkdirAll(cfg.CPUProfileDir, 0o755); err != nil {
			return nil, fmt.Errorf("CPU profiles: %w", err)
		}
	}
	if cfg.CPUProfile != "" {
		f, err := os.Create(cfg.CPUProfile)
		if err != nil {
			return nil, fmt.Errorf("CPU profile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("CPU profile: %w", err)
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}

	steps := []struct {
		scenario string
		run      func(context.Context) error
	}{
		{ScenarioProduce, r.produce},
		{ScenarioCeiling, func(ctx context.Context) error { return r.ceiling(ctx, 1) }},
		{ScenarioCeiling, func(ctx context.Context) error { return r.ceiling(ctx, 2) }},
		{ScenarioDrain, func(ctx context.Context) error { return r.drain(ctx, r.single, 1) }},
		{ScenarioDrain, func(ctx context.Context) error { return r.drain(ctx, r.single, 2) }},
		{ScenarioDrain, r.clusterDrains}, // only in a run with a cluster
		{ScenarioBuffer, r.buffer},
		{ScenarioReplay, r.replay},
		{ScenarioDirect, r.direct},
	}
	for _, d := range cfg.SteadyIntervals {
		steps = append(steps, struct {
			scenario string
			run      func(context.Context) error
		}{ScenarioSteady, func(ctx context.Context) error { return r.steady(ctx, d) }})
	}
	for _, s := range steps {
		if !cfg.has(s.scenario) {
			continue
		}
		if err := s.run(ctx); err != nil {
			return r.report, err
		}
	}
	if cfg.has(ScenarioDrain) {
		r.report.Notes = append(r.report.Notes, "every drain row is timed until every entry was read and the replicas, "+
			"stopped then, had written and acknowledged the rest in their final flush")
	}
	r.report.Notes = append(r.report.Notes, r.mon.notes...)
	if cfg.CPUProfileDir != "" {
		r.report.Notes = append(r.report.Notes, "CPU profiles of the measured part of each scenario: "+filepath.Join(cfg.CPUProfileDir, "<scenario>.pprof"))
	}
	r.report.Targets = targets(r.report)
	return r.report, nil
}

func (r *runner) progress(format string, args ...any) {
	fmt.Fprintf(r.cfg.Progress, "bench: "+format+"\n", args...)
}

// deleteKeys removes every key under the prefix.
func (r *runner) deleteKeys(ctx context.Context) error {
	return deleteKeysOf(ctx, r.rdb, r.cfg.KeyPrefix)
}

// setupDatabase drops and creates the bench database and migrates it. It
// returns the configuration of the maintenance database it connected to.
func (r *runner) setupDatabase(ctx context.Context) (*pgx.ConnConfig, error) {
	var err error
	if r.benchURL, err = withDatabase(r.cfg.DatabaseURL, r.cfg.Database); err != nil {
		return nil, err
	}
	base, err := pgx.ParseConfig(r.cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("parse database URL: %w", err)
	}
	var maint *pgx.ConnConfig
	for _, name := range []string{"postgres", "template1"} {
		c := base.Copy()
		c.Database = name
		conn, err := pgx.ConnectConfig(ctx, c)
		if err != nil {
			continue
		}
		conn.Close(ctx)
		maint = c
		break
	}
	if maint == nil {
		return nil, errors.New("cannot connect to the maintenance database (postgres or template1) to create the bench database")
	}
	if err := dropDatabase(ctx, maint, r.cfg.Database); err != nil {
		return nil, err
	}
	if _, err := store.EnsureDatabase(ctx, r.benchURL); err != nil {
		return nil, err
	}
	pool, err := pgxpool.New(ctx, r.benchURL)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	if _, err := store.Migrate(ctx, pool); err != nil {
		return nil, fmt.Errorf("migrate %s: %w", r.cfg.Database, err)
	}
	return maint, nil
}

func dropDatabase(ctx context.Context, maint *pgx.ConnConfig, name string) error {
	conn, err := pgx.ConnectConfig(ctx, maint)
	if err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// withDatabase returns connString naming database db instead.
func withDatabase(connString, db string) (string, error) {
	if strings.HasPrefix(connString, "postgres://") || strings.HasPrefix(connString, "postgresql://") {
		u, err := url.Parse(connString)
		if err != nil {
			return "", fmt.Errorf("parse database URL: %w", err)
		}
		u.Path = "/" + db
		u.RawPath = ""
		return u.String(), nil
	}
	// keyword=value form: a later keyword wins.
	return strings.TrimSpace(connString) + " dbname='" + db + "'", nil
}

// backgroundLoad measures how busy the machine is, in cores, over a second.
func backgroundLoad(ctx context.Context) (float64, error) {
	before, start := machineBusy(), time.Now()
	if err := sleep(ctx, time.Second); err != nil {
		return 0, err
	}
	return (machineBusy() - before) / time.Since(start).Seconds(), nil
}

// preload appends cfg.Events workload events to the stream.
func (r *runner) preload(ctx context.Context) error {
	return r.preloadOn(ctx, r.single)
}

// preloadOn appends cfg.Events workload events to the streams of t.
func (r *runner) preloadOn(ctx context.Context, t *target) error {
	pcfg := producer.Config{Stream: t.stream}
	where := t.stream
	if t.shards > 1 {
		pcfg.Shards = t.shards
		where = fmt.Sprintf("%d shards of %s on %s", t.shards, t.stream, t.label)
	}
	p, err := producer.New(t.rdb, pcfg)
	if err != nil {
		return err
	}
	w := NewWorkload(r.cfg.Seed, r.cfg.Events)
	// With shards, the busiest mint shows how unevenly a skewed workload
	// can fill them: all of a mint's events go to one shard.
	var perMint map[string]int
	if t.shards > 1 {
		perMint = map[string]int{}
	}
	const chunk = 10_000
	buf := make([]event.Event, 0, chunk)
	start := time.Now()
	last := start
	for sent := 0; sent < r.cfg.Events; {
		buf = buf[:0]
		for range min(chunk, r.cfg.Events-sent) {
			ev, _ := w.Next()
			buf = append(buf, ev)
			if perMint != nil {
				perMint[ev.Mint]++
			}
		}
		if _, err := p.Publish(ctx, buf); err != nil {
			return fmt.Errorf("pre-load: %w", err)
		}
		sent += len(buf)
		if time.Since(last) >= time.Second || sent == r.cfg.Events {
			last = time.Now()
			r.progress("pre-load: %s/%s events in %s (%s events/s, generating included)",
				count(int64(sent)), count(int64(r.cfg.Events)), where, count(int64(float64(sent)/time.Since(start).Seconds())))
		}
	}
	r.mints = len(w.Mints())
	if len(perMint) > 0 && t.prefix == "cluster-" {
		var mint string
		for m, n := range perMint {
			if n > perMint[mint] || (n == perMint[mint] && m < mint) {
				mint = m
			}
		}
		r.report.Notes = append(r.report.Notes, fmt.Sprintf("workload: the busiest mint draws %s of the %s events (%.1f%%), all of them in shard %s",
			count(int64(perMint[mint])), count(int64(r.cfg.Events)), 100*float64(perMint[mint])/float64(r.cfg.Events), t.streams[event.ShardOf(mint, t.shards)]))
	}
	runtime.GC()
	return nil
}
