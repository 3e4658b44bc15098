package store_test

import (
	"fmt"

	"github.com/tokensync/tokensync/event"
	"github.com/tokensync/tokensync/store"
)

// Events may arrive in any order; per column group the highest entry ID wins.
func ExampleRow_Apply() {
	const mint = "So11111111111111111111111111111111111111112"
	newer, _ := event.Decode("20-0", map[string]any{"type": "market", "mint": mint, "price_usd": "2"})
	older, _ := event.Decode("10-0", map[string]any{"type": "market", "mint": mint, "price_usd": "1"})
	pool, _ := event.Decode("15-0", map[string]any{"type": "pool", "mint": mint, "pool": "P", "dex": "raydium"})

	r := store.Row{Mint: mint}
	for _, ev := range []event.Event{newer, older, pool} {
		r.Apply(&ev)
	}
	fmt.Println(r.Market.PriceUSD, r.Market.Version, r.Pool.Dex, r.FirstSeenAt.UnixMilli())
	// Output: 2 20-0 raydium 10
}
