package bench

import (
	"encoding/json"
	"io"
	"math"
	"slices"
	"sync"
	"time"
)

// flushLog is the consumer's log writer during a scenario. It notes the time
// of every "flushed" line (written after the window's commit and its XACK)
// and how many events that window held, and passes warnings and errors on.
type flushLog struct {
	mu      sync.Mutex
	flushes []flushRecord
	warn    io.Writer
}

type flushRecord struct {
	at     time.Time
	events int
	mints  int
}

func (l *flushLog) Write(p []byte) (int, error) {
	at := time.Now()
	var line struct {
		Level   string `json:"level"`
		Message string `json:"message"`
		Events  int    `json:"events"`
		Mints   int    `json:"mints"`
	}
	if err := json.Unmarshal(p, &line); err != nil {
		return len(p), nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if line.Message == "flushed" {
		l.flushes = append(l.flushes, flushRecord{at: at, events: line.Events, mints: line.Mints})
	}
	if (line.Level == "warn" || line.Level == "error") && l.warn != nil {
		_, _ = l.warn.Write(p)
	}
	return len(p), nil
}

func (l *flushLog) records() []flushRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.flushes)
}

// Latency summarizes event-to-commit latencies of one steady scenario, in
// milliseconds.
type Latency struct {
	Events    int     `json:"events"`
	P50       float64 `json:"p50_ms"`
	P99       float64 `json:"p99_ms"`
	Max       float64 `json:"max_ms"`
	Urgent    int     `json:"urgent_events"`
	UrgentP50 float64 `json:"urgent_p50_ms"`
	UrgentP99 float64 `json:"urgent_p99_ms"`
	UrgentMax float64 `json:"urgent_max_ms"`
	// Unmatched counts events no flush could be assigned to (0 when the
	// flushes' event counts add up to the events produced).
	Unmatched int `json:"unmatched"`
}

// sent is one produced event: its entry time (milliseconds of its ID) and
// whether its type is urgent.
type sent struct {
	ms     uint64
	urgent bool
}

// latencies assigns the events, in stream order, to the flushes, in order:
// one replica reads the stream in order and writes one window at a time, so
// flush k holds the events after those of flushes 1..k-1. An event's latency
// is the time of its flush's "flushed" line minus the time in its entry ID.
func latencies(events []sent, flushes []flushRecord) Latency {
	var all, urgent []float64
	i := 0
	for _, f := range flushes {
		for n := 0; n < f.events && i < len(events); n++ {
			e := events[i]
			ms := float64(f.at.UnixMicro())/1000 - float64(e.ms)
			all = append(all, ms)
			if e.urgent {
				urgent = append(urgent, ms)
			}
			i++
		}
	}
	l := Latency{Events: len(all), Urgent: len(urgent), Unmatched: len(events) - i}
	l.P50, l.P99, l.Max = percentile(all, 0.50), percentile(all, 0.99), percentile(all, 1)
	l.UrgentP50, l.UrgentP99, l.UrgentMax = percentile(urgent, 0.50), percentile(urgent, 0.99), percentile(urgent, 1)
	return l
}

// percentile returns the nearest-rank percentile p (0 < p <= 1) of v, which
// it sorts; 0 for an empty v.
func percentile(v []float64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	rank := int(math.Ceil(p*float64(len(v)))) - 1
	return v[min(max(rank, 0), len(v)-1)]
}
