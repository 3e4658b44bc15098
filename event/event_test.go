package event

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const mint = "So11111111111111111111111111111111111111112"

func TestDecode(t *testing.T) {
	ts := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		id      string
		values  map[string]any
		want    Event
		wantErr string // field of the DecodeError; "-" for the entry as a whole
	}{
		{
			name:   "token with all fields",
			id:     "1714564800000-3",
			values: map[string]any{"type": "token", "mint": mint, "name": "Wrapped SOL", "symbol": "SOL", "uri": "https://x/y.json", "creator": "me", "created_at": "2024-05-01T12:00:00Z", "ts": "1714564800000"},
			want:   Event{ID: ID{1714564800000, 3}, Type: TypeToken, Mint: mint, TS: ts, Name: "Wrapped SOL", Symbol: "SOL", URI: "https://x/y.json", Creator: "me", CreatedAt: ts},
		},
		{
			name:   "market keeps decimal strings exactly",
			id:     "5-0",
			values: map[string]any{"type": "market", "mint": mint, "price_usd": "0.000000012345678901234567890", "market_cap_usd": "1e+21", "liquidity_usd": "-3.", "volume_24h_usd": ".5"},
			want:   Event{ID: ID{5, 0}, Type: TypeMarket, Mint: mint, PriceUSD: "0.000000012345678901234567890", MarketCapUSD: "1e+21", LiquidityUSD: "-3.", Volume24hUSD: ".5"},
		},
		{
			name:   "migration carries pool, dex and time; unknown fields ignored",
			id:     "7",
			values: map[string]any{"type": "migration", "mint": mint, "pool": "P", "dex": "raydium", "migrated_at": "2024-05-01T14:00:00.1234567+02:00", "name": "ignored", "extra": "x"},
			want:   Event{ID: ID{7, 0}, Type: TypeMigration, Mint: mint, Pool: "P", Dex: "raydium", MigratedAt: time.Date(2024, 5, 1, 12, 0, 0, 123457000, time.UTC)},
		},
		{
			name:   "empty values are absent",
			id:     "8-1",
			values: map[string]any{"type": "pool", "mint": mint, "pool": "", "dex": "", "ts": ""},
			want:   Event{ID: ID{8, 1}, Type: TypePool, Mint: mint},
		},
		{name: "deleted entry", id: "1-1", values: nil, wantErr: "-"},
		{name: "bad id", id: "x", values: map[string]any{"type": "pool", "mint": mint}, wantErr: "-"},
		{name: "missing type", id: "1-1", values: map[string]any{"mint": mint}, wantErr: "type"},
		{name: "unknown type", id: "1-1", values: map[string]any{"type": "trade", "mint": mint}, wantErr: "type"},
		{name: "missing mint", id: "1-1", values: map[string]any{"type": "pool"}, wantErr: "mint"},
		{name: "short mint", id: "1-1", values: map[string]any{"type": "pool", "mint": "abc"}, wantErr: "mint"},
		{name: "mint not base58", id: "1-1", values: map[string]any{"type": "pool", "mint": "0o11111111111111111111111111111111111111112"}, wantErr: "mint"},
		{name: "bad ts", id: "1-1", values: map[string]any{"type": "pool", "mint": mint, "ts": "yesterday"}, wantErr: "ts"},
		{name: "ts out of range", id: "1-1", values: map[string]any{"type": "pool", "mint": mint, "ts": "99999999999999999"}, wantErr: "ts"},
		{name: "bad number", id: "1-1", values: map[string]any{"type": "market", "mint": mint, "price_usd": "1,5"}, wantErr: "price_usd"},
		{name: "NaN", id: "1-1", values: map[string]any{"type": "market", "mint": mint, "price_usd": "NaN"}, wantErr: "price_usd"},
		{name: "huge exponent", id: "1-1", values: map[string]any{"type": "market", "mint": mint, "price_usd": "1e99999"}, wantErr: "price_usd"},
		{name: "bad created_at", id: "1-1", values: map[string]any{"type": "token", "mint": mint, "created_at": "2024-13-01T00:00:00Z"}, wantErr: "created_at"},
		{name: "NUL in text", id: "1-1", values: map[string]any{"type": "token", "mint": mint, "name": "a\x00b"}, wantErr: "name"},
		{name: "invalid UTF-8", id: "1-1", values: map[string]any{"type": "token", "mint": mint, "symbol": "\xff"}, wantErr: "symbol"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode(tt.id, tt.values)
			if tt.wantErr != "" {
				var de *DecodeError
				if !errors.As(err, &de) {
					t.Fatalf("Decode() error = %v, want a *DecodeError", err)
				}
				if field := map[bool]string{true: "-", false: de.Field}[de.Field == ""]; field != tt.wantErr {
					t.Fatalf("Decode() error %q names field %q, want %q", err, de.Field, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("Decode() mismatch (-want +got):\n%s", diff)
			}
			// Values must round-trip through Decode.
			again, err := Decode(tt.id, valuesMap(got.Values()))
			if err != nil {
				t.Fatalf("Decode(Values()) error = %v", err)
			}
			if diff := cmp.Diff(got, again); diff != "" {
				t.Fatalf("round trip mismatch (-first +again):\n%s", diff)
			}
		})
	}
}

func TestValidateRejectsForeignFields(t *testing.T) {
	ev := Event{Type: TypeMarket, Mint: mint, Name: "x"}
	if err := ev.Validate(); err == nil {
		t.Fatal("Validate() accepted a name on a market event")
	}
}

func TestIDOrder(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1-0", "1-0", 0},
		{"1-9", "1-10", -1}, // numeric, not lexical
		{"10-0", "9-99", 1},
		{"18446744073709551615-18446744073709551615", "18446744073709551615-18446744073709551614", 1},
	}
	for _, tt := range tests {
		a, err := ParseID(tt.a)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := ParseID(tt.b)
		if got := a.Compare(b); got != tt.want {
			t.Errorf("%s.Compare(%s) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if a.String() != tt.a {
			t.Errorf("String() = %s, want %s", a, tt.a)
		}
	}
	for _, s := range []string{"", "-", "1-", "a-1", "1-2-3", "-1-0", "18446744073709551616-0"} {
		if _, err := ParseID(s); !errors.Is(err, ErrBadID) {
			t.Errorf("ParseID(%q) error = %v, want ErrBadID", s, err)
		}
	}
}

func valuesMap(v []any) map[string]any {
	m := make(map[string]any, len(v)/2)
	for i := 0; i+1 < len(v); i += 2 {
		m[v[i].(string)] = v[i+1]
	}
	return m
}
