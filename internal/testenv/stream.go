package testenv

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tokensync/tokensync/event"
)

// WaitDrained polls until group has read every entry of stream and holds
// none pending.
func WaitDrained(t testing.TB, rdb redis.UniversalClient, stream, group string, timeout time.Duration) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(timeout)
	for {
		groups, err := rdb.XInfoGroups(ctx, stream).Result()
		if err != nil && time.Now().After(deadline) {
			t.Fatalf("XINFO GROUPS %s: %v", stream, err)
		}
		found := false
		for _, g := range groups {
			if g.Name != group {
				continue
			}
			found = true
			if g.Lag == 0 && g.Pending == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not drained after %v: lag %d, pending %d", group, timeout, g.Lag, g.Pending)
			}
		}
		if !found && time.Now().After(deadline) {
			t.Fatalf("group %s missing after %v", group, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// StreamEvents decodes every entry of the stream (the reference fold's
// input) and returns the IDs of the malformed ones apart.
func StreamEvents(t testing.TB, rdb redis.UniversalClient, stream string) (evs []event.Event, malformed []string) {
	t.Helper()
	start := "-"
	for {
		msgs, err := rdb.XRangeN(context.Background(), stream, start, "+", 10_000).Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			ev, err := event.Decode(m.ID, m.Values)
			if err != nil {
				malformed = append(malformed, m.ID)
				continue
			}
			evs = append(evs, ev)
		}
		if len(msgs) < 10_000 {
			return evs, malformed
		}
		start = "(" + msgs[len(msgs)-1].ID
	}
}

// RequireNothingPending fails the test if group holds pending entries.
func RequireNothingPending(t testing.TB, rdb redis.UniversalClient, stream, group string) {
	t.Helper()
	p, err := rdb.XPending(context.Background(), stream, group).Result()
	if err != nil {
		t.Fatal(err)
	}
	if p.Count != 0 {
		t.Fatalf("%d entries still pending: %+v", p.Count, p.Consumers)
	}
}
