package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/tokensync/tokensync/consumer"
	"github.com/tokensync/tokensync/ops"
	"github.com/tokensync/tokensync/producer"
	"github.com/tokensync/tokensync/store"
)

// chaosHook is set only in binaries built for crash tests (chaos.go).
var chaosHook func(*consumer.Config)

func setup(ctx context.Context) (config, zerolog.Logger, error) {
	cfg, err := loadConfig(environ())
	if err != nil {
		return cfg, zerolog.Nop(), err
	}
	return cfg, cfg.logger(os.Stderr), nil
}

func openRedis(cfg config) redis.UniversalClient {
	rdb, _ := redisClient(cfg.RedisURL, cfg.RedisCluster) // validated by loadConfig
	return rdb
}

// openConsumerRedis is openRedis without go-redis' own retries: see consumer.New.
func openConsumerRedis(cfg config) redis.UniversalClient {
	rdb, _ := redisClientNoRetries(cfg.RedisURL, cfg.RedisCluster)
	return rdb
}

func migrate(ctx context.Context, args []string) error {
	if len(args) > 0 {
		return configError{"migrate takes no arguments"}
	}
	cfg, log, err := setup(ctx)
	if err != nil {
		return err
	}
	created, err := store.EnsureDatabase(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	if created {
		log.Info().Str("database", redactURL(cfg.DatabaseURL)).Msg("created database")
	}
	pool, err := pgxpool.New(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer pool.Close()
	applied, err := store.Migrate(ctx, pool)
	if err != nil {
		return err
	}
	log.Info().Ints("applied", applied).Str("database", redactURL(cfg.DatabaseURL)).Msg("migrated")
	return nil
}

func consume(ctx context.Context, args []string) error {
	if len(args) > 0 {
		return configError{"consume takes no arguments; configure it with TOKENSYNC_* variables"}
	}
	cfg, log, err := setup(ctx)
	if err != nil {
		return err
	}
	log.Info().Str("redis", redactURL(cfg.RedisURL)).Str("database", redactURL(cfg.DatabaseURL)).Msg("starting")
	pool, err := pgxpool.New(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("PostgreSQL pool: %w", err)
	}
	defer pool.Close()
	rdb := openConsumerRedis(cfg)
	defer rdb.Close()
	ccfg := cfg.consumer(log)
	if chaosHook != nil {
		chaosHook(&ccfg)
	}
	c, err := consumer.New(rdb, pool, ccfg)
	if err != nil {
		return err
	}
	if cfg.MetricsAddr == "" {
		return c.Run(ctx)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c.Collector(), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	srv := &ops.Server{Addr: cfg.MetricsAddr, Ready: c.Ready, Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{})}
	ln, err := srv.Listen()
	if err != nil {
		return configError{fmt.Sprintf("TOKENSYNC_METRICS_ADDR: %v (choose a free port, or empty to disable)", err)}
	}
	srvCtx, stopSrv := context.WithCancel(context.WithoutCancel(ctx))
	srvErr := make(chan error, 1)
	go func() { srvErr <- srv.Serve(srvCtx, ln) }()
	log.Info().Str("addr", cfg.MetricsAddr).Msg("serving /metrics, /healthz and /readyz")
	runErr := c.Run(ctx)
	stopSrv()
	if err := <-srvErr; err != nil && runErr == nil {
		return err
	}
	return runErr
}

func produce(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("produce", flag.ContinueOnError)
	synthetic := fs.Bool("synthetic", false, "generate a workload instead of reading JSON lines from stdin")
	count := fs.Int("count", 100_000, "synthetic events to send; 0 = until interrupted")
	mints := fs.Int("mints", 5_000, "distinct synthetic mints")
	zipf := fs.Float64("zipf", 1.1, "Zipf skew of mint popularity (> 1)")
	mixFlag := fs.String("mix", "market=85,token=10,pool=3,migration=2", "synthetic type mix as type=weight pairs")
	rate := fs.Float64("rate", 0, "events per second; 0 = as fast as possible")
	seed := fs.Uint64("seed", uint64(time.Now().UnixNano()), "synthetic random seed")
	batch := fs.Int("batch", producer.DefaultPipelineSize, "XADDs per pipeline")
	if err := fs.Parse(args); err != nil {
		return configError{err.Error()}
	}
	cfg, log, err := setup(ctx)
	if err != nil {
		return err
	}
	rdb := openRedis(cfg)
	defer rdb.Close()
	p, err := producer.New(rdb, producer.Config{Stream: cfg.Stream, Shards: cfg.Shards, PipelineSize: *batch})
	if err != nil {
		return configError{err.Error()}
	}
	var src producer.Source
	if *synthetic {
		mix, err := producer.ParseMix(*mixFlag)
		if err != nil {
			return configError{"--mix: " + err.Error()}
		}
		g, err := producer.NewGenerator(producer.Workload{Mints: *mints, ZipfS: *zipf, Mix: mix, Seed: *seed})
		if err != nil {
			return configError{err.Error()}
		}
		src = producer.Limit(g, *count)
	} else {
		src = producer.JSONSource(os.Stdin)
	}
	st, err := p.Pump(ctx, src, producer.PumpConfig{
		Rate: *rate,
		Progress: func(s producer.Stats) {
			log.Info().Int("sent", s.Sent).Int("invalid", s.Invalid).
				Float64("per_second", float64(s.Sent)/max(s.Elapsed.Seconds(), 1e-9)).Msg("producing")
		},
		OnInvalid: func(err error) { log.Error().Err(err).Msg("invalid event skipped") },
	})
	if err != nil {
		return err
	}
	if st.Invalid > 0 {
		return errors.New(fmt.Sprint(st.Invalid, " invalid events were skipped (see the log)"))
	}
	return nil
}
