package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tokensync/tokensync/consumer"
	"github.com/tokensync/tokensync/event"
)

func replay(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	since := fs.Duration("since", 0, "apply the entries of the last DURATION (e.g. 1h)")
	from := fs.String("from", "", "first entry ID to apply")
	to := fs.String("to", "+", "last entry ID to apply")
	if err := fs.Parse(args); err != nil {
		return configError{err.Error()}
	}
	if (*since > 0) == (*from != "") {
		return configError{"replay: give exactly one of --since DURATION or --from ID"}
	}
	if *since > 0 {
		*from = consumer.SinceID(*since)
	}
	for _, id := range []string{*from, *to} {
		if _, err := event.ParseID(id); err != nil && id != "-" && id != "+" {
			return configError{fmt.Sprintf("replay: %q is not an entry ID", id)}
		}
	}
	cfg, log, err := setup(ctx)
	if err != nil {
		return err
	}
	pool, err := pgxpool.New(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("PostgreSQL pool: %w", err)
	}
	defer pool.Close()
	rdb := openRedis(cfg)
	defer rdb.Close()
	st, err := consumer.Replay(ctx, rdb, pool, consumer.ReplayConfig{
		Stream: cfg.Stream, Shards: cfg.Shards, From: *from, To: *to, BatchMints: cfg.MaxBatchMints, Logger: log,
	})
	log.Info().Int("entries", st.Entries).Int("malformed", st.Malformed).Int("statements", st.Statements).
		Int("written", st.Written).Int("stale", st.Stale).Int("rejected", st.Rejected).Dur("took", st.Took).
		Str("from", *from).Str("to", *to).Msg("replayed")
	return err
}

func dead(ctx context.Context, args []string) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "replay") {
		return configError{"dead: want `dead list [--count N] [--json]` or `dead replay [--set field=value]... ID... | --all`"}
	}
	fs := flag.NewFlagSet("dead "+args[0], flag.ContinueOnError)
	count := fs.Int64("count", 100, "dead letters to show")
	asJSON := fs.Bool("json", false, "print JSON lines")
	all := fs.Bool("all", false, "replay every dead letter")
	set := map[string]string{}
	fs.Func("set", "override a field before replaying, field=value (empty value removes it); repeatable", func(s string) error {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return fmt.Errorf("want field=value, got %q", s)
		}
		set[k] = v
		return nil
	})
	if err := fs.Parse(args[1:]); err != nil {
		return configError{err.Error()}
	}
	cfg, _, err := setup(ctx)
	if err != nil {
		return err
	}
	rdb := openRedis(cfg)
	defer rdb.Close()
	// Each shard has its own dead-letter stream.
	var letters []consumer.DeadLetter
	shardOf := map[string]string{} // dead-letter ID -> its shard
	limit := *count
	if args[0] == "replay" {
		limit = 1 << 31 // find any ID given, requeue all with --all
	}
	for _, s := range cfg.streams() {
		l, err := consumer.ListDead(ctx, rdb, s, "-", limit)
		if err != nil {
			return err
		}
		for _, d := range l {
			shardOf[d.ID] = s
		}
		letters = append(letters, l...)
	}
	if args[0] == "list" {
		if *asJSON {
			enc := json.NewEncoder(os.Stdout)
			for _, d := range letters {
				if err := enc.Encode(d); err != nil {
					return err
				}
			}
			return nil
		}
		w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "DEAD ID\tENTRY ID\tAGE\tCONSUMER\tREASON\tFIELDS")
		for _, d := range letters {
			id, _ := event.ParseID(d.ID)
			age := time.Since(time.UnixMilli(int64(id.Ms))).Round(time.Second)
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.Original, age, d.Consumer, d.Reason, fields(d.Fields))
		}
		return w.Flush()
	}
	ids := fs.Args()
	if *all == (len(ids) > 0) {
		return configError{"dead replay: give dead-letter IDs or --all"}
	}
	if *all {
		for _, d := range letters {
			ids = append(ids, d.ID)
		}
	}
	for _, id := range ids {
		shard, ok := shardOf[id]
		if !ok {
			return fmt.Errorf("no dead letter %s", id)
		}
		newIDs, err := consumer.Requeue(ctx, rdb, shard, []string{id}, set)
		if err != nil {
			return err
		}
		fmt.Printf("%s -> %s\n", id, newIDs[0])
	}
	return nil
}

func fields(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%q", k, m[k])
	}
	return b.String()
}
