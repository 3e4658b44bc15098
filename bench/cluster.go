package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/tokensync/tokensync/event"
)

// target is the Redis a drain runs against and the streams it reads there.
type target struct {
	prefix    string // of the scenario names: "", "sharded-" or "cluster-"
	label     string // the Redis, for the tables: "1 node", "3-node cluster"
	rdb       redis.UniversalClient
	newClient func() redis.UniversalClient // a replica's own client
	stream    string                       // consumer.Config.Stream
	shards    int                          // consumer.Config.Shards; 1: the stream itself
	streams   []string                     // event.ShardStreams(stream, shards)
	// nodes are the servers measured one by one, in a run with a cluster;
	// nil otherwise (Redis CPU then comes from INFO cpu, as it always did).
	nodes []*redisNode
	// layout is what each of nodes holds of streams, known once they are
	// pre-loaded.
	layout []NodeStat
}

// redisNode is one Redis server whose CPU time the bench measures.
type redisNode struct {
	addr  string
	rdb   *redis.Client // reaches this server only
	slots int           // hash slots it serves as a cluster master; 0 outside a cluster
	// pid is its redis-server process when /proc shows it, else 0 (its CPU
	// time then comes from INFO cpu).
	pid int
}

// NodeStat is one Redis server during a drain, in a run with a cluster.
type NodeStat struct {
	Addr string `json:"addr"`
	// Slots are the hash slots the node serves; 0 outside a cluster.
	Slots int `json:"slots,omitempty"`
	// Shards and Entries are the scenario's streams on this node and their
	// entries; Streams has each one's.
	Shards  int          `json:"shards"`
	Entries int64        `json:"entries"`
	Streams []StreamStat `json:"streams,omitempty"`
	// CPUSeconds is the CPU time (user and system, all threads) of the
	// node's server process from the start of the measured part to the end
	// of the scenario, read from CPUFrom: "/proc/<pid>/stat" when the process
	// runs on this machine, else "INFO cpu".
	CPUSeconds float64 `json:"cpu_seconds"`
	CPUFrom    string  `json:"cpu_from"`
}

// StreamStat is one stream (shard) on a Redis node.
type StreamStat struct {
	Key     string `json:"key"`
	Entries int64  `json:"entries"`
}

// largest returns the stream of n with the most entries.
func (n NodeStat) largest() (StreamStat, bool) {
	if len(n.Streams) == 0 {
		return StreamStat{}, false
	}
	return slices.MaxFunc(n.Streams, func(a, b StreamStat) int { return cmp.Compare(a.Entries, b.Entries) }), true
}

// newNode finds the redis-server process behind rdb: INFO server names its
// process ID and port, and /proc must show a redis-server of that ID
// serving that port (a server elsewhere, or in a container, has a process
// ID that means nothing here).
func newNode(ctx context.Context, rdb *redis.Client, slots int) (*redisNode, error) {
	n := &redisNode{addr: rdb.Options().Addr, rdb: rdb, slots: slots}
	info, err := rdb.Info(ctx, "server").Result()
	if err != nil {
		return nil, fmt.Errorf("INFO server of %s: %w", n.addr, err)
	}
	var pid int
	var port string
	for _, line := range strings.Split(info, "\n") {
		switch k, v, _ := strings.Cut(strings.TrimSpace(line), ":"); k {
		case "process_id":
			pid, _ = strconv.Atoi(v)
		case "tcp_port":
			port = v
		}
	}
	if pid > 0 && port != "" && isRedisServer(pid, port) {
		n.pid = pid
	}
	return n, nil
}

// isRedisServer reports whether process pid is a redis-server whose title
// (redis-server sets it to "redis-server <addr>:<port> …") names port.
func isRedisServer(pid int, port string) bool {
	comm, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil || !strings.HasPrefix(strings.TrimSpace(string(comm)), "redis-server") {
		return false
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return false
	}
	return regexp.MustCompile(`:` + regexp.QuoteMeta(port) + `(\D|$)`).Match(cmdline)
}

// cpu is the CPU time the node's process has used so far, in seconds; NaN
// when its process has gone.
func (n *redisNode) cpu(ctx context.Context) float64 {
	if n.pid == 0 {
		return infoCPU(ctx, n.rdb)
	}
	if _, self, _, ok := procStat(n.pid); ok {
		return self
	}
	return math.NaN()
}

