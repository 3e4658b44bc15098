package event

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzDecode feeds arbitrary field values to Decode. It must never panic, and
// whatever it accepts must survive Values and Decode unchanged: the producer
// and consumer sides agree on every event.
func FuzzDecode(f *testing.F) {
	f.Add("1-1", "token", mint, "2024-05-01T12:00:00Z", "Name", "1714564800000", "1.5")
	f.Add("2", "market", mint, "", "", "", "-1e+21")
	f.Add("3-0", "migration", "short", "x", "\xff", "2024-02-30T00:00:00Z", "NaN")
	f.Add("0-1", "pool", mint, "1714564800000", "\x00", "", ".")
	f.Fuzz(func(t *testing.T, id, typ, m, ts, text, tm, num string) {
		values := map[string]any{
			"type": typ, "mint": m, "ts": ts,
			"name": text, "symbol": text, "uri": text, "creator": text, "created_at": tm,
			"pool": text, "dex": text, "migrated_at": tm,
			"price_usd": num, "market_cap_usd": num, "liquidity_usd": num, "volume_24h_usd": num,
		}
		ev, err := Decode(id, values)
		if err != nil {
			if _, ok := err.(*DecodeError); !ok {
				t.Fatalf("Decode error %v is a %T, want *DecodeError", err, err)
			}
			return
		}
		if err := ev.Validate(); err != nil {
			t.Fatalf("decoded event fails Validate: %v", err)
		}
		again, err := Decode(id, valuesMap(ev.Values()))
		if err != nil {
			t.Fatalf("Decode(Values()) = %v for %+v", err, ev)
		}
		if diff := cmp.Diff(ev, again); diff != "" {
			t.Fatalf("round trip mismatch (-first +again):\n%s", diff)
		}
	})
}
