package producer_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tokensync/tokensync/event"
	"github.com/tokensync/tokensync/internal/testenv"
	"github.com/tokensync/tokensync/producer"
)

const mint = "So11111111111111111111111111111111111111112"

func TestPublish(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	stream := prefix + "events"
	p, err := producer.New(rdb, producer.Config{Stream: stream, PipelineSize: 7})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	t.Run("invalid events send nothing", func(t *testing.T) {
		evs := []event.Event{
			{Type: event.TypeMarket, Mint: mint, PriceUSD: "1"},
			{Type: "trade", Mint: mint},
			{Type: event.TypeMarket, Mint: mint, PriceUSD: "one"},
		}
		ids, err := p.Publish(ctx, evs)
		if ids != nil || err == nil {
			t.Fatalf("Publish = %v, %v; want no IDs and an error", ids, err)
		}
		var bad []int
		for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
			var ie *producer.InvalidEventError
			if errors.As(e, &ie) {
				bad = append(bad, ie.Index)
			}
		}
		if !cmp.Equal(bad, []int{1, 2}) {
			t.Fatalf("invalid indexes %v, want [1 2] (error: %v)", bad, err)
		}
		if n := rdb.XLen(ctx, stream).Val(); n != 0 {
			t.Fatalf("stream has %d entries after a refused batch", n)
		}
	})

	t.Run("valid events round-trip in order", func(t *testing.T) {
		g, _ := producer.NewGenerator(producer.Workload{Mints: 10, Seed: 1})
		evs := make([]event.Event, 50) // several pipelines of 7
		for i := range evs {
			evs[i] = g.Next()
		}
		ids, err := p.Publish(ctx, evs)
		if err != nil {
			t.Fatal(err)
		}
		msgs, err := rdb.XRange(ctx, stream, "-", "+").Result()
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != len(evs) || len(ids) != len(evs) {
			t.Fatalf("%d IDs, %d entries, want %d", len(ids), len(msgs), len(evs))
		}
		for i, m := range msgs {
			got, err := event.Decode(m.ID, m.Values)
			if err != nil {
				t.Fatal(err)
			}
			want := evs[i]
			want.ID = got.ID
			if m.ID != ids[i] {
				t.Fatalf("entry %d has ID %s, Publish returned %s", i, m.ID, ids[i])
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("entry %d (-published +stored):\n%s", i, diff)
			}
		}
	})
}

func TestParseJSON(t *testing.T) {
	ev, err := producer.ParseJSON([]byte(`{"type":"market","mint":"` + mint + `","price_usd":0.000000012345678901234567,"market_cap_usd":"1e+21","liquidity_usd":null,"extra":{"x":1}}`))
	if err == nil {
		t.Fatal("accepted an object value")
	}
	ev, err = producer.ParseJSON([]byte(`{"type":"market","mint":"` + mint + `","price_usd":0.000000012345678901234567,"market_cap_usd":"1e+21","liquidity_usd":null}`))
	if err != nil {
		t.Fatal(err)
	}
	// Numbers keep every digit: no float64 on the way.
	if ev.PriceUSD != "0.000000012345678901234567" || ev.MarketCapUSD != "1e+21" || ev.LiquidityUSD != "" {
		t.Fatalf("got %+v", ev)
	}
	for _, bad := range []string{`[1]`, `{"type":"market"}`, `{"type":"token","mint":"` + mint + `","name":true}`, `not json`} {
		if _, err := producer.ParseJSON([]byte(bad)); err == nil {
			t.Errorf("ParseJSON(%s) accepted it", bad)
		}
	}
}

func TestPumpSkipsBadLines(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	p, _ := producer.New(rdb, producer.Config{Stream: prefix + "events"})
	input := strings.Join([]string{
		`{"type":"pool","mint":"` + mint + `","pool":"P1","dex":"raydium"}`,
		``,
		`{"type":"pool","mint":"short"}`,
		`{"type":"market","mint":"` + mint + `","price_usd":"2"}`,
	}, "\n")
	var invalid []string
	st, err := p.Pump(context.Background(), producer.JSONSource(strings.NewReader(input)), producer.PumpConfig{
		OnInvalid: func(err error) { invalid = append(invalid, err.Error()) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Sent != 2 || st.Invalid != 1 || len(invalid) != 1 || !strings.HasPrefix(invalid[0], "line 3: field mint") {
		t.Fatalf("stats %+v, invalid %q", st, invalid)
	}
}

func TestParseMix(t *testing.T) {
	m, err := producer.ParseMix("market=85, token=10,pool=3,migration=2")
	if err != nil || m != producer.DefaultMix {
		t.Fatalf("ParseMix = %+v, %v", m, err)
	}
	for _, bad := range []string{"", "market", "market=-1", "trade=1", "market=0"} {
		if _, err := producer.ParseMix(bad); err == nil {
			t.Errorf("ParseMix(%q) accepted it", bad)
		}
	}
}
