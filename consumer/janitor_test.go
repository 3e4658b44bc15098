package consumer

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tokensync/tokensync/internal/testenv"
)

// TestTrimKeepsWhatGroupsNeed: with a second, lagging group, trimming never
// removes an entry that group has not read or not acknowledged; retained
// history is kept; a stream without groups is never trimmed.
func TestTrimKeepsWhatGroupsNeed(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	b.publish(t, 4, 1000, 100)
	all, _ := b.rdb.XRange(ctx, b.stream, "-", "+").Result()
	id := func(i int) string { return all[i].ID }

	cfg := b.config(t, "trimmer")
	cfg.Retain = time.Millisecond
	c, err := New(b.rdb, b.pool, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := c.Trim(ctx); err != nil || n != 0 {
		t.Fatalf("Trim without groups = %d, %v; want nothing trimmed", n, err)
	}

	// Our group has applied everything.
	r := b.start(t, cfg)
	b.waitDrained(t, 30*time.Second)
	r.stop(t)

	// The lagging group read 300 entries and acknowledged the first 100.
	if err := b.rdb.XGroupCreate(ctx, b.stream, "audit", "0").Err(); err != nil {
		t.Fatal(err)
	}
	if err := b.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "audit", Consumer: "a1", Streams: []string{b.stream, ">"}, Count: 300}).Err(); err != nil {
		t.Fatal(err)
	}
	ack := make([]string, 100)
	for i := range ack {
		ack[i] = id(i)
	}
	b.rdb.XAck(ctx, b.stream, "audit", ack...)

	first := func() string {
		m, err := b.rdb.XRangeN(ctx, b.stream, "-", "+", 1).Result()
		if err != nil || len(m) == 0 {
			t.Fatalf("stream empty or unreadable: %v", err)
		}
		return m[0].ID
	}
	if _, err := c.Trim(ctx); err != nil {
		t.Fatal(err)
	}
	if got := first(); got != id(100) {
		t.Fatalf("after trim the stream starts at %s, want the audit group's oldest pending %s", got, id(100))
	}

	// Acknowledging the rest leaves the unread tail (after entry 299) needed.
	ack = ack[:0]
	for i := 100; i < 300; i++ {
		ack = append(ack, id(i))
	}
	b.rdb.XAck(ctx, b.stream, "audit", ack...)
	if _, err := c.Trim(ctx); err != nil {
		t.Fatal(err)
	}
	if got := first(); got != id(299) {
		t.Fatalf("after trim the stream starts at %s, want the last delivered %s", got, id(299))
	}
	if n := b.rdb.XLen(ctx, b.stream).Val(); n != 701 {
		t.Fatalf("XLEN = %d, want 701", n)
	}

	// With an hour of retention nothing this recent goes.
	cfg.Retain = time.Hour
	c2, _ := New(b.rdb, b.pool, cfg)
	b.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "audit", Consumer: "a1", Streams: []string{b.stream, ">"}})
	b.rdb.XGroupDestroy(ctx, b.stream, "audit")
	if n, err := c2.Trim(ctx); err != nil || n != 0 {
		t.Fatalf("Trim inside the retention = %d, %v; want 0", n, err)
	}
	testenv.RequireNothingPending(t, b.rdb, b.stream, b.group)
}
