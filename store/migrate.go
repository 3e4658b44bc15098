package store

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.up.sql
var migrationFS embed.FS

// migrationLockKey serializes migrations of replicas that start together.
const migrationLockKey = 0x746f6b656e73 // "tokens"

// Migration is one numbered schema change.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations returns the embedded migrations in order.
func Migrations() ([]Migration, error) {
	files, err := fs.Glob(migrationFS, "migrations/*.up.sql")
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, f := range files {
		base := strings.TrimSuffix(path.Base(f), ".up.sql")
		num, name, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration file %s: want NNN_name.up.sql", f)
		}
		b, err := migrationFS.ReadFile(f)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: name, SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	return ms, nil
}

// Migrate applies the migrations the database lacks, all in one transaction
// under an advisory lock, so any number of replicas may call it at once. It
// returns the versions it applied.
func Migrate(ctx context.Context, pool *pgxpool.Pool) ([]int, error) {
	ms, err := Migrations()
	if err != nil {
		return nil, err
	}
	var applied []int
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrationLockKey)); err != nil {
			return fmt.Errorf("take migration lock: %w", err)
		}
		// Look before creating: a role that may only read the ledger (the
		// consumer's, see docs/postgres-roles.sql) must get through here
		// when nothing is pending.
		var ledger *string
		if err := tx.QueryRow(ctx, "SELECT to_regclass('tokensync_migrations')::text").Scan(&ledger); err != nil {
			return fmt.Errorf("look up tokensync_migrations: %w", err)
		}
		if ledger == nil {
			if _, err := tx.Exec(ctx, `CREATE TABLE tokensync_migrations (
			version    integer PRIMARY KEY,
			name       text NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
				return fmt.Errorf("create tokensync_migrations: %w", err)
			}
		}
		rows, _ := tx.Query(ctx, "SELECT version FROM tokensync_migrations")
		done, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			return fmt.Errorf("read tokensync_migrations: %w", err)
		}
		have := make(map[int]bool, len(done))
		for _, v := range done {
			have[int(v)] = true
		}
		for _, m := range ms {
			if have[m.Version] {
				continue
			}
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("migration %03d_%s: %w", m.Version, m.Name, err)
			}
			if _, err := tx.Exec(ctx, "INSERT INTO tokensync_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name); err != nil {
				return fmt.Errorf("record migration %03d: %w", m.Version, err)
			}
			applied = append(applied, m.Version)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return applied, nil
}

// EnsureDatabase creates the database named in connString when it does not
// exist, connecting to the "postgres" maintenance database with the same
// credentials. It reports whether it created the database.
func EnsureDatabase(ctx context.Context, connString string) (bool, error) {
	cfg, err := pgx.ParseConfig(connString)
	if err != nil {
		return false, fmt.Errorf("parse database URL: %w", err)
	}
	name := cfg.Database
	if name == "" {
		return false, errors.New("database URL names no database")
	}
	var conn *pgx.Conn
	for _, maint := range []string{"postgres", "template1"} {
		c := cfg.Copy()
		c.Database = maint
		if conn, err = pgx.ConnectConfig(ctx, c); err == nil {
			break
		}
	}
	if err != nil {
		return false, fmt.Errorf("connect to the maintenance database to create %q: %w", name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return false, fmt.Errorf("look up database %q: %w", name, err)
	}
	if exists {
		return false, nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database: another replica won
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("create database %q: %w", name, err)
	}
	return true, nil
}
