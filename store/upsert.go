package store

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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

// Execer is a *pgxpool.Pool, a *pgx.Conn or a pgx.Tx.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// Upsert writes rows in one statement, hence one transaction when db is a
// pool, whatever their number: columns travel as arrays, so there is no
// bind-parameter limit. Rows must have distinct mints. A row whose groups are
// all older than the stored ones is skipped without taking a lock.
func Upsert(ctx context.Context, db Execer, rows []Row) (Result, error) {
	res := Result{Rows: len(rows)}
	if len(rows) == 0 {
		return res, nil
	}
	a := newArgs(rows)
	tag, err := db.Exec(ctx, upsertTokensSQL, a.list()...)
	if err != nil {
		return res, fmt.Errorf("upsert %d tokens: %w", len(rows), err)
	}
	res.Written = int(tag.RowsAffected())
	return res, nil
}

// Rejected is a row PostgreSQL refused for its data.
type Rejected struct {
	Mint string
	Err  error
}

// UpsertIsolating is Upsert that survives bad rows. When the statement fails
// for a data reason (IsDataError), it finds the offending rows by bisection,
// each half under a savepoint of one transaction, about 2·log2(n) statements
// per bad row, and commits all the others. Other errors are returned as they
// are, with nothing written, for the caller to retry.
func UpsertIsolating(ctx context.Context, pool *pgxpool.Pool, rows []Row) (Result, []Rejected, error) {
	res, err := Upsert(ctx, pool, rows)
	if err == nil || !IsDataError(err) {
		return res, nil, err
	}
	res = Result{Rows: len(rows)}
	var rejected []Rejected
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var bisect func(rows []Row) error
		bisect = func(rows []Row) error {
			sp, err := tx.Begin(ctx) // a savepoint
			if err != nil {
				return err
			}
			r, err := Upsert(ctx, sp, rows)
			if err == nil {
				res.Written += r.Written
				return sp.Commit(ctx)
			}
			if rbErr := sp.Rollback(ctx); rbErr != nil {
				return rbErr
			}
			if !IsDataError(err) {
				return err
			}
			if len(rows) == 1 {
				rejected = append(rejected, Rejected{Mint: rows[0].Mint, Err: err})
				return nil
			}
			if err := bisect(rows[:len(rows)/2]); err != nil {
				return err
			}
			return bisect(rows[len(rows)/2:])
		}
		return bisect(rows)
	})
	if err != nil {
		return Result{Rows: len(rows)}, nil, fmt.Errorf("isolate bad rows among %d: %w", len(rows), err)
	}
	return res, rejected, nil
}

// IsDataError reports whether err is PostgreSQL refusing the data itself
// (SQLSTATE class 22, data exception, or 23, integrity constraint violation):
// retrying the same rows cannot succeed. Everything else (connections,
// timeouts, serialization failures, shutdowns) is worth retrying.
func IsDataError(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	return strings.HasPrefix(pgErr.Code, "22") || strings.HasPrefix(pgErr.Code, "23")
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
	// Sorting a permutation moves 4 bytes per swap instead of a whole Row.
	order := make([]int32, n)
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return strings.Compare(rows[a].Mint, rows[b].Mint) })
	a := &args{
		mint:   make([]string, n),
		tokenV: make([]string, n), name: make([]string, n), symbol: make([]string, n), uri: make([]string, n), creator: make([]string, n),
		createdAt: make([]pgtype.Timestamptz, n),
		poolV:     make([]string, n), poolAddress: make([]string, n), dex: make([]string, n),
		migrationV: make([]string, n), migratedAt: make([]pgtype.Timestamptz, n),
		marketV: make([]string, n), priceUSD: make([]string, n), marketCapUSD: make([]string, n), liquidityUSD: make([]string, n), volume: make([]string, n),
		firstSeenAt: make([]pgtype.Timestamptz, n),
	}
	for i, j := range order {
		r := &rows[j]
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
