// Command tokensync moves token events from a Redis stream into PostgreSQL,
// coalesced per mint: see the README for the data path and configuration.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage: tokensync <command> [flags]

commands:
  consume   read the stream through the consumer group and write PostgreSQL
  produce   append events: newline-delimited JSON from stdin, or --synthetic
  migrate   create the database if missing and apply migrations
  replay    apply a retained range of the stream again: --since 1h | --from ID [--to ID]
  backlog   per stream and group: length, lag, pending, oldest pending age,
            consumers and heartbeats, dead letters (--json, --watch 2s)
  pgstats   checkpoints, WAL and HOT updates of PostgreSQL (--since 30s, --json)
  dead      list dead letters (dead list [--count N] [--json]) or put fixed ones
            back on the stream (dead replay [--set field=value]... ID... | --all)
  bench     measure throughput, WAL and latency against the local servers (bench --quick for a short run)

Configuration comes from TOKENSYNC_* environment variables (see the README).
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	cmds := map[string]func(context.Context, []string) error{
		"consume": consume,
		"produce": produce,
		"migrate": migrate,
		"replay":  replay,
		"dead":    dead,
		"bench":   bench,
		"backlog": backlogCmd,
		"pgstats": pgstatsCmd,
	}
	name := os.Args[1]
	run, ok := cmds[name]
	if !ok {
		if name == "help" || name == "-h" || name == "--help" {
			fmt.Print(usage)
			return
		}
		fmt.Fprintf(os.Stderr, "tokensync: unknown command %q\n\n%s", name, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, restore the default action: a second
		// one ends the process at once, leaving unacknowledged entries
		// pending for replay.
		<-ctx.Done()
		stop()
	}()
	err := run(ctx, os.Args[2:])
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "tokensync %s: %v\n", name, err)
		if _, ok := err.(configError); ok {
			os.Exit(2)
		}
		os.Exit(1)
	}
}
