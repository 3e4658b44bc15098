package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	benchmark "github.com/tokensync/tokensync/bench"
)

func bench(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	scenarios := fs.String("scenarios", strings.Join(benchmark.AllScenarios, ","), "comma-separated scenarios to run")
	quick := fs.Bool("quick", false, "small sizes for a run of well under a minute (explicit flags still win)")
	events := fs.Int("events", benchmark.DefaultEvents, "events pre-loaded into the stream")
	directSample := fs.Int("direct-sample", benchmark.DefaultDirectSample, "events the direct scenario upserts one by one")
	produceEvents := fs.Int("produce-events", benchmark.DefaultProduceEvents, "events per round and side of the produce scenario")
	steadyRate := fs.Float64("steady-rate", benchmark.DefaultSteadyRate, "events per second of the steady scenario")
	steadyDuration := fs.Duration("steady-duration", benchmark.DefaultSteadyDuration, "how long the steady scenario produces, per flush interval")
	intervals := fs.String("steady-intervals", "1s,5s", "comma-separated flush intervals of the steady scenario")
	seed := fs.Uint64("seed", benchmark.DefaultSeed, "workload seed")
	database := fs.String("database", benchmark.DefaultDatabase, "database the bench creates and drops (on the server of TOKENSYNC_DATABASE_URL)")
	keep := fs.Bool("keep-database", false, "leave the bench database in place at the end")
	jsonPath := fs.String("json", "bench-results/latest.json", "write the figures as JSON here (empty: do not)")
	mdPath := fs.String("markdown", "bench-results/latest.md", "write the tables as Markdown here (empty: do not)")
	cluster := fs.String("cluster", "", "also drain over --shards shards on TOKENSYNC_REDIS_URL's server and on this Redis Cluster\n"+
		"(seed URL redis://h1:p1,h2:p2,h3:p3), with per-node entries and CPU; needs the drain scenario")
	shards := fs.Int("shards", benchmark.DefaultShards, "stream shards of the sharded and cluster drains (with --cluster)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the scenarios here")
	cpuProfileDir := fs.String("cpuprofile-dir", "", "write one CPU profile per scenario into this directory (<scenario>.pprof)")
	if err := fs.Parse(args); err != nil {
		return configError{err.Error()}
	}
	if fs.NArg() > 0 {
		return configError{"bench: unexpected arguments " + strings.Join(fs.Args(), " ")}
	}
	cfg, _, err := setup(ctx)
	if err != nil {
		return err
	}
	if _, many, _ := clusterForm(cfg.RedisURL); many || cfg.RedisCluster {
		return configError{"bench: TOKENSYNC_REDIS_URL names a Redis Cluster; the bench needs one server there (the single-node rows) and takes a cluster with --cluster URL"}
	}
	opt, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return configError{"TOKENSYNC_REDIS_URL: " + err.Error()}
	}
	bcfg := benchmark.Config{
		RedisOptions:  opt,
		DatabaseURL:   cfg.DatabaseURL,
		Database:      *database,
		Scenarios:     strings.Split(*scenarios, ","),
		Seed:          *seed,
		KeepDatabase:  *keep,
		CPUProfile:    *cpuProfile,
		CPUProfileDir: *cpuProfileDir,
		Progress:      os.Stderr,
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *cluster != "" {
		seeds, _, err := clusterForm(*cluster)
		if err == nil {
			bcfg.Cluster, err = redis.ParseClusterURL(seeds)
		}
		if err != nil {
			return configError{"--cluster: " + err.Error()}
		}
		bcfg.Shards = *shards
	} else if set["shards"] {
		return configError{"--shards: only with --cluster"}
	}
	for _, s := range strings.Split(*intervals, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			return configError{fmt.Sprintf("--steady-intervals: %q is not a duration", s)}
		}
		bcfg.SteadyIntervals = append(bcfg.SteadyIntervals, d)
	}
	// Flags given explicitly win over --quick's sizes.
	if !*quick || set["events"] {
		bcfg.Events = *events
	}
	if !*quick || set["direct-sample"] {
		bcfg.DirectSample = *directSample
	}
	if !*quick || set["produce-events"] {
		bcfg.ProduceEvents = *produceEvents
	}
	if !*quick || set["steady-rate"] {
		bcfg.SteadyRate = *steadyRate
	}
	if !*quick || set["steady-duration"] {
		bcfg.SteadyDuration = *steadyDuration
	}
	if *quick {
		bcfg = benchmark.Quick(bcfg)
	}
	if err := bcfg.Validate(); err != nil {
		return configError{err.Error()}
	}
	rep, err := benchmark.Run(ctx, bcfg)
	if rep != nil {
		rep.Command = "tokensync bench " + strings.Join(args, " ")
		if err == nil {
			if werr := rep.WriteTable(os.Stdout); werr != nil {
				return werr
			}
			if *mdPath != "" {
				if werr := rep.WriteMarkdownFile(*mdPath); werr != nil {
					return fmt.Errorf("write %s: %w", *mdPath, werr)
				}
				fmt.Fprintf(os.Stderr, "bench: tables written to %s\n", *mdPath)
			}
		}
		if *jsonPath != "" {
			if werr := rep.WriteJSON(*jsonPath); werr != nil {
				return fmt.Errorf("write %s: %w", *jsonPath, werr)
			}
			fmt.Fprintf(os.Stderr, "bench: figures written to %s\n", *jsonPath)
		}
	}
	return err
}
