package event_test

import (
	"testing"

	"github.com/tokensync/tokensync/event"
	"github.com/tokensync/tokensync/producer"
)

// wireEntries returns n synthetic entries (DefaultMix) as go-redis hands
// them to the consumer: an ID and a map of string values.
func wireEntries(b *testing.B, n int, mix producer.Mix) (ids []string, values []map[string]any) {
	b.Helper()
	g, err := producer.NewGenerator(producer.Workload{Mints: 10_000, Seed: 1, Mix: mix})
	if err != nil {
		b.Fatal(err)
	}
	id := event.ID{Ms: 1_764_000_000_000}
	for range n {
		ev := g.Next()
		v := ev.Values()
		m := make(map[string]any, len(v)/2)
		for i := 0; i+1 < len(v); i += 2 {
			m[v[i].(string)] = v[i+1]
		}
		id = id.Next()
		ids = append(ids, id.String())
		values = append(values, m)
	}
	return ids, values
}

// BenchmarkDecode decodes one entry per op: allocs/op is allocations per event.
func BenchmarkDecode(b *testing.B) {
	for _, tc := range []struct {
		name string
		mix  producer.Mix
	}{
		{"mix", producer.DefaultMix},
		{"market", producer.Mix{Market: 1}},
		{"token", producer.Mix{Token: 1}},
		{"migration", producer.Mix{Migration: 1}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ids, values := wireEntries(b, 1024, tc.mix)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if _, err := event.Decode(ids[i%1024], values[i%1024]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseID(b *testing.B) {
	b.ReportAllocs()
	for range b.N {
		if _, err := event.ParseID("1764000000000-12"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValues is the producer's side: an event to XADD field values.
func BenchmarkValues(b *testing.B) {
	g, err := producer.NewGenerator(producer.Workload{Mints: 10_000, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	evs := make([]event.Event, 1024)
	for i := range evs {
		evs[i] = g.Next()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		_ = evs[i%1024].Values()
	}
}
