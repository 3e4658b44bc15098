package consumer

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/tokensync/tokensync/event"
	"github.com/tokensync/tokensync/internal/testenv"
	"github.com/tokensync/tokensync/producer"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// pgxpool and go-redis keep background goroutines until closed;
		// tests close them in Cleanup, which runs after this check for
		// parallel tests' shared pools.
		goleak.IgnoreTopFunction("github.com/jackc/pgx/v5/pgxpool.(*Pool).backgroundHealthCheck"),
	)
}

type bundle struct {
	rdb    *redis.Client
	pool   *pgxpool.Pool
	dbURL  string
	stream string
	group  string
}

func setup(t *testing.T) *bundle {
	t.Helper()
	pool, dbURL := testenv.Schema(t)
	rdb, prefix := testenv.Redis(t)
	return &bundle{rdb: rdb, pool: pool, dbURL: dbURL, stream: prefix + "events", group: "tokensync"}
}

func (b *bundle) config(t *testing.T, name string) Config {
	return Config{
		Stream:        b.stream,
		Group:         b.group,
		Consumer:      name,
		FlushInterval: 200 * time.Millisecond,
		RetryMin:      10 * time.Millisecond,
		RetryMax:      200 * time.Millisecond,
		ReadBlock:     100 * time.Millisecond,
		Logger:        zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel),
	}
}

// running is a consumer started in the background.
type running struct {
	c      *Consumer
	cancel context.CancelFunc
	done   chan error

	mu      sync.Mutex
	flushes []FlushInfo
	stopped sync.Once
}

func (b *bundle) start(t *testing.T, cfg Config) *running {
	t.Helper()
	r := &running{done: make(chan error, 1)}
	cfg.OnFlush = func(f FlushInfo) {
		r.mu.Lock()
		r.flushes = append(r.flushes, f)
		r.mu.Unlock()
	}
	c, err := New(b.rdb, b.pool, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.c, r.cancel = c, cancel
	go func() { r.done <- c.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *running) stop(t *testing.T) {
	t.Helper()
	r.stopped.Do(func() {
		r.cancel()
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("Run returned %v", err)
			}
		case <-time.After(time.Minute):
			t.Fatal("Run did not return within a minute of cancellation")
		}
	})
}

func (b *bundle) waitDrained(t *testing.T, timeout time.Duration) {
	t.Helper()
	testenv.WaitDrained(t, b.rdb, b.stream, b.group, timeout)
}

func (b *bundle) streamEvents(t *testing.T) []event.Event {
	t.Helper()
	evs, _ := testenv.StreamEvents(t, b.rdb, b.stream)
	return evs
}

