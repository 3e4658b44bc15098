//go:build chaos

package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"time"

	"github.com/tokensync/tokensync/consumer"
)

// Crash tests build the binary with -tags chaos. With
// TOKENSYNC_CHAOS_AFTER_COMMIT=P, a committed window waits before its XACK,
// with probability P, after announcing it on stderr, so that the test can
// kill the process exactly between commit and acknowledgement.
func init() {
	p, err := strconv.ParseFloat(os.Getenv("TOKENSYNC_CHAOS_AFTER_COMMIT"), 64)
	if err != nil || p <= 0 {
		return
	}
	chaosHook = func(cfg *consumer.Config) {
		cfg.AfterCommit = func() {
			if rand.Float64() < p {
				fmt.Fprintln(os.Stderr, "CHAOS committed-not-acked")
				time.Sleep(300 * time.Millisecond)
			}
		}
	}
}
