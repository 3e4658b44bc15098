package pgstats_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/tokensync/tokensync/internal/testenv"
	"github.com/tokensync/tokensync/pgstats"
)

func TestTakeAndDelta(t *testing.T) {
	pool, _ := testenv.Schema(t)
	ctx := context.Background()
	before, err := pgstats.Take(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if before.ServerVersion < 140000 || before.WALLSN == "" {
		t.Fatalf("snapshot %+v", before)
	}
	for _, q := range []string{
		`INSERT INTO tokens (mint, first_seen_at, updated_at) SELECT 'm' || g, now(), now() FROM generate_series(1, 100) g`,
		`UPDATE tokens SET name = 'x'`,
		`SELECT pg_stat_force_next_flush()`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	after, err := pgstats.Take(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	d := after.Sub(before)
	if d.WALBytesByLSN <= 0 || d.TokensInserts != 100 || d.TokensUpdates != 100 || d.TokensHOTUpdates > d.TokensUpdates {
		t.Fatalf("delta %+v", d)
	}
	var out bytes.Buffer
	if err := pgstats.WriteText(&out, after, &d); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "tokens HOT updates") {
		t.Fatalf("text:\n%s", out.String())
	}
}

// TestCheckpointerQuery runs the PostgreSQL 17 query against a stand-in for
// pg_stat_checkpointer (with 17's column names) on this older server, so the
// query text is checked by a real parser and planner.
func TestCheckpointerQuery(t *testing.T) {
	pool, _ := testenv.Schema(t)
	ctx := context.Background()
	var version int
	if err := pool.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version >= 170000 {
		t.Skip("the server has the real pg_stat_checkpointer; TestTakeAndDelta covers it")
	}
	if _, err := pool.Exec(ctx, `CREATE VIEW pg_stat_checkpointer AS SELECT
		1::bigint AS num_timed, 2::bigint AS num_requested, 3.5::double precision AS write_time,
		4.5::double precision AS sync_time, 5::bigint AS buffers_written`); err != nil {
		t.Fatal(err)
	}
	var timed, req, buffers int64
	var write, sync float64
	if err := pool.QueryRow(ctx, pgstats.CheckpointQuery(170000)).Scan(&timed, &req, &write, &sync, &buffers); err != nil {
		t.Fatal(err)
	}
	if timed != 1 || req != 2 || write != 3.5 || sync != 4.5 || buffers != 5 {
		t.Fatalf("got %d %d %g %g %d", timed, req, write, sync, buffers)
	}
	if pgstats.CheckpointQuery(160000) == pgstats.CheckpointQuery(170000) {
		t.Fatal("the same query for 16 and 17")
	}
}
