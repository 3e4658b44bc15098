package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// Report is everything a run measured.
type Report struct {
	Command string    `json:"command,omitempty"`
	Started time.Time `json:"started"`
	// Took is the whole run, setup and clean-up included.
	Took     string   `json:"took"`
	Machine  Machine  `json:"machine"`
	Settings Settings `json:"settings"`
	Results  []Result `json:"results"`
	Targets  []Target `json:"targets"`
	Notes    []string `json:"notes,omitempty"`
}

// Machine describes where the run happened.
type Machine struct {
	CPU         string `json:"cpu"`
	Cores       int    `json:"cores"`
	MemoryBytes int64  `json:"memory_bytes"`
	PostgreSQL  string `json:"postgresql"`
	Redis       string `json:"redis"`
	Go          string `json:"go"`
	// Settings of the servers that shape the figures.
	PostgreSQLSettings string `json:"postgresql_settings"`
	RedisSettings      string `json:"redis_settings"`
	// RedisCluster describes the cluster of a run with one: its masters,
	// their hash slots and processes, version and persistence settings.
	RedisCluster string `json:"redis_cluster,omitempty"`
	// BackgroundLoad is the machine's busy CPU time per second, in cores,
	// measured for a second before the run while the bench was idle.
	BackgroundLoad float64 `json:"background_load_cores"`
}

// Settings are the sizes a run used.
type Settings struct {
	Scenarios       []string `json:"scenarios"`
	Events          int      `json:"events"`
	DirectSample    int      `json:"direct_sample"`
	ProduceEvents   int      `json:"produce_events"`
	SteadyRate      float64  `json:"steady_rate"`
	SteadyDuration  string   `json:"steady_duration"`
	SteadyIntervals []string `json:"steady_intervals"`
	Seed            uint64   `json:"seed"`
	// Cluster are the seed addresses of the cluster, and Shards the shards
	// of the sharded and cluster drains, in a run with a cluster.
	Cluster []string `json:"cluster,omitempty"`
	Shards  int      `json:"shards,omitempty"`
}

func settingsOf(c Config) Settings {
	s := Settings{
		Scenarios: c.Scenarios, Events: c.Events, DirectSample: c.DirectSample, ProduceEvents: c.ProduceEvents,
		SteadyRate: c.SteadyRate, SteadyDuration: c.SteadyDuration.String(), Seed: c.Seed,
	}
	if c.Cluster != nil {
		s.Cluster, s.Shards = c.Cluster.Addrs, c.Shards
	}
	for _, d := range c.SteadyIntervals {
		s.SteadyIntervals = append(s.SteadyIntervals, d.String())
	}
	return s
}

// Target is one of issue 5's goals checked against the figures.
type Target struct {
	Name     string `json:"name"`
	Goal     string `json:"goal"`
	Measured string `json:"measured"`
	Result   string `json:"result"` // PASS, FAIL, or n/a
}

func machine(ctx context.Context, rdb redis.UniversalClient, conn *pgx.Conn) Machine {
	m := Machine{Cores: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "MemTotal:" {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				m.MemoryBytes = kb * 1024
			}
		}
	}
	_ = conn.QueryRow(ctx, "SHOW server_version").Scan(&m.PostgreSQL)
	var settings []string
	rows, _ := conn.Query(ctx, `SELECT name || '=' || current_setting(name) FROM pg_settings
		WHERE name IN ('shared_buffers', 'max_wal_size', 'checkpoint_timeout', 'full_page_writes', 'wal_compression',
		               'synchronous_commit', 'autovacuum', 'wal_level') ORDER BY name`)
	var kv string
	if _, err := pgx.ForEachRow(rows, []any{&kv}, func() error { settings = append(settings, kv); return nil }); err == nil {
		m.PostgreSQLSettings = strings.Join(settings, " ")
	}
	if info, err := rdb.Info(ctx, "server", "persistence").Result(); err == nil {
		for _, line := range strings.Split(info, "\n") {
			switch k, v, _ := strings.Cut(strings.TrimSpace(line), ":"); k {
			case "redis_version":
				m.Redis = v
			case "aof_enabled":
				m.RedisSettings = "aof_enabled=" + v
			}
		}
	}
	if save, err := rdb.ConfigGet(ctx, "save").Result(); err == nil {
		m.RedisSettings += fmt.Sprintf(" save=%q", save["save"])
	}
	return m
}

