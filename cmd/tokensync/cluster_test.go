package main

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tokensync/tokensync/event"
	"github.com/tokensync/tokensync/internal/testenv"
	"github.com/tokensync/tokensync/producer"
)

// startCluster runs a 3-master Redis Cluster of the machine's redis-server
// on free loopback ports and returns the seed addresses.
func startCluster(t *testing.T) []string {
	t.Helper()
	server, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed")
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Skip("redis-cli not installed")
	}
	dir := t.TempDir()
	var addrs []string
	for i := range 3 {
		port := strconv.Itoa(freePort(t))
		cmd := exec.Command(server, "--port", port, "--bind", "127.0.0.1", "--cluster-enabled", "yes",
			"--cluster-config-file", "nodes-"+port+".conf", "--dir", dir, "--save", "", "--appendonly", "no",
			"--logfile", fmt.Sprintf("%s/redis-%d.log", dir, i))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
		addrs = append(addrs, "127.0.0.1:"+port)
	}
	for _, a := range addrs {
		c := redis.NewClient(&redis.Options{Addr: a})
		deadline := time.Now().Add(10 * time.Second)
		for c.Ping(context.Background()).Err() != nil {
			if time.Now().After(deadline) {
				t.Fatalf("redis-server on %s did not start", a)
			}
			time.Sleep(20 * time.Millisecond)
		}
		c.Close()
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, a := range addrs {
		c := redis.NewClient(&redis.Options{Addr: a})
		deadline := time.Now().Add(20 * time.Second)
		for {
			info, _ := c.ClusterInfo(context.Background()).Result()
			if strings.Contains(info, "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("cluster not ok on %s:\n%s", a, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
		c.Close()
	}
	return addrs
}

// TestCluster: 200,000 events over 16 hash-tagged shards of a real 3-master
// Redis Cluster, two consumer replicas, one killed mid-run (the other takes
// its entries over); the table equals the fold and nothing is pending.
func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster run skipped in -short mode")
	}
	addrs := startCluster(t)
	pool, dbURL := testenv.Schema(t)
	ctx := context.Background()
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	t.Cleanup(func() { rdb.Close() })
	const total, shards = 200_000, 16
	stream, group := "tokensync:events", "tokensync"
	env := func(name string) map[string]string {
		return map[string]string{
			"TOKENSYNC_REDIS_URL":      "redis://" + strings.Join(addrs, ","),
			"TOKENSYNC_SHARDS":         strconv.Itoa(shards),
			"TOKENSYNC_DATABASE_URL":   dbURL,
			"TOKENSYNC_CONSUMER":       name,
			"TOKENSYNC_FLUSH_INTERVAL": "300ms",
			"TOKENSYNC_CLAIM_IDLE":     "1s",
			"TOKENSYNC_CLAIM_INTERVAL": "250ms",
			"TOKENSYNC_TRIM_INTERVAL":  "1s",
			"TOKENSYNC_METRICS_ADDR":   "",
		}
	}
	a := start(t, "a", env("replica-a"), "consume")
	b := start(t, "b", env("replica-b"), "consume")

	p, err := producer.New(rdb, producer.Config{Stream: stream, Shards: shards})
	if err != nil {
		t.Fatal(err)
	}
	g, _ := producer.NewGenerator(producer.Workload{Mints: 20_000, Seed: 6})
	killed := false
	for sent := 0; sent < total; sent += 2000 {
		evs := make([]event.Event, 2000)
		for i := range evs {
			evs[i] = g.Next()
		}
		if _, err := p.Publish(ctx, evs); err != nil {
			t.Fatal(err)
		}
		if !killed && sent >= total/2 {
			a.kill() // mid-run, holding entries on some shards
			killed = true
		}
		time.Sleep(20 * time.Millisecond)
	}
	streams := event.ShardStreams(stream, shards)
	for _, s := range streams {
		testenv.WaitDrained(t, rdb, s, group, 3*time.Minute)
	}
	if code := b.stop(30 * time.Second); code != 0 {
		t.Fatalf("replica-b exited %d:\n%s", code, tail(b.output(), 20))
	}

	var evs []event.Event
	perNode := map[string]int64{}
	for _, s := range streams {
		e, bad := testenv.StreamEvents(t, rdb, s)
		if len(bad) > 0 {
			t.Fatalf("%s holds malformed entries %v", s, bad)
		}
		evs = append(evs, e...)
		testenv.RequireNothingPending(t, rdb, s, group)
		node, err := rdb.MasterForKey(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		perNode[node.Options().Addr] += int64(len(e))
	}
	if len(evs) != total {
		t.Fatalf("shards hold %d events, produced %d", len(evs), total)
	}
	// A mint's events all live in one shard, so sorting everything by entry
	// ID keeps each mint's order, which is all the fold needs.
	testenv.RequireTable(t, pool, testenv.Fold(evs))
	if len(perNode) != 3 {
		t.Errorf("shards on %d nodes, want all 3: %v", len(perNode), perNode)
	}
	t.Logf("entries per node: %v; replica-b took over entries: %v", perNode, strings.Contains(b.output(), "claimed entries of a dead consumer"))
}
