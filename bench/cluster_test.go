package bench

import (
	"context"
	"io"
	"math"
	"math/rand/v2"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/tokensync/tokensync/internal/testenv"
)

// startCluster starts a 3-master Redis Cluster with scripts/redis-cluster.sh
// and returns its seed addresses.
func startCluster(t *testing.T) []string {
	t.Helper()
	for _, bin := range []string{"redis-server", "redis-cli"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skip(bin + " not installed")
		}
	}
	const script = "../scripts/redis-cluster.sh"
	dir := t.TempDir()
	var out []byte
	var err error
	for range 5 {
		// The script refuses ports in use: try another range then.
		base := 20000 + rand.IntN(9000)
		cmd := exec.Command(script, "start", dir, strconv.Itoa(base))
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if out, err = cmd.Output(); err == nil {
			break
		}
		t.Logf("%s start %d: %v\n%s", script, base, err, stderr.String())
	}
	if err != nil {
		t.Fatal("could not start a cluster")
	}
	t.Cleanup(func() {
		if out, err := exec.Command(script, "stop", dir).CombinedOutput(); err != nil {
			t.Errorf("%s stop: %v\n%s", script, err, out)
		}
	})
	url := strings.TrimSpace(string(out))
	hosts, ok := strings.CutPrefix(url, "redis://")
	if !ok {
		t.Fatalf("script printed %q, want a redis:// URL", url)
	}
	addrs := strings.Split(hosts, ",")
	if len(addrs) != 3 {
		t.Fatalf("script printed %q, want 3 seed addresses", url)
	}
	return addrs
}

// TestRunCluster runs the drain scenario with a cluster at a tiny size: the
// single-node, sharded and cluster rows must all appear, each node's shards
// and entries must add up, every node's CPU must come from its process, and
// nothing may be left behind on either Redis.
func TestRunCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Redis Cluster and runs the drain scenario against it")
	}
	addrs := startCluster(t)
	opt, err := redis.ParseURL(testenv.RedisURL())
	if err != nil {
		t.Fatal(err)
	}
	prefix := testenv.Name("tokensync-bench-test-") + ":"
	const events, shards = 3000, 16
	cfg := Config{
		RedisOptions: opt, DatabaseURL: testenv.DatabaseURL(), Database: testenv.Name("tokensync_bench_test_"), KeyPrefix: prefix,
		Scenarios: []string{ScenarioDrain}, Events: events,
		Cluster: &redis.ClusterOptions{Addrs: addrs}, Shards: shards,
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
	want := []string{"drain-1", "drain-2", "sharded-drain-1", "sharded-drain-2", "cluster-drain-1", "cluster-drain-2"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Fatalf("scenarios (-want +got):\n%s", diff)
	}
	for _, r := range rep.Results {
		wantNodes, wantShards, wantRedis := 1, 1, "1 node"
		if strings.HasPrefix(r.Scenario, "sharded-") {
			wantShards = shards
		}
		if strings.HasPrefix(r.Scenario, "cluster-") {
			wantNodes, wantShards, wantRedis = 3, shards, "3-node cluster"
		}
		if r.Events != events || r.Redis != wantRedis || r.Shards != wantShards || len(r.Nodes) != wantNodes {
			t.Errorf("%s: %d events on %q with %d shards and %d nodes, want %d on %q with %d and %d",
				r.Scenario, r.Events, r.Redis, r.Shards, len(r.Nodes), events, wantRedis, wantShards, wantNodes)
			continue
		}
		var entries int64
		var nodeShards, slots int
		var cpu float64
		for _, n := range r.Nodes {
			entries += n.Entries
			nodeShards += n.Shards
			slots += n.Slots
			cpu += n.CPUSeconds
			var inStreams int64
			for _, st := range n.Streams {
				inStreams += st.Entries
			}
			if inStreams != n.Entries || len(n.Streams) != n.Shards {
				t.Errorf("%s: node %s: %d entries in %d streams listed, want %d in %d", r.Scenario, n.Addr, inStreams, len(n.Streams), n.Entries, n.Shards)
			}
			if n.CPUSeconds < 0 {
				t.Errorf("%s: node %s used %v s of CPU", r.Scenario, n.Addr, n.CPUSeconds)
			}
			if wantNodes == 3 && (n.Shards == 0 || !strings.HasPrefix(n.CPUFrom, "/proc/")) {
				t.Errorf("%s: node %s holds %d shards, CPU from %q: want some shards, CPU from its process", r.Scenario, n.Addr, n.Shards, n.CPUFrom)
			}
		}
		if entries != events || nodeShards != wantShards {
			t.Errorf("%s: nodes hold %d entries in %d shards, want %d in %d", r.Scenario, entries, nodeShards, events, wantShards)
		}
		if wantNodes == 3 && slots != 16384 {
			t.Errorf("%s: nodes serve %d slots, want 16384", r.Scenario, slots)
		}
		if r.CPU == nil || math.Abs(r.CPU.Redis-cpu) > 1e-6 {
			t.Errorf("%s: Redis CPU %+v, want the nodes' sum %v", r.Scenario, r.CPU, cpu)
		}
		if r.Transactions != r.Flushes {
			t.Errorf("%s: %d transactions for %d flushes", r.Scenario, r.Transactions, r.Flushes)
		}
	}
	var sb strings.Builder
	if err := rep.WriteTable(&sb); err != nil || !strings.Contains(sb.String(), "| cluster-drain-1 | 3-node cluster | 16 | 1 |") {
		t.Errorf("table: %v\n%s", err, sb.String())
	}

	single := redis.NewClient(opt)
	defer single.Close()
	if keys, err := single.Keys(ctx, prefix+"*").Result(); err != nil || len(keys) > 0 {
		t.Errorf("keys left on the single node: %v, %v", keys, err)
	}
	for _, a := range addrs {
		c := redis.NewClient(&redis.Options{Addr: a})
		if n, err := c.DBSize(ctx).Result(); err != nil || n != 0 {
			t.Errorf("%d keys left on cluster node %s: %v", n, a, err)
		}
		c.Close()
	}
}

