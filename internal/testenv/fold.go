package testenv

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tokensync/tokensync/event"
	"github.com/tokensync/tokensync/store"
)

// Fold is the reference: the table that applying events one by one in entry
// ID order gives. It is written independently of store.Row.Apply (in order,
// the later event simply overwrites), so the two check each other.
func Fold(events []event.Event) map[string]store.Row {
	evs := slices.Clone(events)
	slices.SortStableFunc(evs, func(a, b event.Event) int { return a.ID.Compare(b.ID) })
	rows := make(map[string]store.Row)
	for _, ev := range evs {
		r := rows[ev.Mint]
		r.Mint = ev.Mint
		if t := ev.Time(); r.FirstSeenAt.IsZero() || t.Before(r.FirstSeenAt) {
			r.FirstSeenAt = t
		}
		switch ev.Type {
		case event.TypeToken:
			r.Token = store.TokenGroup{Version: ev.ID, Name: ev.Name, Symbol: ev.Symbol, URI: ev.URI, Creator: ev.Creator, CreatedAt: ev.CreatedAt}
		case event.TypePool:
			r.Pool = store.PoolGroup{Version: ev.ID, Address: ev.Pool, Dex: ev.Dex}
		case event.TypeMigration:
			r.Pool = store.PoolGroup{Version: ev.ID, Address: ev.Pool, Dex: ev.Dex}
			r.Migration = store.MigrationGroup{Version: ev.ID, MigratedAt: ev.MigratedAt}
		case event.TypeMarket:
			r.Market = store.MarketGroup{Version: ev.ID, PriceUSD: ev.PriceUSD, MarketCapUSD: ev.MarketCapUSD, LiquidityUSD: ev.LiquidityUSD, Volume24hUSD: ev.Volume24hUSD}
		}
		rows[r.Mint] = r
	}
	return rows
}

// Table reads the whole tokens table back into Rows. Numbers come back in
// PostgreSQL's canonical text form, so compare against canonical decimals.
func Table(ctx context.Context, pool *pgxpool.Pool) (map[string]store.Row, error) {
	out := make(map[string]store.Row)
	rows, err := pool.Query(ctx, `SELECT mint, first_seen_at,
		coalesce(tokensync_stream_id(token_version), ''), coalesce(name, ''), coalesce(symbol, ''), coalesce(uri, ''), coalesce(creator, ''), created_at,
		coalesce(tokensync_stream_id(pool_version), ''), coalesce(pool_address, ''), coalesce(dex, ''),
		coalesce(tokensync_stream_id(migration_version), ''), migrated_at,
		coalesce(tokensync_stream_id(market_version), ''), coalesce(price_usd::text, ''), coalesce(market_cap_usd::text, ''), coalesce(liquidity_usd::text, ''), coalesce(volume_24h_usd::text, '')
		FROM tokens`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var r store.Row
		var tv, pv, mv, kv string
		var createdAt, migratedAt *time.Time
		if err := rows.Scan(&r.Mint, &r.FirstSeenAt,
			&tv, &r.Token.Name, &r.Token.Symbol, &r.Token.URI, &r.Token.Creator, &createdAt,
			&pv, &r.Pool.Address, &r.Pool.Dex,
			&mv, &migratedAt,
			&kv, &r.Market.PriceUSD, &r.Market.MarketCapUSD, &r.Market.LiquidityUSD, &r.Market.Volume24hUSD); err != nil {
			return nil, err
		}
		r.FirstSeenAt = r.FirstSeenAt.UTC()
		if createdAt != nil {
			r.Token.CreatedAt = createdAt.UTC()
		}
		if migratedAt != nil {
			r.Migration.MigratedAt = migratedAt.UTC()
		}
		for _, p := range []struct {
			s  string
			id *event.ID
		}{{tv, &r.Token.Version}, {pv, &r.Pool.Version}, {mv, &r.Migration.Version}, {kv, &r.Market.Version}} {
			if p.s != "" {
				if *p.id, err = event.ParseID(p.s); err != nil {
					return nil, err
				}
			}
		}
		out[r.Mint] = r
	}
	return out, rows.Err()
}

// RequireTable fails the test unless the tokens table equals want.
func RequireTable(t testing.TB, pool *pgxpool.Pool, want map[string]store.Row) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	got, err := Table(ctx, pool)
	if err != nil {
		t.Fatalf("read tokens: %v", err)
	}
	if len(got) != len(want) {
		t.Errorf("tokens has %d rows, the reference fold %d", len(got), len(want))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("tokens differs from the reference fold (-want +got):\n%s", clipDiff(diff))
	}
}

func clipDiff(s string) string {
	if len(s) > 6000 {
		return s[:6000] + "\n… (diff clipped)"
	}
	return s
}
