package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tokensync/tokensync/event"
	"github.com/tokensync/tokensync/internal/testenv"
	"github.com/tokensync/tokensync/producer"
)

// TestChaos: three replicas of the real binary drain 200,000 events while the
// test kill -9s a random replica at random instants (some exactly between a
// commit and its XACK) and restarts it under the same or a new name. In the
// end the table equals the in-order fold, nothing is pending, and the
// dead-letter stream holds exactly the deliberately malformed entries, once.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos run skipped in -short mode")
	}
	pool, dbURL := testenv.Schema(t)
	rdb, prefix := testenv.Redis(t)
	stream, group := prefix+"events", "tokensync"
	const total, malformedEvery, kills = 200_000, 4000, 12
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 99))

	env := func(name string) map[string]string {
		return map[string]string{
			"TOKENSYNC_DATABASE_URL":       dbURL,
			"TOKENSYNC_REDIS_URL":          testenv.RedisURL(),
			"TOKENSYNC_STREAM":             stream,
			"TOKENSYNC_GROUP":              group,
			"TOKENSYNC_CONSUMER":           name,
			"TOKENSYNC_FLUSH_INTERVAL":     "300ms",
			"TOKENSYNC_MAX_BATCH_MINTS":    "3000",
			"TOKENSYNC_CLAIM_IDLE":         "1s",
			"TOKENSYNC_CLAIM_INTERVAL":     "250ms",
			"TOKENSYNC_MAX_DELIVERIES":     "1000", // kills redeliver; only malformed entries may die
			"TOKENSYNC_TRIM_INTERVAL":      "1s",   // the janitor runs, but an hour of history stays
			"TOKENSYNC_METRICS_ADDR":       "",
			"TOKENSYNC_CHAOS_AFTER_COMMIT": "0.3",
		}
	}
	var (
		mu       sync.Mutex
		replicas = map[int]*proc{}
		names    = map[int]string{}
	)
	spawn := func(slot int, name string) {
		p := start(t, name, env(name), "consume")
		mu.Lock()
		replicas[slot], names[slot] = p, name
		mu.Unlock()
	}
	for i := range 3 {
		spawn(i, fmt.Sprintf("replica-%d", i))
	}

	// Produce concurrently, with malformed entries sprinkled in.
	ctx := context.Background()
	produced := make(chan error, 1)
	go func() {
		p, _ := producer.New(rdb, producer.Config{Stream: stream})
		g, _ := producer.NewGenerator(producer.Workload{Mints: 20_000, Seed: seed})
		for sent := 0; sent < total; {
			evs := make([]event.Event, 2000)
			for i := range evs {
				evs[i] = g.Next()
			}
			if _, err := p.Publish(ctx, evs); err != nil {
				produced <- err
				return
			}
			sent += len(evs)
			if sent%malformedEvery == 0 {
				bad := map[string]any{"type": "market", "mint": "not-a-mint", "price_usd": strconv.Itoa(sent)}
				if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: bad}).Err(); err != nil {
					produced <- err
					return
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		produced <- nil
	}()

	// Kill a random replica at random instants; every third kill waits for
	// the moment between a commit and its acknowledgement.
	betweenCommitAndAck := 0
	for k := range kills {
		slot := rng.IntN(3)
		mu.Lock()
		p, name := replicas[slot], names[slot]
		mu.Unlock()
		if k%3 == 0 {
			lines := p.subscribe()
			deadline := time.After(20 * time.Second)
		wait:
			for {
				select {
				case l := <-lines:
					if strings.Contains(l, "CHAOS committed-not-acked") {
						betweenCommitAndAck++
						break wait
					}
				case <-deadline:
					t.Logf("no commit marker from %s within 20s; its log ends:\n%s", name, tail(p.output(), 5))
					break wait
				}
			}
		} else {
			time.Sleep(time.Duration(200+rng.IntN(1500)) * time.Millisecond)
		}
		p.kill()
		next := name
		if rng.IntN(2) == 0 {
			next = fmt.Sprintf("replica-%d-%d", slot, k) // a new pod name: the old one's entries must be claimed
		}
		t.Logf("kill %d: %s, restarting as %s", k+1, name, next)
		spawn(slot, next)
	}
	if err := <-produced; err != nil {
		t.Fatal(err)
	}
	if betweenCommitAndAck < 3 {
		t.Fatalf("only %d kills landed between commit and XACK", betweenCommitAndAck)
	}
	testenv.WaitDrained(t, rdb, stream, group, 3*time.Minute)
	for slot, p := range replicas {
		if code := p.stop(30 * time.Second); code != 0 {
			t.Errorf("%s exited %d at SIGTERM:\n%s", names[slot], code, tail(p.output(), 20))
		}
	}

	evs, malformed := testenv.StreamEvents(t, rdb, stream)
	if len(evs) != total {
		t.Fatalf("stream holds %d valid events, produced %d", len(evs), total)
	}
	testenv.RequireTable(t, pool, testenv.Fold(evs))
	testenv.RequireNothingPending(t, rdb, stream, group)

	dead, err := rdb.XRange(ctx, event.DeadLetterStream(stream), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var deadIDs []string
	for _, d := range dead {
		deadIDs = append(deadIDs, fmt.Sprint(d.Values[event.DeadFieldID]))
	}
	sort.Strings(deadIDs)
	sort.Strings(malformed)
	if strings.Join(deadIDs, ",") != strings.Join(malformed, ",") {
		t.Fatalf("dead letters %v, want exactly the malformed entries %v", deadIDs, malformed)
	}
	t.Logf("%d events, %d malformed, %d kills (%d between commit and XACK)", len(evs), len(malformed), kills, betweenCommitAndAck)
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