func (rep *Report) result(name string) *Result {
	for i := range rep.Results {
		if rep.Results[i].Scenario == name {
			return &rep.Results[i]
		}
	}
	return nil
}

// walBytes is the WAL the targets judge: the bench database's own records
// when pg_walinspect could attribute them (other databases' work left out),
// else the LSN distance.
func walBytes(r *Result) int64 {
	if r == nil || r.PG == nil {
		return 0
	}
	if r.PG.WALBytesOwn >= 0 {
		return r.PG.WALBytesOwn
	}
	return r.PG.WALBytesLSN
}

func walPerEvent(r *Result) float64 {
	if r == nil || r.Events == 0 {
		return 0
	}
	return float64(walBytes(r)) / float64(r.Events)
}

// targets checks issue 5's goals against the results present.
func targets(rep *Report) []Target {
	var ts []Target
	add := func(name, goal, measured string, pass bool) {
		res := "FAIL"
		if pass {
			res = "PASS"
		}
		ts = append(ts, Target{Name: name, Goal: goal, Measured: measured, Result: res})
	}
	na := func(name, goal, why string) {
		ts = append(ts, Target{Name: name, Goal: goal, Measured: why, Result: "n/a"})
	}

	for _, n := range []int{1, 2} {
		c := rep.result(fmt.Sprintf("ceiling-%d", n))
		d := rep.result(fmt.Sprintf("drain-%d", n))
		if c != nil && d != nil && c.EventsPerSec > 0 {
			d.VsCeiling = d.EventsPerSec / c.EventsPerSec
		}
	}
	if b, c := rep.result("buffer"), rep.result("ceiling-1"); b != nil && c != nil && c.EventsPerSec > 0 {
		b.VsCeiling = b.EventsPerSec / c.EventsPerSec
	}
	if d := rep.result("drain-1"); d != nil && d.VsCeiling > 0 {
		add("drain, 1 replica, against the read ceiling", "≥ 75%",
			fmt.Sprintf("%.1f%% (%s of %s events/s)", 100*d.VsCeiling, count(int64(d.EventsPerSec)), count(int64(d.EventsPerSec/d.VsCeiling))),
			d.VsCeiling >= 0.75)
	}
	if d1, d2 := rep.result("drain-1"), rep.result("drain-2"); d1 != nil && d2 != nil {
		add("drain, 2 replicas faster than 1", "> drain-1",
			fmt.Sprintf("%s against %s events/s (%.2f×)", count(int64(d2.EventsPerSec)), count(int64(d1.EventsPerSec)), d2.EventsPerSec/d1.EventsPerSec),
			d2.EventsPerSec > d1.EventsPerSec)
	}
	if direct := rep.result("direct"); direct != nil && walPerEvent(direct) > 0 {
		for _, name := range []string{"drain-1", "drain-2"} {
			if d := rep.result(name); d != nil {
				ratio := walPerEvent(d) / walPerEvent(direct)
				add("WAL per event, "+name+" against direct", "≤ 25%",
					fmt.Sprintf("%.0f%% (%.1f against %.1f B/event)", 100*ratio, walPerEvent(d), walPerEvent(direct)), ratio <= 0.25)
			}
		}
	}
	for _, r := range rep.Results {
		if r.PG == nil || r.Flushes == 0 {
			continue
		}
		if h := r.PG.HOTShare(); h >= 0 {
			add("HOT share of updates, "+r.Scenario, "≥ 95%",
				fmt.Sprintf("%.1f%% (%s of %s updates)", 100*h, count(r.PG.HOTUpdated), count(r.PG.RowsUpdated)), h >= 0.95)
		}
	}
	if first := rep.result("replay-first"); first != nil && first.PG != nil {
		for _, name := range []string{"replay-again", "replay-vacuumed"} {
			again := rep.result(name)
			if again == nil || again.PG == nil {
				continue
			}
			add("no row written or locked by a replay of an applied range, "+name, "0 write transactions",
				fmt.Sprintf("%d write transactions, %d rows written", again.PG.WriteXacts, again.PG.RowsWritten()),
				again.PG.WriteXacts == 0 && again.PG.RowsWritten() == 0)
		}
		if again := rep.result("replay-vacuumed"); again != nil && again.PG != nil {
			ratio := float64(walBytes(again)) / float64(max(walBytes(first), 1))
			add("replay of an applied range (after VACUUM), WAL against its first apply", "≤ 1%",
				fmt.Sprintf("%.2f%% (%s of %s bytes)", 100*ratio, count(walBytes(again)), count(walBytes(first))),
				ratio <= 0.01)
		}
	}
	for _, r := range rep.Results {
		if r.PG == nil || r.Flushes == 0 {
			continue
		}
		measured := fmt.Sprintf("%d flushes, %d consumer transactions, %d write transactions in PostgreSQL", r.Flushes, r.Transactions, r.PG.WriteXacts)
		if r.PG.WALBytesOwn < 0 && r.PG.OtherCommits > 0 {
			// Other databases' writes take transaction IDs too.
			add("one transaction per non-empty flush, "+r.Scenario, "= flushes", measured+" (other databases active: IDs not compared)", r.Transactions == r.Flushes)
			continue
		}
		add("one transaction per non-empty flush, "+r.Scenario, "= flushes", measured, r.Transactions == r.Flushes && r.PG.WriteXacts == r.Flushes)
	}
	for _, r := range rep.Results {
		if r.Latency == nil {
			continue
		}
		iv, _ := time.ParseDuration(r.FlushInterval)
		limit := float64((iv + 500*time.Millisecond).Milliseconds())
		add("event→commit p99, "+r.Scenario, fmt.Sprintf("≤ %.0f ms", limit),
			fmt.Sprintf("%.0f ms (p50 %.0f ms, %s events)", r.Latency.P99, r.Latency.P50, count(int64(r.Latency.Events))), r.Latency.P99 <= limit && r.Latency.Events > 0)
		if r.Latency.Urgent > 0 {
			add("urgent (migration) event→commit p99, "+r.Scenario, "≤ 500 ms",
				fmt.Sprintf("%.0f ms (p50 %.0f ms, %s events)", r.Latency.UrgentP99, r.Latency.UrgentP50, count(int64(r.Latency.Urgent))), r.Latency.UrgentP99 <= 500)
		}
	}
	if raw, pub := rep.result("produce-raw"), rep.result("produce-publish"); raw != nil && pub != nil {
		ratio := pub.EventsPerSec / raw.EventsPerSec
		add("producer Publish against raw pipelined XADD", "≥ 80%",
			fmt.Sprintf("%.0f%% (%s of %s events/s)", 100*ratio, count(int64(pub.EventsPerSec)), count(int64(raw.EventsPerSec))), ratio >= 0.8)
	}
	if b := rep.result("buffer"); b != nil && b.Buffer != nil {
		add("consumer heap per buffered mint", "≤ 1,024 B",
			fmt.Sprintf("%s B (%s MB live heap for %s mints, %s entries)", count(int64(b.Buffer.BytesPerMint)), mb(b.Buffer.HeapBytes), count(int64(b.Buffer.Mints)), count(b.Buffer.Entries)),
			b.Buffer.BytesPerMint <= 1024)
		if b.Buffer.Mints >= 100_000 {
			add("RSS with 100,000 buffered mints", "≤ 256 MB",
				fmt.Sprintf("%s MB (%s mints)", mb(b.Buffer.RSSBytes), count(int64(b.Buffer.Mints))), b.Buffer.RSSBytes <= 256<<20)
		} else {
			na("RSS with 100,000 buffered mints", "≤ 256 MB", fmt.Sprintf("only %s mints in this run (%s MB)", count(int64(b.Buffer.Mints)), mb(b.Buffer.RSSBytes)))
		}
	}
	return ts
}