// logTransactions records the transaction of every upsert statement (an
// INSERT … ON CONFLICT fires INSERT statement triggers once, rows or not) on
// tokens, so the test can count PostgreSQL transactions, not just trust ours.
func (b *bundle) logTransactions(t *testing.T) func() (statements, transactions int) {
	t.Helper()
	ctx := context.Background()
	for _, q := range []string{
		`CREATE TABLE tx_log (txid bigint NOT NULL)`,
		`CREATE FUNCTION log_tx() RETURNS trigger LANGUAGE plpgsql AS $$
		 BEGIN INSERT INTO tx_log VALUES (txid_current()); RETURN NULL; END $$`,
		`CREATE TRIGGER log_tx AFTER INSERT ON tokens FOR EACH STATEMENT EXECUTE FUNCTION log_tx()`,
	} {
		if _, err := b.pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	return func() (int, int) {
		var s, tx int
		if err := b.pool.QueryRow(ctx, "SELECT count(*), count(DISTINCT txid) FROM tx_log").Scan(&s, &tx); err != nil {
			t.Fatal(err)
		}
		return s, tx
	}
}

func (b *bundle) requirePendingNone(t *testing.T) {
	t.Helper()
	testenv.RequireNothingPending(t, b.rdb, b.stream, b.group)
}

// TestEndToEnd drives the whole path: a producer appends 100,000 events for
// 5,000 Zipf-skewed mints while three replicas consume, flushing on time and
// on size. The table must equal the in-order fold, nothing may stay pending,
// and PostgreSQL must have seen exactly one transaction per non-empty flush.
func TestEndToEnd(t *testing.T) {
	b := setup(t)
	countTx := b.logTransactions(t)
	const total, mints = 100_000, 5_000
	if testing.Short() {
		t.Skip("end-to-end run skipped in -short mode")
	}
	var replicas []*running
	for i := range 3 {
		cfg := b.config(t, fmt.Sprintf("replica-%d", i))
		cfg.MaxBatchMints = 1500 // some flushes by size, some by time
		replicas = append(replicas, b.start(t, cfg))
	}

	p, err := producer.New(b.rdb, producer.Config{Stream: b.stream})
	if err != nil {
		t.Fatal(err)
	}
	g, err := producer.NewGenerator(producer.Workload{Mints: mints, Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for sent := 0; sent < total; {
		n := min(2000, total-sent)
		evs := make([]event.Event, n)
		for i := range evs {
			evs[i] = g.Next()
		}
		if _, err := p.Publish(ctx, evs); err != nil {
			t.Fatal(err)
		}
		sent += n
		time.Sleep(5 * time.Millisecond) // spread production over several windows
	}
	b.waitDrained(t, 2*time.Minute)
	for _, r := range replicas {
		r.stop(t)
	}

	evs := b.streamEvents(t)
	if len(evs) != total {
		t.Fatalf("stream holds %d events, produced %d", len(evs), total)
	}
	want := testenv.Fold(evs)
	if len(want) < mints/2 {
		t.Fatalf("workload touched only %d mints", len(want))
	}
	testenv.RequireTable(t, b.pool, want)
	b.requirePendingNone(t)

	var nonEmpty, applied, txs int64
	for _, r := range replicas {
		r.mu.Lock()
		for _, f := range r.flushes {
			if f.Mints > 0 {
				nonEmpty++
			}
		}
		r.mu.Unlock()
		s := r.c.Stats()
		applied += s.Applied
		txs += s.Transactions
	}
	if applied < total {
		t.Errorf("replicas applied %d events, want at least %d", applied, total)
	}
	statements, transactions := countTx()
	t.Logf("%d events, %d mints, %d non-empty flushes, %d transactions seen by PostgreSQL", total, len(want), nonEmpty, transactions)
	if int64(transactions) != nonEmpty || int64(statements) != nonEmpty || txs != nonEmpty {
		t.Fatalf("PostgreSQL saw %d transactions and %d statements, consumers counted %d; want both = %d non-empty flushes",
			transactions, statements, txs, nonEmpty)
	}
	if nonEmpty < 6 {
		t.Fatalf("only %d flushes: the run did not exercise flush boundaries", nonEmpty)
	}
}

// TestEndToEndPlainXADD writes with redis-cli, no project code on the
// producing side, as a producer in another language would.
func TestEndToEndPlainXADD(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end run skipped in -short mode")
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Skip("redis-cli not installed")
	}
	b := setup(t)
	const total = 20_000
	g, err := producer.NewGenerator(producer.Workload{Mints: 1000, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	var cmds strings.Builder
	for i := range total {
		ev := g.Next()
		fmt.Fprintf(&cmds, "XADD %s * type %s mint %s", b.stream, ev.Type, ev.Mint)
		field := func(k, v string) {
			if v != "" {
				fmt.Fprintf(&cmds, " %s %s", k, strconv.Quote(v))
			}
		}
		tm := func(k string, v time.Time) {
			if v.IsZero() {
				return
			}
			if i%2 == 0 { // both time formats of the contract
				field(k, strconv.FormatInt(v.UnixMilli(), 10))
			} else {
				field(k, v.Format(time.RFC3339Nano))
			}
		}
		tm("ts", ev.TS.Truncate(time.Millisecond))
		field("name", ev.Name)
		field("symbol", ev.Symbol)
		field("uri", ev.URI)
		field("creator", ev.Creator)
		tm("created_at", ev.CreatedAt.Truncate(time.Millisecond))
		field("pool", ev.Pool)
		field("dex", ev.Dex)
		tm("migrated_at", ev.MigratedAt.Truncate(time.Millisecond))
		field("price_usd", ev.PriceUSD)
		field("market_cap_usd", ev.MarketCapUSD)
		field("liquidity_usd", ev.LiquidityUSD)
		field("volume_24h_usd", ev.Volume24hUSD)
		cmds.WriteString("\n")
	}
	opt, _ := redis.ParseURL(testenv.RedisURL())
	host, port, _ := strings.Cut(opt.Addr, ":")
	r := b.start(t, b.config(t, "plain"))
	cmd := exec.Command(cli, "-h", host, "-p", port, "-n", strconv.Itoa(opt.DB))
	cmd.Stdin = strings.NewReader(cmds.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("redis-cli: %v\n%s", err, out)
	}
	b.waitDrained(t, time.Minute)
	r.stop(t)
	evs := b.streamEvents(t)
	if len(evs) != total {
		t.Fatalf("stream holds %d valid events, want %d", len(evs), total)
	}
	testenv.RequireTable(t, b.pool, testenv.Fold(evs))
	b.requirePendingNone(t)
}

// TestMalformedEntriesAreDeadLettered: bad input is reported with its ID,
// copied to <stream>:dead and acknowledged; the good entries around it apply.
func TestMalformedEntriesAreDeadLettered(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	const mint = "So11111111111111111111111111111111111111112"
	bad := []map[string]any{
		{"mint": mint},                                        // missing type
		{"type": "trade", "mint": mint},                       // unknown type
		{"type": "pool", "mint": "0xdeadbeef"},                // bad mint
		{"type": "token", "mint": mint, "created_at": "soon"}, // bad time
		{"type": "market", "mint": mint, "price_usd": "12,5"}, // bad number
	}
	add := func(v map[string]any) string {
		id, err := b.rdb.XAdd(ctx, &redis.XAddArgs{Stream: b.stream, Values: v}).Result()
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	add(map[string]any{"type": "market", "mint": mint, "price_usd": "1.5"})
	badIDs := map[string]map[string]any{}
	for _, v := range bad {
		badIDs[add(v)] = v
	}
	add(map[string]any{"type": "market", "mint": mint, "price_usd": "2.5"})

	r := b.start(t, b.config(t, "c1"))
	b.waitDrained(t, 30*time.Second)
	r.stop(t)

	testenv.RequireTable(t, b.pool, testenv.Fold(b.streamEvents(t)))
	b.requirePendingNone(t)
	dead, err := b.rdb.XRange(ctx, event.DeadLetterStream(b.stream), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != len(bad) {
		t.Fatalf("dead-letter stream holds %d entries, want %d", len(dead), len(bad))
	}
	for _, d := range dead {
		id, _ := d.Values[event.DeadFieldID].(string)
		orig, ok := badIDs[id]
		if !ok {
			t.Fatalf("dead letter for unexpected entry %q: %v", id, d.Values)
		}
		for k, v := range orig {
			if d.Values[k] != v {
				t.Errorf("dead letter %s: field %s = %v, want the original %v", id, k, d.Values[k], v)
			}
		}
		if d.Values[event.DeadFieldReason] == "" || d.Values[event.DeadFieldGroup] != b.group || d.Values[event.DeadFieldConsumer] != "c1" {
			t.Errorf("dead letter %s lacks reason, group or consumer: %v", id, d.Values)
		}
	}
	if s := r.c.Stats(); s.Dead != int64(len(bad)) {
		t.Errorf("Stats().Dead = %d, want %d", s.Dead, len(bad))
	}
}

// TestReplaysOwnPendingEntries: entries a previous run under the same name
// read but never acknowledged are applied first at the next start.
func TestReplaysOwnPendingEntries(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	g, _ := producer.NewGenerator(producer.Workload{Mints: 50, Seed: 3})
	p, _ := producer.New(b.rdb, producer.Config{Stream: b.stream})
	evs := make([]event.Event, 500)
	for i := range evs {
		evs[i] = g.Next()
	}
	if _, err := p.Publish(ctx, evs); err != nil {
		t.Fatal(err)
	}
	// A crashed run: it read everything into its pending list, then died.
	if err := b.rdb.XGroupCreateMkStream(ctx, b.stream, b.group, "0").Err(); err != nil {
		t.Fatal(err)
	}
	if err := b.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: b.group, Consumer: "pod-a", Streams: []string{b.stream, ">"}}).Err(); err != nil {
		t.Fatal(err)
	}
	r := b.start(t, b.config(t, "pod-a"))
	b.waitDrained(t, 30*time.Second)
	r.stop(t)
	if s := r.c.Stats(); s.Replayed != int64(len(evs)) {
		t.Errorf("Stats().Replayed = %d, want %d", s.Replayed, len(evs))
	}
	testenv.RequireTable(t, b.pool, testenv.Fold(b.streamEvents(t)))
	b.requirePendingNone(t)
}

// TestUrgentTypeFlushesEarly: with a one-hour window, a migration is written
// promptly, with the rest of its mint's window; other mints keep coalescing.
func TestUrgentTypeFlushesEarly(t *testing.T) {
	b := setup(t)
	cfg := b.config(t, "u")
	cfg.FlushInterval = time.Hour
	r := b.start(t, cfg)
	const urgent, calm = "So11111111111111111111111111111111111111112", "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
	ctx := context.Background()
	for _, v := range [][]any{
		{"type", "market", "mint", calm, "price_usd", "1"},
		{"type", "market", "mint", urgent, "price_usd", "3"},
		{"type", "migration", "mint", urgent, "pool", "P", "dex", "raydium", "migrated_at", "1714564800000"},
	} {
		if err := b.rdb.XAdd(ctx, &redis.XAddArgs{Stream: b.stream, Values: v}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var dex, price string
		err := b.pool.QueryRow(ctx, "SELECT coalesce(dex, ''), price_usd::text FROM tokens WHERE mint = $1", urgent).Scan(&dex, &price)
		if err == nil && dex == "raydium" && price == "3" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("migration not written 30s into a one-hour window (last error %v)", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The urgent mint's entries are acknowledged; the calm one still waits
	// in the window, unwritten and pending.
	for {
		p, err := b.rdb.XPending(ctx, b.stream, b.group).Result()
		if err != nil {
			t.Fatal(err)
		}
		if p.Count == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d entries pending, want only the calm mint's", p.Count)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var n int
	if err := b.pool.QueryRow(ctx, "SELECT count(*) FROM tokens WHERE mint = $1", calm).Scan(&n); err != nil || n != 0 {
		t.Fatalf("calm mint written early (%d rows, %v)", n, err)
	}
	r.stop(t) // the shutdown flush writes it
	testenv.RequireTable(t, b.pool, testenv.Fold(b.streamEvents(t)))
	b.requirePendingNone(t)
}

// TestShutdownFlushesBufferedEvents: cancelling Run writes and acknowledges
// what the open window holds before Run returns.
func TestShutdownFlushesBufferedEvents(t *testing.T) {
	b := setup(t)
	cfg := b.config(t, "s")
	cfg.FlushInterval = time.Hour
	cfg.UrgentTypes = []event.Type{}
	r := b.start(t, cfg)
	g, _ := producer.NewGenerator(producer.Workload{Mints: 100, Seed: 9})
	p, _ := producer.New(b.rdb, producer.Config{Stream: b.stream})
	evs := make([]event.Event, 1000)
	for i := range evs {
		evs[i] = g.Next()
	}
	ctx := context.Background()
	if _, err := p.Publish(ctx, evs); err != nil {
		t.Fatal(err)
	}
	// Wait until everything was read (delivered, not yet acknowledged).
	deadline := time.Now().Add(30 * time.Second)
	for r.c.Stats().Read < int64(len(evs)) {
		if time.Now().After(deadline) {
			t.Fatalf("read %d of %d", r.c.Stats().Read, len(evs))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := r.c.Stats().Flushes; n != 0 {
		t.Fatalf("%d flushes before shutdown in a one-hour window", n)
	}
	r.stop(t)
	if s := r.c.Stats(); s.Flushes != 1 || s.Acked != int64(len(evs)) {
		t.Fatalf("after shutdown: %+v, want one flush acknowledging %d entries", s, len(evs))
	}
	testenv.RequireTable(t, b.pool, testenv.Fold(b.streamEvents(t)))
	b.requirePendingNone(t)
}

func TestConfigValidation(t *testing.T) {
	b := setup(t)
	for _, cfg := range []Config{
		{StartID: "yesterday"},
		{FlushInterval: -time.Second},
		{UrgentTypes: []event.Type{"trade"}},
		{ReadBlock: time.Microsecond},
		{RetryMin: time.Second, RetryMax: time.Millisecond},
	} {
		if _, err := New(b.rdb, b.pool, cfg); err == nil {
			t.Errorf("New(%+v) accepted a bad config", cfg)
		}
	}
}
