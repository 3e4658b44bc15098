package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tokensync/tokensync/backlog"
	"github.com/tokensync/tokensync/pgstats"
)

func backlogCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("backlog", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	watch := fs.Duration("watch", 0, "refresh every DURATION until interrupted")
	if err := fs.Parse(args); err != nil {
		return configError{err.Error()}
	}
	cfg, _, err := setup(ctx)
	if err != nil {
		return err
	}
	rdb := openRedis(cfg)
	defer rdb.Close()
	for {
		r, err := backlog.Inspect(ctx, rdb, cfg.streams())
		if err != nil {
			return err
		}
		if *watch > 0 && !*asJSON {
			fmt.Print("\033[H\033[2J") // clear the terminal between refreshes
			fmt.Printf("%s (every %s, Ctrl-C to stop)\n\n", r.At.Format(time.RFC3339), *watch)
		}
		if *asJSON {
			if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
				return err
			}
		} else if err := r.WriteText(os.Stdout); err != nil {
			return err
		}
		if *watch <= 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(*watch):
		}
	}
}

func pgstatsCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("pgstats", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	since := fs.Duration("since", 0, "show what changed over DURATION instead of totals")
	if err := fs.Parse(args); err != nil {
		return configError{err.Error()}
	}
	cfg, _, err := setup(ctx)
	if err != nil {
		return err
	}
	pool, err := pgxpool.New(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("PostgreSQL pool: %w", err)
	}
	defer pool.Close()
	snap, err := pgstats.Take(ctx, pool)
	if err != nil {
		return err
	}
	var delta *pgstats.Delta
	if *since > 0 {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(*since):
		}
		later, err := pgstats.Take(ctx, pool)
		if err != nil {
			return err
		}
		d := later.Sub(snap)
		delta, snap = &d, later
	}
	if *asJSON {
		var v any = snap
		if delta != nil {
			v = delta
		}
		return json.NewEncoder(os.Stdout).Encode(v)
	}
	return pgstats.WriteText(os.Stdout, snap, delta)
}
