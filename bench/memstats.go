package bench

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// memSampler records the peak heap in use and the peak resident set of this
// process while a scenario runs, sampling every interval. The kernel's own
// high-water mark (VmHWM, reset at the start when the kernel allows it)
// catches peaks between samples.
type memSampler struct {
	stop     chan struct{}
	done     chan struct{}
	mu       sync.Mutex
	peakHeap uint64
	peakRSS  int64
	hwmReset bool
}

func startMemSampler(interval time.Duration) *memSampler {
	m := &memSampler{stop: make(chan struct{}), done: make(chan struct{})}
	// "5" resets the peak RSS of the process (Linux 4.0 and later).
	m.hwmReset = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	m.sample()
	go func() {
		defer close(m.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-m.stop:
				return
			case <-t.C:
				m.sample()
			}
		}
	}()
	return m
}

func (m *memSampler) sample() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss, _ := procStatus()
	m.mu.Lock()
	m.peakHeap = max(m.peakHeap, ms.HeapInuse)
	m.peakRSS = max(m.peakRSS, rss)
	m.mu.Unlock()
}

// Stop ends sampling and returns the peaks in bytes.
func (m *memSampler) Stop() (heapInuse uint64, rss int64) {
	close(m.stop)
	<-m.done
	m.sample()
	if _, hwm := procStatus(); m.hwmReset && hwm > 0 {
		m.peakRSS = max(m.peakRSS, hwm)
	}
	return m.peakHeap, m.peakRSS
}

// procStatus returns VmRSS and VmHWM of this process in bytes, 0 where unknown.
func procStatus() (rss, hwm int64) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		f := strings.Fields(v)
		if len(f) < 1 {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		if k == "VmRSS" {
			rss = n * 1024
		} else {
			hwm = n * 1024
		}
	}
	return rss, hwm
}

// cpuSample is CPU time spent so far, in seconds: by this process, by the
// Redis server, by the PostgreSQL server (-1 when its processes cannot be
// read) and by the whole machine (all processes, all cores). When Redis
// nodes are measured one by one, nodes holds each one's and redis their sum.
type cpuSample struct {
	bench, redis, postgres, machine float64
	nodes                           []float64
}

// CPU is the CPU time a scenario cost, in seconds. Postgres is the server's
// processes, exited backends included, read from /proc when PostgreSQL runs
// on this machine, else -1. Other is the machine's busy time (tick-sampled
// by the kernel, so it misses short bursts) minus the three, at least 0.
type CPU struct {
	Bench    float64 `json:"bench"`
	Redis    float64 `json:"redis"`
	Postgres float64 `json:"postgres"`
	Other    float64 `json:"other"`
}

// Total is the CPU time of the bench, Redis and PostgreSQL, or of the bench,
// Redis and everything else when PostgreSQL's is unknown.
func (c CPU) Total() float64 {
	if c.Postgres >= 0 {
		return c.Bench + c.Redis + c.Postgres
	}
	return c.Bench + c.Redis + c.Other
}

// sampleCPU samples CPU time with Redis's from INFO cpu of rdb.
func sampleCPU(ctx context.Context, rdb redis.UniversalClient, postmaster int) cpuSample {
	return sampleCPUOf(ctx, rdb, nil, postmaster)
}

// sampleCPUOf is sampleCPU, with Redis's CPU time the sum over nodes when
// there are any.
func sampleCPUOf(ctx context.Context, rdb redis.UniversalClient, nodes []*redisNode, postmaster int) cpuSample {
	s := cpuSample{postgres: -1}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.bench = tv(ru.Utime) + tv(ru.Stime)
	}
	if len(nodes) == 0 {
		s.redis = infoCPU(ctx, rdb)
	}
	for _, n := range nodes {
		c := n.cpu(ctx)
		s.nodes = append(s.nodes, c)
		s.redis += c
	}
	if postmaster > 0 {
		s.postgres = serverCPU(postmaster)
	}
	s.machine = machineBusy()
	return s
}

// infoCPU is used_cpu_sys plus used_cpu_user of INFO cpu: the CPU time of
// the server process rdb reaches, 0 when INFO fails.
func infoCPU(ctx context.Context, rdb redis.UniversalClient) float64 {
	var cpu float64
	if info, err := rdb.Info(ctx, "cpu").Result(); err == nil {
		for _, line := range strings.Split(info, "\n") {
			k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
			if k == "used_cpu_sys" || k == "used_cpu_user" {
				f, _ := strconv.ParseFloat(v, 64)
				cpu += f
			}
		}
	}
	return cpu
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

func (s cpuSample) since(b cpuSample) CPU {
	c := CPU{Bench: s.bench - b.bench, Redis: s.redis - b.redis, Postgres: -1}
	known := c.Bench + c.Redis
	if s.postgres >= 0 && b.postgres >= 0 {
		c.Postgres = s.postgres - b.postgres
		known += c.Postgres
	}
	if s.machine > 0 {
		c.Other = max(0, s.machine-b.machine-known)
	}
	return c
}

// procStat returns the parent PID and the utime, stime, cutime and cstime
// of a process, in seconds, from /proc/<pid>/stat.
func procStat(pid int) (ppid int, self, children float64, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, 0, false
	}
	// The command name may hold spaces and parentheses: fields start after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 15 {
		return 0, 0, 0, false
	}
	num := func(s string) float64 { n, _ := strconv.ParseFloat(s, 64); return n / 100 } // USER_HZ
	ppid, _ = strconv.Atoi(f[1])
	return ppid, num(f[11]) + num(f[12]), num(f[13]) + num(f[14]), true
}

// postmasterOf returns the parent of a backend's process, its postmaster,
// or 0 when /proc does not show it (PostgreSQL on another machine).
func postmasterOf(backend uint32) int {
	ppid, _, _, ok := procStat(int(backend))
	if !ok {
		return 0
	}
	return ppid
}

// serverCPU is the CPU time of a PostgreSQL server: the postmaster, its
// live children, and its exited children (reaped into its cutime/cstime).
func serverCPU(postmaster int) float64 {
	// A child reaped between reading the postmaster and reading its
	// children would be counted nowhere: read the postmaster again and
	// retry when its children's time moved.
	for range 10 {
		_, self, children, ok := procStat(postmaster)
		if !ok {
			return -1
		}
		entries, err := os.ReadDir("/proc")
		if err != nil {
			return -1
		}
		live := 0.0
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid == postmaster {
				continue
			}
			if ppid, cpu, _, ok := procStat(pid); ok && ppid == postmaster {
				live += cpu
			}
		}
		if _, _, again, ok := procStat(postmaster); ok && again == children {
			return self + children + live
		}
	}
	return -1
}

// machineBusy reads the busy time of all CPUs from /proc/stat, in seconds
// (0 where unavailable).
func machineBusy() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 8 || f[0] != "cpu" {
		return 0
	}
	var busy float64
	// user nice system idle iowait irq softirq steal: all but idle and iowait.
	for i, v := range f[1:min(len(f), 9)] {
		if i == 3 || i == 4 {
			continue
		}
		n, _ := strconv.ParseFloat(v, 64)
		busy += n
	}
	return busy / 100 // USER_HZ is 100 on Linux
}
