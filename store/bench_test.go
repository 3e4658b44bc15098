package store

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/tokensync/tokensync/event"
	"github.com/tokensync/tokensync/producer"
)

// benchEvents returns n synthetic events (DefaultMix, Zipf 1.1 over mints)
// with increasing entry IDs.
func benchEvents(b *testing.B, n, mints int) []event.Event {
	b.Helper()
	g, err := producer.NewGenerator(producer.Workload{Mints: mints, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	evs := make([]event.Event, n)
	id := event.ID{Ms: 1_764_000_000_000}
	for i := range evs {
		id = id.Next()
		evs[i] = g.Next()
		evs[i].ID = id
	}
	return evs
}

// BenchmarkRowApply merges one event per op into its mint's row, as the
// coalescing window does (the map lookup is the window's, not measured here).
func BenchmarkRowApply(b *testing.B) {
	evs := benchEvents(b, 1<<16, 20_000)
	rows := make(map[string]*Row)
	for i := range evs {
		if rows[evs[i].Mint] == nil {
			rows[evs[i].Mint] = &Row{Mint: evs[i].Mint}
		}
	}
	ptrs := make([]*Row, len(evs))
	for i := range evs {
		ptrs[i] = rows[evs[i].Mint]
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		ptrs[i&(1<<16-1)].Apply(&evs[i&(1<<16-1)])
	}
}

// BenchmarkUpsertArgs builds the statement's arguments for one flush of a
// coalesced window (sorting rows by mint, one array per column). An op is a
// flush; ns/row, B/row and allocs/row divide by the rows it holds.
func BenchmarkUpsertArgs(b *testing.B) {
	for _, window := range []int{1_000, 20_000} {
		b.Run(fmt.Sprintf("rows=%d", window), func(b *testing.B) {
			// About 4.6 events per row, as in the bench's drain.
			evs := benchEvents(b, window*5, window*2)
			byMint := make(map[string]*Row)
			for i := range evs {
				r := byMint[evs[i].Mint]
				if r == nil {
					if len(byMint) == window {
						continue
					}
					r = &Row{Mint: evs[i].Mint}
					byMint[r.Mint] = r
				}
				r.Apply(&evs[i])
			}
			rows := make([]Row, 0, len(byMint))
			for _, r := range byMint {
				rows = append(rows, *r)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			b.ResetTimer()
			for range b.N {
				a := newArgs(rows)
				_ = a.list()
			}
			b.StopTimer()
			runtime.ReadMemStats(&after)
			n := float64(b.N) * float64(len(rows))
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/row")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/n, "B/row")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/n, "allocs/row")
		})
	}
}
