package producer

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/tokensync/tokensync/event"
)

// Mix weighs the event types a Workload draws.
type Mix struct {
	Token, Migration, Pool, Market int
}

// DefaultMix is the shape of the original backend's traffic: mostly market data.
var DefaultMix = Mix{Token: 10, Migration: 2, Pool: 3, Market: 85}

// ParseMix reads "market=85,pool=3,migration=2,token=10"; types left out weigh 0.
func ParseMix(s string) (Mix, error) {
	var m Mix
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		n, err := strconv.Atoi(v)
		if !ok || err != nil || n < 0 {
			return m, fmt.Errorf("mix %q: want type=weight pairs such as market=85,token=10", s)
		}
		t, ok := event.ParseType(k)
		if !ok {
			return m, fmt.Errorf("mix %q: unknown type %q", s, k)
		}
		*m.weight(t) = n
	}
	if m.total() == 0 {
		return m, fmt.Errorf("mix %q: all weights are 0", s)
	}
	return m, nil
}

func (m *Mix) weight(t event.Type) *int {
	switch t {
	case event.TypeToken:
		return &m.Token
	case event.TypeMigration:
		return &m.Migration
	case event.TypePool:
		return &m.Pool
	}
	return &m.Market
}

func (m Mix) total() int { return m.Token + m.Migration + m.Pool + m.Market }

// Workload describes synthetic traffic.
type Workload struct {
	Mints int     // distinct mints; 1000 when 0
	ZipfS float64 // skew of mint popularity, > 1; 1.1 when 0
	Mix   Mix     // DefaultMix when zero
	Seed  uint64  // same seed, same events (apart from times)
}

// Generator draws synthetic events. It is not safe for concurrent use.
type Generator struct {
	rng   *rand.Rand
	zipf  *rand.Zipf
	mints []string
	mix   Mix
	now   time.Time
	n     int
}

// NewGenerator returns a generator for w.
func NewGenerator(w Workload) (*Generator, error) {
	if w.Mints == 0 {
		w.Mints = 1000
	}
	if w.ZipfS == 0 {
		w.ZipfS = 1.1
	}
	if w.Mix.total() == 0 {
		w.Mix = DefaultMix
	}
	if w.Mints < 0 || w.ZipfS <= 1 {
		return nil, fmt.Errorf("workload: want Mints > 0 and ZipfS > 1, got %d and %g", w.Mints, w.ZipfS)
	}
	rng := rand.New(rand.NewPCG(w.Seed, w.Seed^0x9e3779b97f4a7c15))
	g := &Generator{
		rng:   rng,
		zipf:  rand.NewZipf(rng, w.ZipfS, 1, uint64(w.Mints-1)),
		mints: make([]string, w.Mints),
		mix:   w.Mix,
		now:   time.Now().UTC().Truncate(time.Microsecond),
	}
	var b [32]byte
	for i := range g.mints {
		for j := 0; j < len(b); j += 8 {
			v := rng.Uint64()
			for k := 0; k < 8; k++ {
				b[j+k] = byte(v >> (8 * k))
			}
		}
		g.mints[i] = base58(b[:])
	}
	return g, nil
}

// Mints returns the generator's mints, most popular first.
func (g *Generator) Mints() []string { return g.mints }

var dexes = []string{"raydium", "pumpswap", "meteora", "orca"}

// Next returns the next event. Decimals are written in PostgreSQL's canonical
// form, so a table read back compares equal as text.
func (g *Generator) Next() event.Event {
	g.n++
	ev := event.Event{Mint: g.mints[g.zipf.Uint64()], Type: g.pickType()}
	if g.rng.IntN(2) == 0 {
		ev.TS = g.now.Add(-time.Duration(g.rng.Int64N(int64(time.Hour)))).Truncate(time.Microsecond)
	}
	switch ev.Type {
	case event.TypeToken:
		ev.Name = fmt.Sprintf("Token %d", g.n)
		ev.Symbol = fmt.Sprintf("T%X", g.rng.Uint32()&0xfffff)
		ev.URI = "https://example.invalid/" + ev.Mint[:8] + ".json"
		ev.Creator = g.mints[g.rng.IntN(len(g.mints))]
		ev.CreatedAt = g.now.Add(-time.Duration(g.rng.Int64N(int64(24 * time.Hour)))).Truncate(time.Microsecond)
	case event.TypeMigration:
		ev.MigratedAt = g.now.Add(-time.Duration(g.rng.Int64N(int64(time.Hour)))).Truncate(time.Microsecond)
		fallthrough
	case event.TypePool:
		ev.Pool = g.mints[g.rng.IntN(len(g.mints))]
		ev.Dex = dexes[g.rng.IntN(len(dexes))]
	case event.TypeMarket:
		ev.PriceUSD = g.decimal(1e3, 9)
		ev.MarketCapUSD = g.decimal(1e9, 2)
		ev.LiquidityUSD = g.decimal(1e7, 2)
		if g.rng.IntN(10) > 0 { // sometimes absent: a NULL must overwrite too
			ev.Volume24hUSD = g.decimal(1e8, 2)
		}
	}
	return ev
}

func (g *Generator) pickType() event.Type {
	n := g.rng.IntN(g.mix.total())
	for _, t := range event.Types {
		if w := *g.mix.weight(t); n < w {
			return t
		} else {
			n -= w
		}
	}
	return event.TypeMarket
}

// decimal returns a non-negative decimal below max with scale digits after the point.
func (g *Generator) decimal(max float64, scale int) string {
	whole := g.rng.Uint64N(uint64(max))
	frac := g.rng.Uint64N(pow10(scale))
	return fmt.Sprintf("%d.%0*d", whole, scale, frac)
}

func pow10(n int) uint64 {
	p := uint64(1)
	for ; n > 0; n-- {
		p *= 10
	}
	return p
}
