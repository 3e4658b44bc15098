package backlog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tokensync/tokensync/backlog"
	"github.com/tokensync/tokensync/event"
	"github.com/tokensync/tokensync/internal/testenv"
)

// TestInspect: a stream with two groups, one of them behind with pending
// entries on a consumer that has gone idle, and a dead letter.
func TestInspect(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	ctx := context.Background()
	stream := prefix + "events"
	for i := range 10 {
		rdb.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: []any{"type", "market", "mint", "So11111111111111111111111111111111111111112", "price_usd", i}})
	}
	rdb.XAdd(ctx, &redis.XAddArgs{Stream: event.DeadLetterStream(stream), Values: []any{"type", "trade"}})
	for _, g := range []string{"tokensync", "audit"} {
		if err := rdb.XGroupCreate(ctx, stream, g, "0").Err(); err != nil {
			t.Fatal(err)
		}
	}
	// tokensync read and acknowledged everything; audit's "idle-one" read 4 and stopped.
	msgs, _ := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "tokensync", Consumer: "live", Streams: []string{stream, ">"}}).Result()
	for _, m := range msgs[0].Messages {
		rdb.XAck(ctx, stream, "tokensync", m.ID)
	}
	rdb.Set(ctx, event.HeartbeatKey(stream, "tokensync", "live"), "x", time.Minute)
	rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "audit", Consumer: "idle-one", Streams: []string{stream, ">"}, Count: 4})

	r, err := backlog.Inspect(ctx, rdb, []string{stream, prefix + "missing"})
	if err != nil {
		t.Fatal(err)
	}
	s := r.Streams[0]
	if s.Length != 10 || s.DeadLetters != 1 || len(s.Groups) != 2 {
		t.Fatalf("stream %+v", s)
	}
	byName := map[string]backlog.Group{}
	for _, g := range s.Groups {
		byName[g.Name] = g
	}
	if g := byName["tokensync"]; g.Lag != 0 || g.Pending != 0 || len(g.Consumers) != 1 || !g.Consumers[0].Alive {
		t.Errorf("tokensync group %+v", g)
	}
	a := byName["audit"]
	if a.Lag != 6 || a.Pending != 4 || a.EntriesRead != 4 || a.OldestPendingID != msgs[0].Messages[0].ID || a.OldestPendingAge <= 0 {
		t.Errorf("audit group %+v", a)
	}
	if len(a.Consumers) != 1 || a.Consumers[0].Name != "idle-one" || a.Consumers[0].Pending != 4 || a.Consumers[0].Alive {
		t.Errorf("audit consumers %+v", a.Consumers)
	}
	if m := r.Streams[1]; m.Length != 0 || len(m.Groups) != 0 {
		t.Errorf("missing stream reported as %+v", m)
	}

	var text bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"stream " + stream + ":", "audit", "idle-one", "HEARTBEAT", "none", "alive"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text output lacks %q:\n%s", want, text.String())
		}
	}
	if _, err := json.Marshal(r); err != nil {
		t.Fatal(err)
	}
}
