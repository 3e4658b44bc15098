package event_test

import (
	"errors"
	"fmt"

	"github.com/tokensync/tokensync/event"
)

func ExampleDecode() {
	ev, err := event.Decode("1714564800000-0", map[string]any{
		"type":        "migration",
		"mint":        "So11111111111111111111111111111111111111112",
		"pool":        "58oQChx4yWmvKdwLLZzBi4ChoCc2fqCUWBkwMihLYQo2",
		"dex":         "raydium",
		"migrated_at": "1714564799123", // Unix milliseconds or RFC 3339
		"novel_field": "ignored",       // forward compatible
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ev.Type, ev.Dex, ev.MigratedAt, ev.Time())

	_, err = event.Decode("1714564800000-1", map[string]any{"type": "market", "mint": "not-base58"})
	var de *event.DecodeError
	fmt.Println(errors.As(err, &de), de.Field)
	// Output:
	// migration raydium 2024-05-01 11:59:59.123 +0000 UTC 2024-05-01 12:00:00 +0000 UTC
	// true mint
}

func ExampleID_Compare() {
	a, _ := event.ParseID("1714564800000-9")
	b, _ := event.ParseID("1714564800000-10")
	fmt.Println(a.Compare(b), b.Compare(a))
	// Output: -1 1
}
