package consumer

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tokensync/tokensync/event"
	"github.com/tokensync/tokensync/internal/testenv"
)

// TestReplayRestoresAfterBackup: after PostgreSQL lost recent writes (a
// restore from an older backup), replaying the retained range brings every
// row forward; replaying again changes nothing.
func TestReplayRestoresAfterBackup(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	b.publish(t, 12, 3000, 300)
	r := b.start(t, b.config(t, "c"))
	b.waitDrained(t, 30*time.Second)
	r.stop(t)
	want := testenv.Fold(b.streamEvents(t))

	// The "backup": half the rows gone, the others moved back to an older state.
	if _, err := b.pool.Exec(ctx, `DELETE FROM tokens WHERE mint < 'M'`); err != nil {
		t.Fatal(err)
	}
	if _, err := b.pool.Exec(ctx, `UPDATE tokens SET price_usd = 0, market_version = tokensync_version('1-0') WHERE market_version IS NOT NULL`); err != nil {
		t.Fatal(err)
	}
	st, err := Replay(ctx, b.rdb, b.pool, ReplayConfig{Stream: b.stream, BatchMints: 100})
	if err != nil {
		t.Fatal(err)
	}
	if st.Entries != 3000 || st.Statements < 3 {
		t.Fatalf("replay stats %+v", st)
	}
	testenv.RequireTable(t, b.pool, want)
	st, err = Replay(ctx, b.rdb, b.pool, ReplayConfig{Stream: b.stream, From: "0", To: "+"})
	if err != nil || st.Written != 0 {
		t.Fatalf("second replay wrote %d rows (%v), want 0", st.Written, err)
	}
}

// TestRequeueDeadLetters: a fixed dead letter goes back on the stream and is
// applied; one still malformed stays dead.
func TestRequeueDeadLetters(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	const mint = "So11111111111111111111111111111111111111112"
	for _, v := range []map[string]any{
		{"type": "market", "mint": mint, "price_usd": "12,5"},
		{"type": "trade", "mint": mint},
	} {
		if err := b.rdb.XAdd(ctx, &redis.XAddArgs{Stream: b.stream, Values: v}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	r := b.start(t, b.config(t, "c"))
	b.waitDrained(t, 30*time.Second)
	letters, err := ListDead(ctx, b.rdb, b.stream, "-", 10)
	if err != nil || len(letters) != 2 {
		t.Fatalf("ListDead = %d letters, %v", len(letters), err)
	}
	if letters[0].Fields["price_usd"] != "12,5" || letters[0].Reason == "" || letters[0].Original == "" || letters[0].Consumer != "c" {
		t.Fatalf("dead letter %+v", letters[0])
	}
	if _, err := Requeue(ctx, b.rdb, b.stream, []string{letters[1].ID}, nil); err == nil {
		t.Fatal("requeued an entry that is still malformed")
	}
	ids, err := Requeue(ctx, b.rdb, b.stream, []string{letters[0].ID}, map[string]string{"price_usd": "12.5"})
	if err != nil || len(ids) != 1 {
		t.Fatalf("Requeue = %v, %v", ids, err)
	}
	b.waitDrained(t, 30*time.Second)
	r.stop(t)
	var price string
	if err := b.pool.QueryRow(ctx, "SELECT price_usd::text FROM tokens WHERE mint = $1", mint).Scan(&price); err != nil || price != "12.5" {
		t.Fatalf("price %q (%v), want 12.5", price, err)
	}
	if n := b.rdb.XLen(ctx, event.DeadLetterStream(b.stream)).Val(); n != 1 {
		t.Fatalf("dead-letter stream holds %d, want the 1 still malformed", n)
	}
}
