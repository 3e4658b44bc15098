package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tokensync/tokensync/event"
	"github.com/tokensync/tokensync/internal/testenv"
	"github.com/tokensync/tokensync/producer"
)

// The consumer's memory during an outage is bounded by MaxBufferedMints
// (5000 here) and MaxBatchEvents, not by the backlog. Peaks observed were
// 23-26 MB; the bound leaves four times that for runtime and allocator
// slack while still catching a consumer that pulls the outage's backlog
// (some 100k entries) into memory.
const outageMaxRSSKB = 100 << 10

// TestPostgresOutage cuts PostgreSQL away from a consumer under load for half
// a minute: the consumer must report not-ready, stop reading at its buffer
// bound (the backlog waits in Redis, memory stays flat), and once PostgreSQL
// is back, catch up to exactly the reference fold and exit cleanly.
func TestPostgresOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("process test with a 30 s outage")
	}
	const (
		group  = "tokensync"
		outage = 30 * time.Second
	)
	pool, dbURL := testenv.Schema(t)
	rdb, prefix := testenv.Redis(t)
	stream := prefix + "events"

	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	px := newProxy(t, u.Host)
	u.Host = px.addr() // the query keeps search_path: the consumer writes the test's schema
	metrics := fmt.Sprintf("127.0.0.1:%d", freePort(t))

	p := start(t, "consume", map[string]string{
		"TOKENSYNC_DATABASE_URL":       u.String(),
		"TOKENSYNC_REDIS_URL":          testenv.RedisURL(),
		"TOKENSYNC_STREAM":             stream,
		"TOKENSYNC_GROUP":              group,
		"TOKENSYNC_CONSUMER":           "outage",
		"TOKENSYNC_METRICS_ADDR":       metrics,
		"TOKENSYNC_FLUSH_INTERVAL":     "200ms",
		"TOKENSYNC_MAX_BATCH_MINTS":    "2000",
		"TOKENSYNC_MAX_BUFFERED_MINTS": "5000",
		"TOKENSYNC_TRIM_INTERVAL":      "0",
	}, "consume")
	dumpOnFailure(t, p)
	dumpPendingOnFailure(t, rdb, stream, group)

	prod := startProducing(t, rdb, stream, producer.Workload{Mints: 50_000, Seed: 42}, 3000)

	waitReady(t, p, metrics, http.StatusOK, 30*time.Second)
	waitCount(t, p, `"message":"flushed"`, 3, 30*time.Second)
	flushedBefore := countLines(p, `"message":"flushed"`)

	px.setUp(false)
	cut := time.Now()
	t.Logf("PostgreSQL cut after %d flushes; RSS %d kB", flushedBefore, p.rssKB())
	waitReady(t, p, metrics, http.StatusServiceUnavailable, 15*time.Second)
	t.Logf("/readyz reported the outage after %v", time.Since(cut).Round(time.Millisecond))

	// Sample memory throughout the outage, and the group twice: halfway,
	// when the buffer has long been full (it fills within about 6 s at this
	// rate and seed), and at the end.
	var (
		maxRSS, samples int
		early           *redis.XInfoGroup
	)
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for time.Since(cut) < outage {
		select {
		case <-tick.C:
		case <-p.done:
			t.Fatal("consume exited during the outage")
		}
		if rss := p.rssKB(); rss > maxRSS {
			maxRSS = rss
		}
		samples++
		if early == nil && time.Since(cut) >= outage/2 {
			g := groupInfo(t, rdb, stream, group)
			early = &g
		}
	}
	late := groupInfo(t, rdb, stream, group)
	t.Logf("outage: max RSS %d kB over %d samples; lag %d -> %d, entries read %d -> %d",
		maxRSS, samples, early.Lag, late.Lag, early.EntriesRead, late.EntriesRead)
	if maxRSS == 0 {
		t.Fatal("could not read the consumer's RSS")
	}
	if maxRSS > outageMaxRSSKB {
		t.Errorf("RSS reached %d kB during the outage, above the bound of %d kB", maxRSS, outageMaxRSSKB)
	}
	if late.Lag <= early.Lag {
		t.Errorf("lag did not grow during the outage (%d, then %d): the backlog should wait in Redis", early.Lag, late.Lag)
	}
	// Lag also grows when a reader is merely slow; an unchanged read
	// position shows the reader really stopped at the buffer bound.
	if late.EntriesRead != early.EntriesRead {
		t.Errorf("the consumer kept reading during the outage (entries read %d, then %d)", early.EntriesRead, late.EntriesRead)
	}
	if n := countLines(p, `"message":"flushed"`); n != flushedBefore {
		t.Errorf("%d flushes completed while PostgreSQL was unreachable", n-flushedBefore)
	}
	if !strings.Contains(p.output(), "write failed, retrying") {
		t.Error("no failed write was logged during the outage")
	}

	px.setUp(true)
	restored := time.Now()
	// Production continues for a while after the outage, then stops so the
	// group can drain.
	waitCount(t, p, `"message":"flushed"`, flushedBefore+1, 30*time.Second)
	t.Logf("first flush %v after the restore", time.Since(restored).Round(time.Millisecond))
	sent := prod.stop(t)
	testenv.WaitDrained(t, rdb, stream, group, 2*time.Minute)
	t.Logf("drained %v after the restore; %d events produced", time.Since(restored).Round(time.Millisecond), sent)
	waitReady(t, p, metrics, http.StatusOK, 30*time.Second)

	requireCleanEnd(t, p, rdb, pool, stream, group)
}

