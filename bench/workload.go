package bench

import (
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/tokensync/tokensync/event"
)

// The workload of issue 5: every 10th event announces a new mint (a token
// event); the other nine go to mints that already exist, drawn by Zipf rank
// (s = 1.1, the first mint created being the most popular), with the types
// market 85, pool 3 and migration 2 (out of 90). Over the whole stream that
// is 10% token, 85% market, 3% pool and 2% migration.
const (
	newMintEvery = 10
	zipfS        = 1.1
	weightMarket = 85
	weightPool   = 3
	weightMigr   = 2
)

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

var dexes = []string{"raydium", "pumpswap", "meteora", "orca"}

// Workload draws the benchmark's events. The same seed gives the same
// sequence of types and mints (times differ). It is not safe for concurrent
// use. It implements producer.Source, never returning an error.
type Workload struct {
	rng   *rand.Rand
	zipf  *rand.Zipf
	mints []string
	n     int
}

// NewWorkload returns a workload sized for about events events: the Zipf
// distribution ranges over the mints that many events create.
func NewWorkload(seed uint64, events int) *Workload {
	rng := rand.New(rand.NewPCG(seed, seed^0x5bd1e995))
	maxMints := max(2, events/newMintEvery+1)
	return &Workload{
		rng:   rng,
		zipf:  rand.NewZipf(rng, zipfS, 1, uint64(maxMints-1)),
		mints: make([]string, 0, maxMints),
	}
}

// Mints returns the mints created so far, in creation order.
func (w *Workload) Mints() []string { return w.mints }

// Next returns the next event. Its ID is zero: Redis assigns it.
func (w *Workload) Next() (event.Event, error) {
	i := w.n
	w.n++
	now := time.Now().UTC().Truncate(time.Microsecond)
	if i%newMintEvery == 0 || len(w.mints) == 0 {
		mint := w.address()
		w.mints = append(w.mints, mint)
		return event.Event{
			Type: event.TypeToken, Mint: mint, TS: now,
			Name:      "Token " + strconv.Itoa(len(w.mints)),
			Symbol:    "T" + strconv.FormatUint(uint64(w.rng.Uint32()&0xfffff), 16),
			URI:       "https://example.invalid/" + mint[:8] + ".json",
			Creator:   w.address(),
			CreatedAt: now,
		}, nil
	}
	ev := event.Event{Mint: w.existing(), TS: now}
	switch n := w.rng.IntN(weightMarket + weightPool + weightMigr); {
	case n < weightMarket:
		ev.Type = event.TypeMarket
		ev.PriceUSD = w.decimal(1e3, 9)
		ev.MarketCapUSD = w.decimal(1e9, 2)
		ev.LiquidityUSD = w.decimal(1e7, 2)
		if w.rng.IntN(10) > 0 { // sometimes absent: a NULL overwrites too
			ev.Volume24hUSD = w.decimal(1e8, 2)
		}
	case n < weightMarket+weightPool:
		ev.Type = event.TypePool
		ev.Pool = w.address()
		ev.Dex = dexes[w.rng.IntN(len(dexes))]
	default:
		ev.Type = event.TypeMigration
		ev.Pool = w.address()
		ev.Dex = dexes[w.rng.IntN(len(dexes))]
		ev.MigratedAt = now
	}
	return ev, nil
}

// existing draws a mint that exists by Zipf rank; ranks beyond the mints
// created so far are drawn again.
func (w *Workload) existing() string {
	for {
		if k := w.zipf.Uint64(); k < uint64(len(w.mints)) {
			return w.mints[k]
		}
	}
}

// address returns a random 44-character base58 string, the shape of a
// Solana address.
func (w *Workload) address() string {
	var b [44]byte
	for i := 0; i < len(b); i += 8 {
		v := w.rng.Uint64()
		for j := i; j < min(i+8, len(b)); j++ {
			b[j] = base58Alphabet[v%58]
			v /= 58
		}
	}
	return string(b[:])
}

// decimal returns a non-negative decimal below max with scale digits after
// the point, in PostgreSQL's canonical form.
func (w *Workload) decimal(max float64, scale int) string {
	var b [48]byte
	s := strconv.AppendUint(b[:0], w.rng.Uint64N(uint64(max)), 10)
	s = append(s, '.')
	var f [20]byte
	frac := strconv.AppendUint(f[:0], w.rng.Uint64N(pow10(scale)), 10)
	for range scale - len(frac) {
		s = append(s, '0')
	}
	return string(append(s, frac...))
}

func pow10(n int) uint64 {
	p := uint64(1)
	for ; n > 0; n-- {
		p *= 10
	}
	return p
}
