package bench

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/tokensync/tokensync/event"
	"github.com/tokensync/tokensync/internal/testenv"
)

func TestWorkloadShape(t *testing.T) {
	const n = 100_000
	w := NewWorkload(7, n)
	types := map[event.Type]int{}
	uses := map[string]int{}
	known := map[string]bool{}
	for i := range n {
		ev, err := w.Next()
		if err != nil {
			t.Fatal(err)
		}
		if err := ev.Validate(); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		types[ev.Type]++
		if i%newMintEvery == 0 {
			if ev.Type != event.TypeToken || known[ev.Mint] {
				t.Fatalf("event %d: want a token event for a new mint, got %s for %s", i, ev.Type, ev.Mint)
			}
			known[ev.Mint] = true
			continue
		}
		if ev.Type == event.TypeToken || !known[ev.Mint] {
			t.Fatalf("event %d: want an event for an existing mint, got %s for %s", i, ev.Type, ev.Mint)
		}
		uses[ev.Mint]++
	}
	if got := len(w.Mints()); got != n/newMintEvery {
		t.Fatalf("%d mints, want %d", got, n/newMintEvery)
	}
	for typ, want := range map[event.Type]float64{event.TypeToken: 0.10, event.TypeMarket: 0.85, event.TypePool: 0.03, event.TypeMigration: 0.02} {
		if got := float64(types[typ]) / n; got < want*0.9 || got > want*1.1 {
			t.Errorf("%s share %.3f, want about %.2f", typ, got, want)
		}
	}
	// Zipf by creation order: the first mint is the most popular.
	first := w.Mints()[0]
	for m, c := range uses {
		if c > uses[first] {
			t.Fatalf("mint %s drew %d events, more than the first mint's %d", m, c, uses[first])
		}
	}
}

func TestWorkloadRepeatable(t *testing.T) {
	a, b := NewWorkload(3, 1000), NewWorkload(3, 1000)
	for i := range 1000 {
		x, _ := a.Next()
		y, _ := b.Next()
		x.TS, y.TS, x.CreatedAt, y.CreatedAt, x.MigratedAt, y.MigratedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}
		if diff := cmp.Diff(x, y); diff != "" {
			t.Fatalf("event %d differs (-a +b):\n%s", i, diff)
		}
	}
}

// TestLatencies: events are matched to flushes by ID, not by order (an
// urgent flush commits a later event before earlier ones).
func TestLatencies(t *testing.T) {
	base := time.UnixMilli(1_000_000)
	id := func(ms uint64) event.ID { return event.ID{Ms: ms} }
	evs := []sent{{id: id(1_000_000)}, {id: id(1_000_100)}, {id: id(1_000_200), urgent: true}, {id: id(1_000_300)}, {id: id(1_000_400)}}
	flushes := []flushRecord{
		{at: base.Add(300 * time.Millisecond), ids: []event.ID{id(1_000_200)}},
		{at: base.Add(1000 * time.Millisecond), ids: []event.ID{id(1_000_000), id(1_000_100), id(1_000_300)}},
	}
	got := latencies(evs, flushes)
	want := Latency{Events: 4, P50: 700, P99: 1000, Max: 1000, Urgent: 1, UrgentP50: 100, UrgentP99: 100, UrgentMax: 100, Unmatched: 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("latencies (-want +got):\n%s", diff)
	}
}

func TestPercentile(t *testing.T) {
	v := make([]float64, 100)
	for i := range v {
		v[i] = float64(100 - i) // 100 … 1, unsorted
	}
	for p, want := range map[float64]float64{0.5: 50, 0.99: 99, 1: 100, 0.001: 1} {
		if got := percentile(v, p); got != want {
			t.Errorf("percentile(%v) = %v, want %v", p, got, want)
		}
	}
	if got := percentile(nil, 0.5); got != 0 {
		t.Errorf("percentile of nothing = %v", got)
	}
}

