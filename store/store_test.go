package store_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tokensync/tokensync/event"
	"github.com/tokensync/tokensync/internal/testenv"
	"github.com/tokensync/tokensync/producer"
	"github.com/tokensync/tokensync/store"
)

func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	pool, _ := testenv.Schema(t) // migrated once already
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			applied, err := store.Migrate(ctx, pool)
			if err == nil && len(applied) > 0 {
				t.Errorf("second Migrate applied %v again", applied)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// tupleStates maps each mint to its tuple's ctid, xmin and xmax.
func tupleStates(t *testing.T, pool *pgxpool.Pool) map[string]string {
	t.Helper()
	rows, _ := pool.Query(context.Background(), "SELECT mint, ctid::text || ' ' || xmin::text || ' ' || xmax::text FROM tokens")
	m := make(map[string]string)
	var k, v string
	_, err := pgx.ForEachRow(rows, []any{&k, &v}, func() error { m[k] = v; return nil })
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// events returns n synthetic events with increasing entry IDs.
func events(t testing.TB, seed uint64, n, mints int) []event.Event {
	t.Helper()
	g, err := producer.NewGenerator(producer.Workload{Mints: mints, Seed: seed, Mix: producer.Mix{Token: 25, Migration: 15, Pool: 20, Market: 40}})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	evs := make([]event.Event, n)
	id := event.ID{Ms: 1_700_000_000_000}
	for i := range evs {
		// Several entries share a millisecond, so seq order matters too.
		if rng.IntN(3) == 0 {
			id = event.ID{Ms: id.Ms + uint64(rng.IntN(5)+1)}
		} else {
			id = id.Next()
		}
		evs[i] = g.Next()
		evs[i].ID = id
	}
	return evs
}

// coalesce merges a window of events the way a consumer does.
func coalesce(evs []event.Event) []store.Row {
	byMint := make(map[string]*store.Row)
	var order []string
	for i := range evs {
		r := byMint[evs[i].Mint]
		if r == nil {
			r = &store.Row{Mint: evs[i].Mint}
			byMint[r.Mint] = r
			order = append(order, r.Mint)
		}
		r.Apply(&evs[i])
	}
	rows := make([]store.Row, 0, len(order))
	for _, m := range order {
		rows = append(rows, *byMint[m])
	}
	return rows
}

func TestUpsertAppliesNewerAndSkipsStale(t *testing.T) {
	t.Parallel()
	pool, _ := testenv.Schema(t)
	ctx := context.Background()
	evs := events(t, 1, 400, 40)

	res, err := store.Upsert(ctx, pool, coalesce(evs[200:]))
	if err != nil {
		t.Fatal(err)
	}
	if res.Written != res.Rows {
		t.Fatalf("first write into an empty table: %+v, want every row written", res)
	}
	// The older half must change only what the newer half did not own, and
	// first_seen_at where an older event was earlier.
	if _, err := store.Upsert(ctx, pool, coalesce(evs[:200])); err != nil {
		t.Fatal(err)
	}
	testenv.RequireTable(t, pool, testenv.Fold(evs))

	// A full replay holds nothing new: no row written, none even locked (a
	// lock would set xmax to the replay's transaction).
	before := tupleStates(t, pool)
	res, err = store.Upsert(ctx, pool, coalesce(evs))
	if err != nil {
		t.Fatal(err)
	}
	if res.Written != 0 || res.Stale() != res.Rows {
		t.Fatalf("replay wrote rows: %+v", res)
	}
	if diff := cmp.Diff(before, tupleStates(t, pool)); diff != "" {
		t.Fatalf("replay of stale rows touched tuples; the stale filter must drop them before ON CONFLICT:\n%s", diff)
	}
	testenv.RequireTable(t, pool, testenv.Fold(evs))
}

func TestUpsertStoresValuesExactly(t *testing.T) {
	t.Parallel()
	pool, _ := testenv.Schema(t)
	ctx := context.Background()
	const mint = "So11111111111111111111111111111111111111112"
	ev, err := event.Decode("1714564800000-1", map[string]any{
		"type": "market", "mint": mint,
		"price_usd": "0.000000000012345678901234567890123", "market_cap_usd": "1e+21", "liquidity_usd": "-.5",
	})
	if err != nil {
		t.Fatal(err)
	}
	r := store.Row{Mint: mint}
	r.Apply(&ev)
	if _, err := store.Upsert(ctx, pool, []store.Row{r}); err != nil {
		t.Fatal(err)
	}
	var price, mcap, liq string
	var vol *string
	var version string
	if err := pool.QueryRow(ctx, "SELECT price_usd::text, market_cap_usd::text, liquidity_usd::text, volume_24h_usd::text, tokensync_stream_id(market_version) FROM tokens").
		Scan(&price, &mcap, &liq, &vol, &version); err != nil {
		t.Fatal(err)
	}
	if price != "0.000000000012345678901234567890123" || mcap != "1000000000000000000000" || liq != "-0.5" || vol != nil || version != "1714564800000-1" {
		t.Fatalf("stored %s %s %s %v %s", price, mcap, liq, vol, version)
	}
}

// TestMergeProperty is the correctness contract: random event sequences cut
// at random flush boundaries, with duplicates and out-of-order redelivery,
// flushed by 1 to 3 replicas at once, always give the in-order fold.
func TestMergeProperty(t *testing.T) {
	t.Parallel()
	pool, _ := testenv.Schema(t)
	ctx := context.Background()
	cases := 60
	if testing.Short() {
		cases = 15
	}
	for c := range cases {
		seed := uint64(c + 1)
		rng := rand.New(rand.NewPCG(seed, 2))
		evs := events(t, seed, 20+rng.IntN(200), 1+rng.IntN(12))
		replicas := 1 + rng.IntN(3)

		// Every event goes to some replica, some to several (a claim after a
		// stall), and some twice (a replay); each replica sees its share in a
		// shuffled order and flushes at random boundaries.
		shares := make([][]event.Event, replicas)
		for _, ev := range evs {
			r := rng.IntN(replicas)
			shares[r] = append(shares[r], ev)
			if rng.IntN(5) == 0 {
				r = rng.IntN(replicas)
				shares[r] = append(shares[r], ev)
			}
		}
		for _, s := range shares {
			// Mostly in order, as a stream is read; a few swaps model replays.
			for range len(s) / 4 {
				i, j := rng.IntN(len(s)), rng.IntN(len(s))
				s[i], s[j] = s[j], s[i]
			}
		}
		if _, err := pool.Exec(ctx, "TRUNCATE tokens"); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for r, s := range shares {
			boundaries := rand.New(rand.NewPCG(seed, uint64(r)))
			wg.Add(1)
			go func() {
				defer wg.Done()
				for len(s) > 0 {
					n := 1 + boundaries.IntN(len(s))
					if _, err := store.Upsert(ctx, pool, coalesce(s[:n])); err != nil {
						t.Errorf("case %d: %v", c, err)
						return
					}
					s = s[n:]
				}
			}()
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		testenv.RequireTable(t, pool, testenv.Fold(evs))
	}
}

func TestUpsertManyRowsInOneStatement(t *testing.T) {
	t.Parallel()
	pool, _ := testenv.Schema(t)
	// More rows × columns than the 65,535 bind parameters a VALUES list allows.
	evs := events(t, 7, 30_000, 20_000)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rows := coalesce(evs)
	res, err := store.Upsert(ctx, pool, rows)
	if err != nil {
		t.Fatal(err)
	}
	if res.Written != len(rows) {
		t.Fatalf("wrote %d of %d rows", res.Written, len(rows))
	}
	testenv.RequireTable(t, pool, testenv.Fold(evs))
}

// TestUpsertIsolatingFindsBadRows: a row PostgreSQL refuses (here a price too
// large for a column an operator narrowed) is set apart; the others commit.
func TestUpsertIsolatingFindsBadRows(t *testing.T) {
	t.Parallel()
	pool, _ := testenv.Schema(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, "ALTER TABLE tokens ALTER COLUMN price_usd TYPE numeric(12,2)"); err != nil {
		t.Fatal(err)
	}
	evs := events(t, 11, 600, 200)
	last := map[string]int{} // newest market event per mint
	for i := range evs {
		if evs[i].Type == event.TypeMarket {
			evs[i].PriceUSD = "12.5"
			last[evs[i].Mint] = i
		}
	}
	bad := 0
	for _, i := range last {
		if bad++; bad > 3 {
			break
		}
		evs[i].PriceUSD = "1e20" // numeric field overflow
	}
	rows := coalesce(evs)
	res, rejected, err := store.UpsertIsolating(ctx, pool, rows)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rejected {
		if !store.IsDataError(r.Err) {
			t.Errorf("rejected %s for a non-data error %v", r.Mint, r.Err)
		}
		got = append(got, r.Mint)
	}
	// A bad mint is rejected only if its newest market event in the window was the bad one.
	want := map[string]bool{}
	for _, r := range rows {
		if r.Market.PriceUSD == "1e20" {
			want[r.Mint] = true
		}
	}
	if len(got) != len(want) || len(want) == 0 {
		t.Fatalf("rejected %v, want the %d rows holding 1e20", got, len(want))
	}
	for _, m := range got {
		if !want[m] {
			t.Fatalf("rejected good row %s", m)
		}
	}
	if res.Written != len(rows)-len(want) {
		t.Fatalf("wrote %d rows, want %d", res.Written, len(rows)-len(want))
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM tokens").Scan(&n); err != nil || n != res.Written {
		t.Fatalf("table holds %d rows (%v), want %d", n, err, res.Written)
	}
}