func mb(b int64) string { return strconv.FormatFloat(float64(b)/(1<<20), 'f', 0, 64) }

// WriteTable prints the report as Markdown tables.
func (rep *Report) WriteTable(w io.Writer) error { return rep.write(w, false) }

// WriteMarkdown writes the report as a Markdown document, ready to paste
// into docs/benchmarks.md: the command and the run's description in code
// blocks, then the tables of WriteTable.
func (rep *Report) WriteMarkdown(w io.Writer) error { return rep.write(w, true) }

// WriteMarkdownFile writes WriteMarkdown's document to path, creating its
// directory.
func (rep *Report) WriteMarkdownFile(path string) error {
	var b bytes.Buffer
	if err := rep.WriteMarkdown(&b); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

func (rep *Report) write(w io.Writer, md bool) error {
	bw := bufio.NewWriter(w)
	m := rep.Machine
	var hb strings.Builder
	fmt.Fprintf(&hb, "tokensync bench, %s\n\n", rep.Started.Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&hb, "machine: %s, %d cores, %.1f GiB RAM; PostgreSQL %s; Redis %s; %s; background load before the run %.2f cores\n",
		m.CPU, m.Cores, float64(m.MemoryBytes)/(1<<30), m.PostgreSQL, m.Redis, m.Go, m.BackgroundLoad)
	fmt.Fprintf(&hb, "PostgreSQL: %s\nRedis: %s\n", m.PostgreSQLSettings, m.RedisSettings)
	if m.RedisCluster != "" {
		fmt.Fprintf(&hb, "Redis Cluster: %s\n", m.RedisCluster)
	}
	s := rep.Settings
	fmt.Fprintf(&hb, "settings: %s events pre-loaded, direct sample %s, produce %d×%s events per side, steady %s events/s for %s per flush interval, seed %d",
		count(int64(s.Events)), count(int64(s.DirectSample)), produceRounds, count(int64(s.ProduceEvents)), count(int64(s.SteadyRate)), s.SteadyDuration, s.Seed)
	if s.Shards > 0 {
		fmt.Fprintf(&hb, "; sharded and cluster drains over %d shards", s.Shards)
	}
	if md {
		fmt.Fprintln(bw, "# tokensync bench")
		if rep.Command != "" {
			fmt.Fprintf(bw, "\n```sh\n%s\n```\n", rep.Command)
		}
		fmt.Fprintf(bw, "\n```text\n%s\n```\n\n", hb.String())
	} else {
		fmt.Fprintf(bw, "%s\n\n", hb.String())
	}

	fmt.Fprintln(bw, "Throughput and resources (heap and RSS: the bench process, which runs the consumers; CPU: seconds used by the bench process / the Redis server / the PostgreSQL server, then their sum per event and per second of the scenario):")
	fmt.Fprintln(bw, "\n| scenario | events | seconds | events/s | vs ceiling | peak heap MB | peak RSS MB | CPU s bench / redis / postgres | CPU µs/event | cores busy |")
	fmt.Fprintln(bw, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, r := range rep.Results {
		vs := "-"
		if r.VsCeiling > 0 {
			vs = fmt.Sprintf("%.0f%%", 100*r.VsCeiling)
		}
		heap, rss := "-", "-"
		if r.PeakHeapBytes > 0 {
			heap, rss = mb(int64(r.PeakHeapBytes)), mb(r.PeakRSSBytes)
		}
		cpu, perEvent, busy := "-", "-", "-"
		if c := r.CPU; c != nil {
			pg := "?"
			if c.Postgres >= 0 {
				pg = fmt.Sprintf("%.1f", c.Postgres)
			}
			cpu = fmt.Sprintf("%.1f / %.1f / %s", c.Bench, c.Redis, pg)
			if r.Events > 0 {
				perEvent = fmt.Sprintf("%.1f", 1e6*c.Total()/float64(r.Events))
			}
			if r.Seconds > 0 {
				busy = fmt.Sprintf("%.2f", c.Total()/r.Seconds)
			}
		}
		fmt.Fprintf(bw, "| %s | %s | %.2f | %s | %s | %s | %s | %s | %s | %s |\n",
			r.Scenario, count(r.Events), r.Seconds, count(int64(r.EventsPerSec)), vs, heap, rss, cpu, perEvent, busy)
	}

	fmt.Fprintln(bw, "\nPostgreSQL (WAL per event three ways: LSN distance, pg_stat_wal, and the records of the bench database found with pg_walinspect; FPI: full-page images, all / bench database):")
	fmt.Fprintln(bw, "\n| scenario | commits | write xacts | flushes | WAL B/event LSN | WAL B/event pg_stat_wal | WAL B/event bench DB | FPI | ckpt buffers | rows written | HOT |")
	fmt.Fprintln(bw, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, r := range rep.Results {
		p := r.PG
		if p == nil {
			continue
		}
		walLSN, walStat, walOwn, hot := "-", "-", "-", "-"
		if r.Events > 0 {
			walLSN = fmt.Sprintf("%.1f", float64(p.WALBytesLSN)/float64(r.Events))
			walStat = fmt.Sprintf("%.1f", float64(p.WALBytesStat)/float64(r.Events))
			if p.WALBytesOwn >= 0 {
				walOwn = fmt.Sprintf("%.1f", float64(p.WALBytesOwn)/float64(r.Events))
			}
		}
		fpi := count(p.FPI)
		if p.FPIOwn >= 0 {
			fpi += " / " + count(p.FPIOwn)
		}
		if h := p.HOTShare(); h >= 0 {
			hot = fmt.Sprintf("%.1f%%", 100*h)
		}
		flushes := "-"
		if r.Flushes > 0 {
			flushes = count(r.Flushes)
		} else if r.Statements > 0 {
			flushes = count(r.Statements) + " stmts"
		}
		fmt.Fprintf(bw, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			r.Scenario, count(p.Commits), count(p.WriteXacts), flushes, walLSN, walStat, walOwn,
			fpi, count(p.CheckpointBuffers), count(p.RowsWritten()), hot)
	}

	rep.writeNodes(bw)

	var lat []Result
	for _, r := range rep.Results {
		if r.Latency != nil {
			lat = append(lat, r)
		}
	}
	if len(lat) > 0 {
		fmt.Fprintln(bw, "\nEvent→commit latency (entry ID time to the commit of the flush that applied the event):")
		fmt.Fprintln(bw, "\n| scenario | flush interval | events | p50 ms | p99 ms | max ms | urgent events | urgent p50 ms | urgent p99 ms | urgent max ms |")
		fmt.Fprintln(bw, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
		for _, r := range lat {
			l := r.Latency
			fmt.Fprintf(bw, "| %s | %s | %s | %.0f | %.0f | %.0f | %s | %.0f | %.0f | %.0f |\n",
				r.Scenario, r.FlushInterval, count(int64(l.Events)), l.P50, l.P99, l.Max, count(int64(l.Urgent)), l.UrgentP50, l.UrgentP99, l.UrgentMax)
		}
	}
	if b := rep.result("buffer"); b != nil && b.Buffer != nil {
		fmt.Fprintln(bw, "\nConsumer memory with the whole stream in one window:")
		fmt.Fprintln(bw, "\n| mints buffered | entries | live heap MB | heap per mint B | RSS MB |")
		fmt.Fprintln(bw, "|--:|--:|--:|--:|--:|")
		fmt.Fprintf(bw, "| %s | %s | %s | %s | %s |\n", count(int64(b.Buffer.Mints)), count(b.Buffer.Entries),
			mb(b.Buffer.HeapBytes), count(int64(b.Buffer.BytesPerMint)), mb(b.Buffer.RSSBytes))
	}
	if len(rep.Targets) > 0 {
		fmt.Fprintln(bw, "\nTargets (issue 5):")
		fmt.Fprintln(bw, "\n| target | goal | measured | result |")
		fmt.Fprintln(bw, "|---|---|---|---|")
		for _, t := range rep.Targets {
			fmt.Fprintf(bw, "| %s | %s | %s | %s |\n", t.Name, t.Goal, t.Measured, t.Result)
		}
	}
	var notes []string
	for _, r := range rep.Results {
		for _, n := range r.Notes {
			notes = append(notes, r.Scenario+": "+n)
		}
	}
	notes = append(notes, rep.Notes...)
	if len(notes) > 0 {
		fmt.Fprintln(bw, "\nNotes:")
		for _, n := range notes {
			if md {
				n = strings.NewReplacer("<", "&lt;", ">", "&gt;").Replace(n)
			}
			fmt.Fprintln(bw, "- "+n)
		}
	}
	if rep.Took != "" {
		fmt.Fprintf(bw, "\nThe run took %s.\n", rep.Took)
	}
	return bw.Flush()
}

// writeNodes prints, in a run with a cluster, the drains side by side and
// what each Redis node held and spent during them.
func (rep *Report) writeNodes(bw *bufio.Writer) {
	var rows []Result
	for _, r := range rep.Results {
		if len(r.Nodes) > 0 {
			rows = append(rows, r)
		}
	}
	if len(rows) == 0 {
		return
	}
	fmt.Fprintln(bw, "\nDrain on one Redis node against a Redis Cluster (Redis: where the streams live; shards: the stream shards the events are spread over, 1 for one stream; "+
		"vs 1 stream: events/s against the drain with as many replicas on one node with one stream; CPU: seconds used by the bench process / all Redis servers together / the PostgreSQL server, "+
		"and by everything else on the machine; cores busy: bench, Redis and PostgreSQL per second of the drain; busiest Redis: the most CPU one Redis server used, per second of the drain. "+
		"Every drain here ends when every entry is read and the replicas, stopped then, have written and acknowledged the rest):")
	fmt.Fprintln(bw, "\n| scenario | Redis | shards | replicas | events | seconds | events/s | vs 1 stream | CPU s bench / redis / postgres | other CPU s | cores busy | busiest Redis, cores |")
	fmt.Fprintln(bw, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, r := range rows {
		vs := "-"
		if base := rep.result(fmt.Sprintf("drain-%d", r.Replicas)); base != nil && base.Scenario != r.Scenario && base.EventsPerSec > 0 {
			vs = fmt.Sprintf("%.2f×", r.EventsPerSec/base.EventsPerSec)
		}
		cpu, other, busy, busiest := "-", "-", "-", "-"
		if c := r.CPU; c != nil {
			pg := "?"
			if c.Postgres >= 0 {
				pg = fmt.Sprintf("%.1f", c.Postgres)
			}
			cpu = fmt.Sprintf("%.1f / %.1f / %s", c.Bench, c.Redis, pg)
			other = fmt.Sprintf("%.1f", c.Other)
			if r.Seconds > 0 {
				busy = fmt.Sprintf("%.2f", c.Total()/r.Seconds)
			}
		}
		if r.Seconds > 0 {
			most := 0.0
			for _, n := range r.Nodes {
				most = max(most, n.CPUSeconds)
			}
			busiest = fmt.Sprintf("%.2f", most/r.Seconds)
		}
		fmt.Fprintf(bw, "| %s | %s | %d | %d | %s | %.2f | %s | %s | %s | %s | %s | %s |\n",
			r.Scenario, r.Redis, r.Shards, r.Replicas, count(r.Events), r.Seconds, count(int64(r.EventsPerSec)), vs, cpu, other, busy, busiest)
	}

	fmt.Fprintln(bw, "\nRedis nodes during the drains (per server: the hash slots it serves, the drain's shards and entries it holds and its largest shard, and the CPU time of its redis-server process "+
		"from the start of the drain to the end of the scenario: seconds, share of all Redis servers' time, and per second of the drain):")
	fmt.Fprintln(bw, "\n| scenario | node | slots | shards | entries | share of entries | largest shard | Redis CPU s | share of Redis CPU | cores |")
	fmt.Fprintln(bw, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|")
	sources := map[string]string{}
	var addrs []string
	for _, r := range rows {
		var entries int64
		var cpu float64
		for _, n := range r.Nodes {
			entries += n.Entries
			cpu += n.CPUSeconds
		}
		for _, n := range r.Nodes {
			slots, cores := "-", "-"
			if n.Slots > 0 {
				slots = count(int64(n.Slots))
			}
			if r.Seconds > 0 {
				cores = fmt.Sprintf("%.2f", n.CPUSeconds/r.Seconds)
			}
			largest := "-"
			if l, ok := n.largest(); ok && shardName(l.Key) != l.Key {
				largest = fmt.Sprintf("%s %s", shardName(l.Key), count(l.Entries))
			}
			fmt.Fprintf(bw, "| %s | %s | %s | %d | %s | %s | %s | %.1f | %s | %s |\n",
				r.Scenario, n.Addr, slots, n.Shards, count(n.Entries), percent(float64(n.Entries), float64(entries)),
				largest, n.CPUSeconds, percent(n.CPUSeconds, cpu), cores)
			if _, seen := sources[n.Addr]; !seen {
				addrs = append(addrs, n.Addr)
			}
			sources[n.Addr] = n.CPUFrom
		}
	}
	var from []string
	for _, a := range addrs {
		from = append(from, a+" "+sources[a])
	}
	fmt.Fprintf(bw, "\nRedis CPU time read from: %s.\n", strings.Join(from, ", "))
}

// shardName is the hash tag of a shard's key ("{12}"), or the key itself.
func shardName(key string) string {
	if i := strings.LastIndex(key, ":{"); i >= 0 && strings.HasSuffix(key, "}") {
		return key[i+1:]
	}
	return key
}

func percent(part, whole float64) string {
	if whole <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*part/whole)
}

// WriteJSON writes the report to path, creating its directory.
func (rep *Report) WriteJSON(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
