package consumer

import (
	"runtime"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/tokensync/tokensync/event"
	"github.com/tokensync/tokensync/producer"
)

// benchReplies returns n synthetic entries (DefaultMix, Zipf 1.1 over mints
// mints) as go-redis replies of 1,000 entries, the default READ_COUNT.
func benchReplies(b *testing.B, n, mints int) [][]redis.XMessage {
	b.Helper()
	g, err := producer.NewGenerator(producer.Workload{Mints: mints, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	var replies [][]redis.XMessage
	id := event.ID{Ms: 1_764_000_000_000}
	for i := 0; i < n; i += DefaultReadCount {
		msgs := make([]redis.XMessage, 0, DefaultReadCount)
		for range min(DefaultReadCount, n-i) {
			ev := g.Next()
			v := ev.Values()
			m := make(map[string]any, len(v)/2)
			for j := 0; j+1 < len(v); j += 2 {
				m[v[j].(string)] = v[j+1]
			}
			id = id.Next()
			msgs = append(msgs, redis.XMessage{ID: id.String(), Values: m})
		}
		replies = append(replies, msgs)
	}
	return replies
}

// perItem runs the measured loop and reports its allocations per item (b.N
// counts items), unrounded: -benchmem's allocs/op rounds down to an integer.
func perItem(b *testing.B, unit string, loop func()) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	loop()
	b.StopTimer()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(b.N), "allocs/"+unit)
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N), "B/"+unit)
}

func benchConsumer() *Consumer {
	cfg := Config{Consumer: "bench", Logger: zerolog.Nop()}
	cfg.setDefaults()
	return &Consumer{cfg: cfg, log: cfg.Logger}
}

// BenchmarkDecodeBatch turns replies into batches; an op is one event.
func BenchmarkDecodeBatch(b *testing.B) {
	c := benchConsumer()
	replies := benchReplies(b, 64*DefaultReadCount, 20_000)
	perItem(b, "event", func() {
		for i := 0; i < b.N; i += DefaultReadCount {
			c.decode(0, replies[(i/DefaultReadCount)%len(replies)], nil)
		}
	})
}

// BenchmarkWindowAdd merges decoded batches into a window, starting a new
// window at MaxBatchMints as the consumer does; an op is one event.
func BenchmarkWindowAdd(b *testing.B) {
	c := benchConsumer()
	var batches []*batch
	for _, msgs := range benchReplies(b, 256*DefaultReadCount, 100_000) {
		batches = append(batches, c.decode(0, msgs, nil))
	}
	now := time.Now()
	w := newWindow()
	perItem(b, "event", func() {
		for i := 0; i < b.N; i += DefaultReadCount {
			w.add(batches[(i/DefaultReadCount)%len(batches)], &c.cfg, now)
			if w.full(&c.cfg) {
				w = newWindow()
			}
		}
	})
}

// BenchmarkWindowRows copies a full window's rows out for the flush; an op
// is one row.
func BenchmarkWindowRows(b *testing.B) {
	c := benchConsumer()
	w := newWindow()
	for _, msgs := range benchReplies(b, 200*DefaultReadCount, 100_000) {
		if w.full(&c.cfg) {
			break
		}
		w.add(c.decode(0, msgs, nil), &c.cfg, time.Now())
	}
	n := len(w.slots)
	perItem(b, "row", func() {
		for i := 0; i < b.N; i += n {
			_ = w.rows()
		}
	})
}