func (n *redisNode) cpuFrom() string {
	if n.pid == 0 {
		return "INFO cpu"
	}
	return "/proc/" + strconv.Itoa(n.pid) + "/stat"
}

// nodeCPU fills in each node's CPU time between two samples.
func nodeCPU(stats []NodeStat, nodes []*redisNode, before, after cpuSample) error {
	if len(stats) != len(nodes) || len(before.nodes) != len(nodes) || len(after.nodes) != len(nodes) {
		return fmt.Errorf("per-node figures of %d nodes, %d measured", len(stats), len(nodes))
	}
	for i, n := range nodes {
		if stats[i].Addr != n.addr {
			return fmt.Errorf("per-node figures out of order: %s against %s", stats[i].Addr, n.addr)
		}
		stats[i].CPUSeconds = after.nodes[i] - before.nodes[i]
		stats[i].CPUFrom = n.cpuFrom()
		if math.IsNaN(stats[i].CPUSeconds) {
			return fmt.Errorf("Redis node %s: its process %d is gone", n.addr, n.pid)
		}
	}
	return nil
}

// singleTarget is the server of Config.RedisOptions with its one stream.
func (r *runner) singleTarget() *target {
	return &target{
		label: "1 node", rdb: r.rdb, stream: r.stream, shards: 1, streams: []string{r.stream},
		newClient: func() redis.UniversalClient {
			opt := *r.cfg.RedisOptions
			return redis.NewClient(&opt)
		},
	}
}

// connectCluster connects to Config.Cluster, checks that it serves every
// slot, finds its masters and their processes, and removes keys an
// interrupted run left there. It sets r.crdb and the targets of a run with
// a cluster: the single node is then measured by its process too, and
// r.sharded (the single node with Shards shards) and r.cluster are set.
func (r *runner) connectCluster(ctx context.Context) error {
	opt := *r.cfg.Cluster
	r.crdb = redis.NewClusterClient(&opt)
	info, err := r.crdb.ClusterInfo(ctx).Result()
	if err != nil {
		return fmt.Errorf("Redis Cluster: %w", err)
	}
	if !strings.Contains(info, "cluster_state:ok") {
		return errors.New("Redis Cluster: cluster_state is not ok")
	}
	slots, err := r.crdb.ClusterSlots(ctx).Result()
	if err != nil {
		return fmt.Errorf("Redis Cluster: CLUSTER SLOTS: %w", err)
	}
	slotsOf := map[string]int{}
	for _, s := range slots {
		if len(s.Nodes) > 0 {
			slotsOf[s.Nodes[0].Addr] += s.End - s.Start + 1
		}
	}
	var mu sync.Mutex
	var masters []*redis.Client
	if err := r.crdb.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		mu.Lock()
		defer mu.Unlock()
		masters = append(masters, c)
		return nil
	}); err != nil {
		return fmt.Errorf("Redis Cluster: %w", err)
	}
	slices.SortFunc(masters, func(a, b *redis.Client) int { return strings.Compare(a.Options().Addr, b.Options().Addr) })
	var nodes []*redisNode
	for _, c := range masters {
		n, err := newNode(ctx, c, slotsOf[c.Options().Addr])
		if err != nil {
			return fmt.Errorf("Redis Cluster: %w", err)
		}
		nodes = append(nodes, n)
	}
	if len(nodes) == 0 {
		return errors.New("Redis Cluster: no master")
	}
	if err := deleteKeysOf(ctx, r.crdb, r.cfg.KeyPrefix); err != nil {
		return fmt.Errorf("Redis Cluster: %w", err)
	}

	single, err := newNode(ctx, r.rdb, 0)
	if err != nil {
		return err
	}
	r.single.nodes = []*redisNode{single}
	r.sharded = &target{
		prefix: "sharded-", label: "1 node", rdb: r.rdb, newClient: r.single.newClient,
		stream: r.stream, shards: r.cfg.Shards, streams: event.ShardStreams(r.stream, r.cfg.Shards),
		nodes: r.single.nodes,
	}
	r.cluster = &target{
		prefix: "cluster-", label: fmt.Sprintf("%d-node cluster", len(nodes)), rdb: r.crdb,
		newClient: func() redis.UniversalClient {
			opt := *r.cfg.Cluster
			return redis.NewClusterClient(&opt)
		},
		stream: r.stream, shards: r.cfg.Shards, streams: event.ShardStreams(r.stream, r.cfg.Shards),
		nodes: nodes,
	}
	return nil
}

