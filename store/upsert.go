package store

import (
	"context"
	_ "embed"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed queries/upsert_tokens.sql
var upsertTokensSQL string

// Result describes one Upsert.
type Result struct {
	Rows    int // rows offered
	Written int // rows inserted or changed
}

// Stale is the number of rows that held nothing newer than the table.
func (r Result) Stale() int { return r.Rows - r.Written }

// Upsert writes rows in one statement, hence one transaction, whatever their
// number: columns travel as arrays, so there is no bind-parameter limit. Rows
// must have distinct mints. A row whose groups are all older than the stored
// ones is skipped without taking a lock.
func Upsert(ctx context.Context, pool *pgxpool.Pool, rows []Row) (Result, error) {
	res := Result{Rows: len(rows)}
	if len(rows) == 0 {
		return res, nil
	}
	a := newArgs(rows)
	tag, err := pool.Exec(ctx, upsertTokensSQL, a.list()...)
	if err != nil {
		return res, fmt.Errorf("upsert %d tokens: %w", len(rows), err)
	}
	res.Written = int(tag.RowsAffected())
	return res, nil
}

type args struct {
	mint                                                  []string
	tokenV, name, symbol, uri, creator                    []string
	createdAt                                             []pgtype.Timestamptz
	poolV, poolAddress, dex                               []string
	migrationV                                            []string
	migratedAt                                            []pgtype.Timestamptz
	marketV, priceUSD, marketCapUSD, liquidityUSD, volume []string
	firstSeenAt                                           []pgtype.Timestamptz
}

func newArgs(rows []Row) *args {
	n := len(rows)
	// Sorted here too, so the statement's sort finds its input in order.
	sorted := slices.Clone(rows)
	slices.SortFunc(sorted, func(a, b Row) int { return strings.Compare(a.Mint, b.Mint) })
	a := &args{
		mint:   make([]string, n),
		tokenV: make([]string, n), name: make([]string, n), symbol: make([]string, n), uri: make([]string, n), creator: make([]string, n),
		createdAt: make([]pgtype.Timestamptz, n),
		poolV:     make([]string, n), poolAddress: make([]string, n), dex: make([]string, n),
		migrationV: make([]string, n), migratedAt: make([]pgtype.Timestamptz, n),
		marketV: make([]string, n), priceUSD: make([]string, n), marketCapUSD: make([]string, n), liquidityUSD: make([]string, n), volume: make([]string, n),
		firstSeenAt: make([]pgtype.Timestamptz, n),
	}
	for i := range sorted {
		r := &sorted[i]
		a.mint[i] = r.Mint
		a.firstSeenAt[i] = ts(r.FirstSeenAt)
		if !r.Token.Version.IsZero() {
			a.tokenV[i] = r.Token.Version.String()
			a.name[i], a.symbol[i], a.uri[i], a.creator[i] = r.Token.Name, r.Token.Symbol, r.Token.URI, r.Token.Creator
			a.createdAt[i] = ts(r.Token.CreatedAt)
		}
		if !r.Pool.Version.IsZero() {
			a.poolV[i] = r.Pool.Version.String()
			a.poolAddress[i], a.dex[i] = r.Pool.Address, r.Pool.Dex
		}
		if !r.Migration.Version.IsZero() {
			a.migrationV[i] = r.Migration.Version.String()
			a.migratedAt[i] = ts(r.Migration.MigratedAt)
		}
		if !r.Market.Version.IsZero() {
			a.marketV[i] = r.Market.Version.String()
			a.priceUSD[i], a.marketCapUSD[i], a.liquidityUSD[i], a.volume[i] = r.Market.PriceUSD, r.Market.MarketCapUSD, r.Market.LiquidityUSD, r.Market.Volume24hUSD
		}
	}
	return a
}

// list is in the order of the $n parameters of upsert_tokens.sql.
func (a *args) list() []any {
	return []any{
		a.mint,
		a.tokenV, a.name, a.symbol, a.uri, a.creator, a.createdAt,
		a.poolV, a.poolAddress, a.dex,
		a.migrationV, a.migratedAt,
		a.marketV, a.priceUSD, a.marketCapUSD, a.liquidityUSD, a.volume,
		a.firstSeenAt,
	}
}

func ts(t time.Time) pgtype.Timestamptz { return pgtype.Timestamptz{Time: t, Valid: !t.IsZero()} }