func TestClusterConfig(t *testing.T) {
	base := Config{RedisOptions: &redis.Options{}, DatabaseURL: "postgres://h/db"}
	for name, c := range map[string]struct {
		cfg  func(Config) Config
		want string
	}{
		"no drain": {func(c Config) Config {
			c.Cluster, c.Scenarios = &redis.ClusterOptions{Addrs: []string{"h:1"}}, []string{ScenarioDirect}
			return c
		}, "drain scenario"},
		"no seed": {func(c Config) Config { c.Cluster = &redis.ClusterOptions{}; return c }, "no seed"},
		"one shard": {func(c Config) Config {
			c.Cluster, c.Shards = &redis.ClusterOptions{Addrs: []string{"h:1"}}, 1
			return c
		}, "shards 1"},
		"shards and no cluster": {func(c Config) Config { c.Shards = 4; return c }, "without a cluster"},
	} {
		err := c.cfg(base).Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error about %q", name, err, c.want)
		}
	}
	ok := base
	ok.Cluster = &redis.ClusterOptions{Addrs: []string{"h:1"}}
	if err := ok.Validate(); err != nil {
		t.Errorf("cluster with the defaults: %v", err)
	}
}

func TestWriteMarkdown(t *testing.T) {
	rep := &Report{
		Command: "tokensync bench --scenarios drain",
		Results: []Result{{Scenario: "drain-1", Events: 10, Seconds: 1, EventsPerSec: 10, Notes: []string{"see <scenario>.pprof"}}},
	}
	var sb strings.Builder
	if err := rep.WriteMarkdown(&sb); err != nil {
		t.Fatal(err)
	}
	md := sb.String()
	for _, want := range []string{"# tokensync bench\n", "```sh\ntokensync bench --scenarios drain\n```", "```text\ntokensync bench, ", "| drain-1 | 10 |", "see &lt;scenario&gt;.pprof"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "Redis nodes") {
		t.Errorf("markdown of a run without a cluster has the node table:\n%s", md)
	}
}
