package consumer

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tokensync/tokensync/event"
	"github.com/tokensync/tokensync/internal/testenv"
	"github.com/tokensync/tokensync/producer"
)

func (b *bundle) publish(t *testing.T, seed uint64, n, mints int) []event.Event {
	t.Helper()
	g, err := producer.NewGenerator(producer.Workload{Mints: mints, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := producer.New(b.rdb, producer.Config{Stream: b.stream})
	evs := make([]event.Event, n)
	for i := range evs {
		evs[i] = g.Next()
	}
	if _, err := p.Publish(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	return evs
}

// ghostRead makes a consumer that never beats read everything new: a replica
// that died right after XREADGROUP.
func (b *bundle) ghostRead(t *testing.T, name string) []redis.XMessage {
	t.Helper()
	ctx := context.Background()
	if err := b.rdb.XGroupCreateMkStream(ctx, b.stream, b.group, "0").Err(); err != nil && !redis.HasErrorPrefix(err, "BUSYGROUP") {
		t.Fatal(err)
	}
	res, err := b.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: b.group, Consumer: name, Streams: []string{b.stream, ">"}}).Result()
	if err != nil {
		t.Fatal(err)
	}
	return res[0].Messages
}

func (b *bundle) pendingOf(t *testing.T) map[string]int64 {
	t.Helper()
	p, err := b.rdb.XPending(context.Background(), b.stream, b.group).Result()
	if err != nil {
		t.Fatal(err)
	}
	return p.Consumers
}

// TestTakeoverOfDeadConsumer: entries pending on a consumer without a
// heartbeat are claimed, applied and acknowledged by a live one; entries
// deleted meanwhile are acknowledged away; the dead consumer, then empty, is
// removed from the group.
func TestTakeoverOfDeadConsumer(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	b.publish(t, 5, 300, 40)
	msgs := b.ghostRead(t, "dead-pod")
	if err := b.rdb.XDel(ctx, b.stream, msgs[0].ID, msgs[1].ID).Err(); err != nil {
		t.Fatal(err)
	}
	cfg := b.config(t, "live-pod")
	cfg.ClaimIdle = 500 * time.Millisecond
	cfg.ClaimInterval = 100 * time.Millisecond
	cfg.TrimInterval = 100 * time.Millisecond
	cfg.Retain = time.Hour
	r := b.start(t, cfg)
	b.waitDrained(t, 30*time.Second)

	// The janitor forgets the dead consumer once it holds nothing.
	deadline := time.Now().Add(30 * time.Second)
	for {
		cons, err := b.rdb.XInfoConsumers(ctx, b.stream, b.group).Result()
		if err != nil {
			t.Fatal(err)
		}
		gone := true
		for _, c := range cons {
			gone = gone && c.Name != "dead-pod"
		}
		if gone {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dead-pod still in the group: %+v", cons)
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.stop(t)
	if s := r.c.Stats(); s.Claimed != int64(len(msgs)-2) {
		t.Errorf("claimed %d entries, want %d (2 were deleted)", s.Claimed, len(msgs)-2)
	}
	testenv.RequireTable(t, b.pool, testenv.Fold(b.streamEvents(t)))
	b.requirePendingNone(t)
}

// TestLiveConsumerKeepsEntries: a live consumer holding a five-minute window
// keeps its entries while another replica claims every 100ms with a
// one-second idle threshold: liveness is the heartbeat, not the window.
func TestLiveConsumerKeepsEntries(t *testing.T) {
	if testing.Short() {
		t.Skip("waits several claim-idle periods")
	}
	b := setup(t)
	slow := b.config(t, "slow")
	slow.FlushInterval = 5 * time.Minute
	slow.UrgentTypes = []event.Type{}
	slow.ClaimIdle = time.Second
	s := b.start(t, slow)
	evs := b.publish(t, 8, 500, 50)
	deadline := time.Now().Add(30 * time.Second)
	for s.c.Stats().Read < int64(len(evs)) {
		if time.Now().After(deadline) {
			t.Fatal("slow consumer did not read the entries")
		}
		time.Sleep(10 * time.Millisecond)
	}
	eager := b.config(t, "eager")
	eager.ClaimIdle = time.Second
	eager.ClaimInterval = 100 * time.Millisecond
	e := b.start(t, eager)
	// Wait for a few claim-idle periods' worth of claim passes.
	for e.c.Stats().ClaimRuns < 40 {
		time.Sleep(20 * time.Millisecond)
	}
	if got := b.pendingOf(t); got["slow"] != int64(len(evs)) || got["eager"] != 0 {
		t.Fatalf("pending by consumer %v, want all %d on slow", got, len(evs))
	}
	if n := e.c.Stats().Claimed; n != 0 {
		t.Fatalf("eager claimed %d entries from a live consumer", n)
	}
	if n := s.c.Stats().Flushes; n != 0 {
		t.Fatalf("slow flushed %d times inside its five-minute window", n)
	}
	s.stop(t) // its shutdown flush applies and acknowledges everything
	b.waitDrained(t, 30*time.Second)
	e.stop(t)
	testenv.RequireTable(t, b.pool, testenv.Fold(b.streamEvents(t)))
}

// TestMaxDeliveries: an entry delivered too often is dead-lettered with its
// delivery count, whether it is claimed from a dead consumer or replayed by
// its own consumer after restarts.
func TestMaxDeliveries(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	b.publish(t, 2, 4, 2)
	msgs := b.ghostRead(t, "crashy")
	// As if every consumer that read them crashed: 20 deliveries each.
	for _, m := range msgs[:2] {
		if err := b.rdb.Do(ctx, "XCLAIM", b.stream, b.group, "crashy", 0, m.ID, "RETRYCOUNT", 20).Err(); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range msgs[2:] {
		if err := b.rdb.Do(ctx, "XCLAIM", b.stream, b.group, "again", 0, m.ID, "RETRYCOUNT", 20).Err(); err != nil {
			t.Fatal(err)
		}
	}
	claimer := b.config(t, "claimer")
	claimer.ClaimIdle = 300 * time.Millisecond
	claimer.ClaimInterval = 50 * time.Millisecond
	r1 := b.start(t, claimer)
	r2 := b.start(t, b.config(t, "again")) // replays its own pending entries
	b.waitDrained(t, 30*time.Second)
	r1.stop(t)
	r2.stop(t)
	dead, err := b.rdb.XRange(ctx, event.DeadLetterStream(b.stream), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != len(msgs) {
		t.Fatalf("%d dead letters, want %d", len(dead), len(msgs))
	}
	for _, d := range dead {
		if d.Values[event.DeadFieldDeliveries] != "21" {
			t.Errorf("dead letter %v: want dead_deliveries 21", d.Values)
		}
	}
	if n, _ := b.pool.Exec(ctx, "SELECT 1 FROM tokens"); n.RowsAffected() != 0 {
		t.Fatalf("%d rows written from dead-lettered entries", n.RowsAffected())
	}
}

// TestRejectedRowIsDeadLettered: a value PostgreSQL refuses inside a window
// of good rows dead-letters only the entries of that mint; the rest commits
// and is acknowledged in the same flush.
func TestRejectedRowIsDeadLettered(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	if _, err := b.pool.Exec(ctx, "ALTER TABLE tokens ALTER COLUMN price_usd TYPE numeric(12,2)"); err != nil {
		t.Fatal(err)
	}
	const bad = "So11111111111111111111111111111111111111112"
	var good []event.Event
	for i, m := range []string{"4k3Dyjzvzp8eMZWUXbBCjEvwSkkk59S5iCNLY3QrkX6R", "7GCihgDB8fe6KNjn2MYtkzZcRjQy3t9GHdC8uHYmW2hr", "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"} {
		good = append(good, event.Event{Type: event.TypeMarket, Mint: m, PriceUSD: "1.50"}, event.Event{Type: event.TypeToken, Mint: m, Name: string(rune('A' + i))})
	}
	p, _ := producer.New(b.rdb, producer.Config{Stream: b.stream})
	badEvs := []event.Event{{Type: event.TypeToken, Mint: bad, Name: "Big"}, {Type: event.TypeMarket, Mint: bad, PriceUSD: "1e20"}}
	if _, err := p.Publish(ctx, append(append(good[:3:3], badEvs...), good[3:]...)); err != nil {
		t.Fatal(err)
	}
	r := b.start(t, b.config(t, "c"))
	b.waitDrained(t, 30*time.Second)
	r.stop(t)
	// The stream minus the bad mint's entries is what the table must hold.
	evs := b.streamEvents(t)
	var kept []event.Event
	for _, ev := range evs {
		if ev.Mint != bad {
			kept = append(kept, ev)
		}
	}
	testenv.RequireTable(t, b.pool, testenv.Fold(kept))
	b.requirePendingNone(t)
	dead, _ := b.rdb.XRange(ctx, event.DeadLetterStream(b.stream), "-", "+").Result()
	if len(dead) != 2 {
		t.Fatalf("%d dead letters, want the 2 entries of %s", len(dead), bad)
	}
	for _, d := range dead {
		if d.Values["mint"] != bad || d.Values[event.DeadFieldReason] == "" {
			t.Errorf("dead letter %v", d.Values)
		}
	}
	if s := r.c.Stats(); s.Rejected != 1 {
		t.Errorf("Stats().Rejected = %d, want 1", s.Rejected)
	}
}