// describeCluster names the cluster's masters, their slots and processes,
// and their Redis version and persistence settings.
func describeCluster(ctx context.Context, nodes []*redisNode) string {
	var parts []string
	settings := map[string]bool{}
	var version string
	for _, n := range nodes {
		p := fmt.Sprintf("%s (%s slots", n.addr, count(int64(n.slots)))
		if n.pid > 0 {
			p += fmt.Sprintf(", pid %d", n.pid)
		}
		parts = append(parts, p+")")
		m := Machine{}
		if info, err := n.rdb.Info(ctx, "server", "persistence").Result(); err == nil {
			for _, line := range strings.Split(info, "\n") {
				switch k, v, _ := strings.Cut(strings.TrimSpace(line), ":"); k {
				case "redis_version":
					version = v
				case "aof_enabled":
					m.RedisSettings = "aof_enabled=" + v
				}
			}
		}
		if save, err := n.rdb.ConfigGet(ctx, "save").Result(); err == nil {
			m.RedisSettings += fmt.Sprintf(" save=%q", save["save"])
		}
		settings[m.RedisSettings] = true
	}
	s := fmt.Sprintf("%d masters %s; Redis %s", len(nodes), strings.Join(parts, ", "), version)
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		s += "; " + k
	}
	return s
}

// layoutOf records what each node of t holds of t's streams.
func (r *runner) layoutOf(ctx context.Context, t *target) error {
	if t.nodes == nil {
		return nil
	}
	t.layout = make([]NodeStat, len(t.nodes))
	index := map[string]int{}
	for i, n := range t.nodes {
		t.layout[i] = NodeStat{Addr: n.addr, Slots: n.slots}
		index[n.addr] = i
	}
	for _, s := range t.streams {
		entries, err := t.rdb.XLen(ctx, s).Result()
		if err != nil {
			return fmt.Errorf("XLEN %s: %w", s, err)
		}
		i := 0
		if c, ok := t.rdb.(*redis.ClusterClient); ok {
			node, err := c.MasterForKey(ctx, s)
			if err != nil {
				return fmt.Errorf("node of %s: %w", s, err)
			}
			var known bool
			if i, known = index[node.Options().Addr]; !known {
				return fmt.Errorf("%s lives on %s, not a master the bench found", s, node.Options().Addr)
			}
		}
		t.layout[i].Shards++
		t.layout[i].Entries += entries
		t.layout[i].Streams = append(t.layout[i].Streams, StreamStat{Key: s, Entries: entries})
	}
	return nil
}

// clusterDrains runs, in a run with a cluster, the drain over Shards shards
// on the single node and then on the cluster, 1 and 2 replicas each, each
// target pre-loaded with the same workload first and emptied afterwards.
func (r *runner) clusterDrains(ctx context.Context) error {
	if r.cluster == nil {
		return nil
	}
	for _, t := range []*target{r.sharded, r.cluster} {
		if err := r.preloadOn(ctx, t); err != nil {
			return err
		}
		if err := r.layoutOf(ctx, t); err != nil {
			return err
		}
		for _, replicas := range []int{1, 2} {
			if err := r.drain(ctx, t, replicas); err != nil {
				return err
			}
		}
		// Later scenarios find the single node as a run without a cluster would.
		for _, s := range t.streams {
			if err := t.rdb.Unlink(ctx, s).Err(); err != nil {
				return fmt.Errorf("delete %s: %w", s, err)
			}
		}
	}
	return nil
}

// deleteKeysOf removes every key under prefix, on every master of a cluster.
func deleteKeysOf(ctx context.Context, rdb redis.UniversalClient, prefix string) error {
	if c, ok := rdb.(*redis.ClusterClient); ok {
		return c.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
			return deleteKeysOf(ctx, n, prefix)
		})
	}
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return fmt.Errorf("list keys %s*: %w", prefix, err)
	}
	for _, k := range keys {
		// UNLINK frees big streams in the background.
		if err := rdb.Unlink(ctx, k).Err(); err != nil {
			return fmt.Errorf("delete %s: %w", k, err)
		}
	}
	return nil
}
