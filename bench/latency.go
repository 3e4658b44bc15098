package bench

import (
	"encoding/json"
	"io"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/tokensync/tokensync/consumer"
	"github.com/tokensync/tokensync/event"
)

// flushLog sees a scenario's consumers at work: every completed flush, with
// its commit time and the entries it applied (Config.OnFlush), and their log,
// whose warnings and errors it passes on.
type flushLog struct {
	mu      sync.Mutex
	flushes []flushRecord
	warn    io.Writer
}

type flushRecord struct {
	at     time.Time // the PostgreSQL commit
	events int
	mints  int
	ids    []event.ID
}

// onFlush is the consumers' Config.OnFlush.
func (l *flushLog) onFlush(f consumer.FlushInfo) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.flushes = append(l.flushes, flushRecord{at: f.Committed, events: f.Events, mints: f.Mints, ids: f.Applied})
}

func (l *flushLog) Write(p []byte) (int, error) {
	var line struct {
		Level string `json:"level"`
	}
	if err := json.Unmarshal(p, &line); err != nil {
		return len(p), nil
	}
	if (line.Level == "warn" || line.Level == "error") && l.warn != nil {
		l.mu.Lock()
		defer l.mu.Unlock()
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

// sent is one produced event: its entry ID and whether its type is urgent.
type sent struct {
	id     event.ID
	urgent bool
}

// latencies matches every produced event with the flush that committed it,
// by entry ID: an event's latency is that flush's commit time minus the time
// in its entry ID. Urgent events are written in flushes of their own, so
// flushes do not follow stream order.
func latencies(events []sent, flushes []flushRecord) Latency {
	byID := make(map[event.ID]int, len(events))
	for i, e := range events {
		byID[e.id] = i
	}
	committed := make([]time.Time, len(events))
	for _, f := range flushes {
		for _, id := range f.ids {
			if i, ok := byID[id]; ok && committed[i].IsZero() {
				committed[i] = f.at
			}
		}
	}
	var all, urgent []float64
	matched := 0
	for i, e := range events {
		if committed[i].IsZero() {
			continue
		}
		matched++
		ms := float64(committed[i].UnixMicro())/1000 - float64(e.id.Ms)
		all = append(all, ms)
		if e.urgent {
			urgent = append(urgent, ms)
		}
	}
	l := Latency{Events: len(all), Urgent: len(urgent), Unmatched: len(events) - matched}
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