// producing is a background producer publishing at a steady rate.
type producing struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	sent    int
	retries int
	err     error
}

// startProducing publishes synthetic events to stream at about rate per
// second until stop. A failed batch is published again on the next tick
// (it may have been partly appended: duplicates are harmless, the reference
// fold is computed from the stream as it ends up).
func startProducing(t *testing.T, rdb redis.UniversalClient, stream string, w producer.Workload, rate int) *producing {
	t.Helper()
	prod, err := producer.New(rdb, producer.Config{Stream: stream})
	if err != nil {
		t.Fatal(err)
	}
	gen, err := producer.NewGenerator(w)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr := &producing{cancel: cancel}
	const ticks = 20 // per second
	pr.wg.Add(1)
	go func() {
		defer pr.wg.Done()
		tick := time.NewTicker(time.Second / ticks)
		defer tick.Stop()
		var pending []event.Event
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if pending == nil {
				pending = make([]event.Event, rate/ticks)
				for i := range pending {
					pending[i] = gen.Next()
				}
			}
			pubCtx, cancelPub := context.WithTimeout(ctx, 5*time.Second)
			_, err := prod.Publish(pubCtx, pending)
			cancelPub()
			pr.mu.Lock()
			if err != nil {
				pr.retries++
				pr.err = err
			} else {
				pr.sent += len(pending)
				pending = nil
			}
			pr.mu.Unlock()
		}
	}()
	t.Cleanup(pr.halt)
	return pr
}

func (pr *producing) halt() {
	pr.cancel()
	pr.wg.Wait()
}

// waitSent waits until at least n events have been published.
func (pr *producing) waitSent(t *testing.T, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		pr.mu.Lock()
		sent, err := pr.sent, pr.err
		pr.mu.Unlock()
		if sent >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events published after %v (last error: %v)", sent, n, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (pr *producing) count() int {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	return pr.sent
}

// stop ends production and returns the number of events published.
func (pr *producing) stop(t *testing.T) int {
	t.Helper()
	pr.halt()
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if pr.sent == 0 {
		t.Fatalf("the producer published nothing (last error: %v)", pr.err)
	}
	if pr.retries > 0 {
		t.Logf("the producer retried %d batches (last error: %v)", pr.retries, pr.err)
	}
	return pr.sent
}

// waitReady polls /readyz until it answers want.
func waitReady(t *testing.T, p *proc, addr string, want int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := httpStatus(addr, "/readyz")
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz answered %d, not %d, for %v", got, want, timeout)
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited while waiting for /readyz %d", p.name, want)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// countLines counts the stderr lines of p that contain s.
func countLines(p *proc, s string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, l := range p.lines {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

// waitCount waits until at least n stderr lines of p contain s.
func waitCount(t *testing.T, p *proc, s string, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for countLines(p, s) < n {
		if time.Now().After(deadline) {
			t.Fatalf("fewer than %d lines with %s after %v", n, s, timeout)
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited while waiting for %d lines with %s", p.name, n, s)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func groupInfo(t *testing.T, rdb redis.UniversalClient, stream, group string) redis.XInfoGroup {
	t.Helper()
	groups, err := rdb.XInfoGroups(context.Background(), stream).Result()
	if err != nil {
		t.Fatalf("XINFO GROUPS %s: %v", stream, err)
	}
	for _, g := range groups {
		if g.Name == group {
			return g
		}
	}
	t.Fatalf("group %s of %s missing", group, stream)
	return redis.XInfoGroup{}
}

// dumpOnFailure logs the tail of p's stderr when the test fails: process
// tests are hard to diagnose from the assertion alone.
func dumpOnFailure(t *testing.T, p *proc) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		t.Logf("last stderr lines of %s:\n%s", p.name, tail(p.output(), 40))
	})
}

// dumpPendingOnFailure logs who holds the group's pending entries when the
// test fails: entries stuck with a live consumer point at a lost delivery.
func dumpPendingOnFailure(t *testing.T, rdb redis.UniversalClient, stream, group string) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		p, err := rdb.XPending(ctx, stream, group).Result()
		if err != nil {
			t.Logf("XPENDING %s %s: %v", stream, group, err)
			return
		}
		t.Logf("pending: %d entries from %s to %s, per consumer %v", p.Count, p.Lower, p.Higher, p.Consumers)
		if p.Count == 0 {
			return
		}
		ext, err := rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: stream, Group: group, Start: "-", End: "+", Count: 5}).Result()
		if err == nil {
			t.Logf("first pending entries: %+v", ext)
		}
	})
}
