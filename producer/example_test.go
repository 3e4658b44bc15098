package producer_test

import (
	"fmt"

	"github.com/tokensync/tokensync/producer"
)

// A line of JSON becomes an event with the wire format's rules; JSON numbers
// keep every digit.
func ExampleParseJSON() {
	ev, err := producer.ParseJSON([]byte(`{"type":"market","mint":"So11111111111111111111111111111111111111112","price_usd":0.000012345678901234567890}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ev.Type, ev.PriceUSD)
	fmt.Println(ev.Values()...)

	_, err = producer.ParseJSON([]byte(`{"type":"market","mint":"So11111111111111111111111111111111111111112","price_usd":"1,5"}`))
	fmt.Println(err)
	// Output:
	// market 0.000012345678901234567890
	// type market mint So11111111111111111111111111111111111111112 price_usd 0.000012345678901234567890
	// field price_usd: "1,5" is not a decimal number
}
