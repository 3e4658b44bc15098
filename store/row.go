package store

import (
	"time"

	"github.com/tokensync/tokensync/event"
)

// Row is the coalesced state of one mint: what a flush writes. A group whose
// Version is zero was not seen and leaves the stored columns alone.
type Row struct {
	Mint        string
	FirstSeenAt time.Time

	Token     TokenGroup
	Pool      PoolGroup
	Migration MigrationGroup
	Market    MarketGroup
}

// TokenGroup is owned by token events.
type TokenGroup struct {
	Version                    event.ID
	Name, Symbol, URI, Creator string
	CreatedAt                  time.Time
}

// PoolGroup is owned by pool and migration events.
type PoolGroup struct {
	Version      event.ID
	Address, Dex string
}

// MigrationGroup is owned by migration events.
type MigrationGroup struct {
	Version    event.ID
	MigratedAt time.Time
}

// MarketGroup is owned by market events.
type MarketGroup struct {
	Version                                            event.ID
	PriceUSD, MarketCapUSD, LiquidityUSD, Volume24hUSD string
}

// Apply merges ev into the row: each group the event owns takes its values if
// ev's entry ID is newer than the group's, whatever order events arrive in.
// The caller makes sure ev.Mint == r.Mint.
func (r *Row) Apply(ev *event.Event) {
	if t := ev.Time(); r.FirstSeenAt.IsZero() || t.Before(r.FirstSeenAt) {
		r.FirstSeenAt = t
	}
	switch ev.Type {
	case event.TypeToken:
		if newer(ev.ID, r.Token.Version) {
			r.Token = TokenGroup{Version: ev.ID, Name: ev.Name, Symbol: ev.Symbol, URI: ev.URI, Creator: ev.Creator, CreatedAt: ev.CreatedAt}
		}
	case event.TypeMigration:
		if newer(ev.ID, r.Migration.Version) {
			r.Migration = MigrationGroup{Version: ev.ID, MigratedAt: ev.MigratedAt}
		}
		fallthrough
	case event.TypePool:
		if newer(ev.ID, r.Pool.Version) {
			r.Pool = PoolGroup{Version: ev.ID, Address: ev.Pool, Dex: ev.Dex}
		}
	case event.TypeMarket:
		if newer(ev.ID, r.Market.Version) {
			r.Market = MarketGroup{Version: ev.ID, PriceUSD: ev.PriceUSD, MarketCapUSD: ev.MarketCapUSD, LiquidityUSD: ev.LiquidityUSD, Volume24hUSD: ev.Volume24hUSD}
		}
	}
}

func newer(id, than event.ID) bool { return than.IsZero() || id.Compare(than) > 0 }