func TestWithDatabase(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:p@h:5432/tokensync?sslmode=disable": "postgres://u:p@h:5432/tokensync_bench?sslmode=disable",
		"postgresql://h/":                "postgresql://h/tokensync_bench",
		"host=h user=u dbname=tokensync": "host=h user=u dbname=tokensync dbname='tokensync_bench'",
	} {
		got, err := withDatabase(in, "tokensync_bench")
		if err != nil || got != want {
			t.Errorf("withDatabase(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestParseLSN(t *testing.T) {
	got, err := parseLSN("1/16B3748")
	if err != nil || got != 1<<32|0x16B3748 {
		t.Fatalf("parseLSN = %x, %v", got, err)
	}
	if _, err := parseLSN("nonsense"); err == nil {
		t.Fatal("parseLSN accepted nonsense")
	}
}

func TestCount(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -1234: "-1,234"} {
		if got := count(n); got != want {
			t.Errorf("count(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestTargets(t *testing.T) {
	pg := func(walOwn, upd, hot, xacts int64) *PGDelta {
		return &PGDelta{WALBytesOwn: walOwn, RowsUpdated: upd, HOTUpdated: hot, WriteXacts: xacts}
	}
	rep := &Report{Results: []Result{
		{Scenario: "ceiling-1", Events: 1000, EventsPerSec: 200},
		{Scenario: "drain-1", Events: 1000, EventsPerSec: 160, PG: pg(10_000, 100, 96, 4), Flushes: 4, Transactions: 4},
		{Scenario: "drain-2", Events: 1000, EventsPerSec: 150, PG: pg(20_000, 100, 90, 5), Flushes: 4, Transactions: 4},
		{Scenario: "direct", Events: 100, PG: pg(50_000, 0, 0, 100)},
		{Scenario: "steady-1s", FlushInterval: "1s", Latency: &Latency{Events: 10, P99: 1400, Urgent: 1, UrgentP99: 600}},
	}}
	got := map[string]string{}
	for _, tg := range targets(rep) {
		got[tg.Name] = tg.Result
	}
	want := map[string]string{
		"drain, 1 replica, against the read ceiling":     "PASS", // 80%
		"drain, 2 replicas faster than 1":                "FAIL",
		"WAL per event, drain-1 against direct":          "PASS", // 10 against 500 B
		"WAL per event, drain-2 against direct":          "PASS", // 20 against 500 B
		"HOT share of updates, drain-1":                  "PASS",
		"HOT share of updates, drain-2":                  "FAIL",
		"one transaction per non-empty flush, drain-1":   "PASS",
		"one transaction per non-empty flush, drain-2":   "FAIL", // 5 write transactions for 4 flushes
		"event→commit p99, steady-1s":                    "PASS",
		"urgent (migration) event→commit p99, steady-1s": "FAIL",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("targets (-want +got):\n%s", diff)
	}
}

// TestRunSmall runs every scenario at a tiny size against the local servers:
// the bench must work end to end, clean up after itself, and its
// correctness figures (not its speed) must hold.
func TestRunSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every scenario against the local servers")
	}
	opt, err := redis.ParseURL(testenv.RedisURL())
	if err != nil {
		t.Fatal(err)
	}
	prefix := testenv.Name("tokensync-bench-test-") + ":"
	cfg := Config{
		RedisOptions: opt, DatabaseURL: testenv.DatabaseURL(), Database: testenv.Name("tokensync_bench_test_"), KeyPrefix: prefix,
		Events: 3000, DirectSample: 200, ProduceEvents: 500,
		SteadyRate: 1000, SteadyDuration: time.Second, SteadyIntervals: []time.Duration{200 * time.Millisecond},
		Progress: io.Discard,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range rep.Results {
		names = append(names, r.Scenario)
	}
	wantNames := []string{"produce-raw", "produce-publish", "ceiling-1", "ceiling-2", "drain-1", "drain-2", "buffer",
		"replay-first", "replay-again", "replay-vacuumed", "direct", "steady-200ms"}
	if diff := cmp.Diff(wantNames, names); diff != "" {
		t.Fatalf("scenarios (-want +got):\n%s", diff)
	}
	for _, r := range rep.Results {
		switch {
		case strings.HasPrefix(r.Scenario, "drain-"), r.Scenario == "buffer", strings.HasPrefix(r.Scenario, "ceiling-"):
			if r.Events != 3000 {
				t.Errorf("%s: %d events, want 3000", r.Scenario, r.Events)
			}
		case r.Scenario == "replay-again" || r.Scenario == "replay-vacuumed":
			if r.PG.WriteXacts != 0 || r.PG.RowsWritten() != 0 {
				t.Errorf("%s wrote: %+v", r.Scenario, r.PG)
			}
		case r.Scenario == "steady-200ms":
			if r.Latency == nil || r.Latency.Events != 1000 || r.Latency.Unmatched != 0 {
				t.Errorf("steady latency %+v, want all 1000 events matched to flushes", r.Latency)
			}
		}
		if r.PG != nil && r.Flushes > 0 && r.Transactions != r.Flushes {
			t.Errorf("%s: %d transactions for %d flushes", r.Scenario, r.Transactions, r.Flushes)
		}
	}
	var sb strings.Builder
	if err := rep.WriteTable(&sb); err != nil || !strings.Contains(sb.String(), "| drain-1 |") {
		t.Errorf("table: %v\n%s", err, sb.String())
	}
	// Nothing left behind.
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	if keys, err := rdb.Keys(ctx, prefix+"*").Result(); err != nil || len(keys) > 0 {
		t.Errorf("keys left: %v, %v", keys, err)
	}
}
