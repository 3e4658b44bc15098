package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"
)

// Result is one row of the table: what one scenario (or one variant of it)
// measured.
type Result struct {
	Scenario     string  `json:"scenario"`
	Events       int64   `json:"events"`
	Seconds      float64 `json:"seconds"`
	EventsPerSec float64 `json:"events_per_sec"`
	// VsCeiling is EventsPerSec divided by the ceiling with as many readers,
	// measured in the same run; 0 when not applicable.
	VsCeiling float64 `json:"vs_ceiling,omitempty"`
	Replicas  int     `json:"replicas,omitempty"`
	// FlushInterval of the consumer, when one ran.
	FlushInterval string `json:"flush_interval,omitempty"`

	// PG holds PostgreSQL's counters; nil for scenarios without PostgreSQL.
	PG *PGDelta `json:"postgres,omitempty"`
	// Flushes and Transactions are the consumers' own counters
	// (consumer.Stats), summed over replicas; Statements those of a replay.
	Flushes      int64 `json:"flushes,omitempty"`
	Transactions int64 `json:"consumer_transactions,omitempty"`
	Statements   int64 `json:"statements,omitempty"`

	// Peak heap in use (runtime.MemStats.HeapInuse) and peak resident set
	// of the bench process while the scenario ran, sampled every 50ms.
	PeakHeapBytes uint64 `json:"peak_heap_bytes,omitempty"`
	PeakRSSBytes  int64  `json:"peak_rss_bytes,omitempty"`
	CPU           *CPU   `json:"cpu_seconds,omitempty"`

	// Redis names, in a run with a cluster, the Redis a drain ran against
	// ("1 node", "3-node cluster") and Shards the stream shards it read (1:
	// the one stream); Nodes has one entry per Redis server of it.
	Redis  string     `json:"redis,omitempty"`
	Shards int        `json:"shards,omitempty"`
	Nodes  []NodeStat `json:"redis_nodes,omitempty"`

	Latency *Latency `json:"latency,omitempty"`
	Buffer  *Buffer  `json:"buffer,omitempty"`
	Notes   []string `json:"notes,omitempty"`
}

// Buffer is the memory a consumer holding one window with every mint of the
// stream needs.
type Buffer struct {
	Mints   int   `json:"mints"`
	Entries int64 `json:"entries"`
	// HeapBytes is live heap (after two GCs) with the window full, minus the
	// live heap before the consumer started.
	HeapBytes    int64   `json:"heap_bytes"`
	BytesPerMint float64 `json:"heap_bytes_per_mint"`
	// RSSBytes is the resident set of the bench process at that moment.
	RSSBytes int64 `json:"rss_bytes"`
}

type meterOpts struct {
	pg       bool // read PostgreSQL's counters
	truncate bool // empty the tokens table first
	// nodes, when set, are the Redis servers measured one by one: Redis CPU
	// is their sum, and Result.Nodes (set by the scenario, in this order)
	// gets each one's.
	nodes []*redisNode
}

// meter is handed to a scenario: it calls start when the measured part
// begins and stop when it ends (events per second use that span); resource
// figures cover start to the scenario's return.
type meter struct {
	r       *runner
	opts    meterOpts
	res     *Result
	t0, t1  time.Time
	before  pgSnapshot
	cpu0    cpuSample
	mem     *memSampler
	started bool
	profile *os.File // this scenario's CPU profile, while it runs
}

func (m *meter) start(ctx context.Context) error {
	if m.started {
		return errors.New("meter started twice")
	}
	runtime.GC()
	if m.opts.pg {
		var err error
		if m.before, err = m.r.mon.begin(ctx); err != nil {
			return err
		}
	}
	var profile *os.File
	if dir := m.r.cfg.CPUProfileDir; dir != "" {
		f, err := os.Create(filepath.Join(dir, m.res.Scenario+".pprof"))
		if err != nil {
			return fmt.Errorf("CPU profile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return fmt.Errorf("CPU profile: %w", err)
		}
		profile = f
	}
	m.cpu0 = sampleCPUOf(ctx, m.r.rdb, m.opts.nodes, m.r.postmaster)
	m.mem = startMemSampler(50 * time.Millisecond)
	m.profile = profile
	m.started = true
	m.t0 = time.Now()
	return nil
}

func (m *meter) stop() {
	if m.t1.IsZero() {
		m.t1 = time.Now()
	}
	if m.profile != nil {
		pprof.StopCPUProfile()
		m.profile.Close()
		m.profile = nil
	}
}

// measure runs one scenario and records its row.
func (r *runner) measure(ctx context.Context, name string, opts meterOpts, f func(context.Context, *meter) error) error {
	r.progress("%s: starting", name)
	if opts.pg {
		if err := r.mon.prepare(ctx, opts.truncate); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	m := &meter{r: r, opts: opts, res: &Result{Scenario: name}}
	err := f(ctx, m)
	if !m.started {
		if err == nil {
			err = errors.New("scenario never started its meter")
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	m.stop()
	heap, rss := m.mem.Stop()
	if opts.pg && err == nil {
		// Backends count for PostgreSQL's CPU until they have exited.
		err = r.mon.waitSessions(ctx)
	}
	end := sampleCPUOf(context.WithoutCancel(ctx), r.rdb, opts.nodes, r.postmaster)
	cpu := end.since(m.cpu0)
	res := m.res
	res.PeakHeapBytes, res.PeakRSSBytes, res.CPU = heap, rss, &cpu
	if err == nil && len(opts.nodes) > 0 {
		err = nodeCPU(res.Nodes, opts.nodes, m.cpu0, end)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	res.Seconds = m.t1.Sub(m.t0).Seconds()
	if res.Seconds > 0 {
		res.EventsPerSec = float64(res.Events) / res.Seconds
	}
	if opts.pg {
		d, err := r.mon.end(ctx, m.before, true)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		res.PG = &d
		if n := walNote(d); n != "" {
			res.Notes = append(res.Notes, n)
		}
		if d.OtherCommits > 0 {
			res.Notes = append(res.Notes, fmt.Sprintf("%d commits in other databases during this scenario: cluster-wide figures may include their work", d.OtherCommits))
		}
	}
	r.report.Results = append(r.report.Results, *res)
	line := fmt.Sprintf("%s: %s events in %.2fs, %s events/s", name, count(res.Events), res.Seconds, count(int64(res.EventsPerSec)))
	if res.PG != nil && res.Events > 0 {
		line += fmt.Sprintf(", %.1f B WAL/event, %d commits", float64(res.PG.WALBytesLSN)/float64(res.Events), res.PG.Commits)
	}
	r.progress("%s", line)
	return nil
}

// walNote names the record types that make up most of the bench
// database's WAL.
func walNote(d PGDelta) string {
	if d.WALBytesOwn <= 0 || len(d.WALByRecord) == 0 {
		return ""
	}
	var parts []string
	for _, r := range d.WALByRecord[:min(3, len(d.WALByRecord))] {
		p := fmt.Sprintf("%s %.0f%% (%s records", r.Record, 100*float64(r.Bytes)/float64(d.WALBytesOwn), count(r.Records))
		if r.FPI > 0 {
			p += fmt.Sprintf(", %s FPI", count(r.FPI))
		}
		parts = append(parts, p+")")
	}
	return "bench DB WAL by record type: " + strings.Join(parts, ", ")
}

// every calls f every interval until the returned stop is called.
func every(interval time.Duration, f func()) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				f()
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// count formats n with thousands separators.
func count(n int64) string {
	s := fmt.Sprint(n)
	neg := ""
	if n < 0 {
		neg, s = "-", s[1:]
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return neg + s
}
