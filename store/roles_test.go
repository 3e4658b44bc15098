package store_test

import (
	"context"
	"errors"
	"net/url"
	"os"
	"regexp"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tokensync/tokensync/internal/testenv"
	"github.com/tokensync/tokensync/store"
)

// TestDocumentedRoles runs docs/postgres-roles.sql and docs/postgres-grants.sql
// as an operator would and checks that the owner can migrate and the app role
// can do a consumer's work, and no more.
func TestDocumentedRoles(t *testing.T) {
	admin, schemaURL := testenv.Schema(t) // migrated already: start from an empty schema instead
	ctx := context.Background()
	var schema, db string
	if err := admin.QueryRow(ctx, "SELECT current_schema(), current_database()").Scan(&schema, &db); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"DROP TABLE tokens, tokensync_migrations", "DROP FUNCTION tokensync_version, tokensync_stream_id"} {
		if _, err := admin.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	owner, app := testenv.Name("tokensync_owner_"), testenv.Name("tokensync_app_")
	t.Cleanup(func() {
		for _, r := range []string{owner, app} {
			admin.Exec(context.Background(), "DROP OWNED BY "+r+" CASCADE")
			admin.Exec(context.Background(), "DROP ROLE IF EXISTS "+r)
		}
	})
	vars := map[string]string{"db": db, "schema": schema, "owner": owner, "app": app}
	runSQL := func(file string) {
		t.Helper()
		b, err := os.ReadFile("../docs/" + file)
		if err != nil {
			t.Fatal(err)
		}
		// psql's :"name" interpolation, done here so the test runs the file as written.
		sql := regexp.MustCompile(`:"(\w+)"`).ReplaceAllStringFunc(string(b), func(m string) string {
			return `"` + vars[m[2:len(m)-1]] + `"`
		})
		if _, err := admin.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
	}
	as := func(role string) *pgxpool.Pool {
		u, _ := url.Parse(schemaURL)
		u.User = url.User(role)
		p, err := pgxpool.New(ctx, u.String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		return p
	}

	runSQL("postgres-roles.sql")
	if _, err := store.Migrate(ctx, as(owner)); err != nil {
		t.Fatalf("migrate as the owner: %v", err)
	}
	runSQL("postgres-grants.sql")

	appPool := as(app)
	if applied, err := store.Migrate(ctx, appPool); err != nil || len(applied) != 0 {
		t.Fatalf("start-up migration check as the app role: %v, %v", applied, err)
	}
	rows := coalesce(events(t, 3, 200, 20))
	if res, err := store.Upsert(ctx, appPool, rows); err != nil || res.Written != len(rows) {
		t.Fatalf("upsert as the app role: %+v, %v", res, err)
	}
	if res, err := store.Upsert(ctx, appPool, rows); err != nil || res.Written != 0 {
		t.Fatalf("replay as the app role: %+v, %v", res, err)
	}
	for _, q := range []string{"DELETE FROM tokens", "TRUNCATE tokens", "DROP TABLE tokens", "CREATE TABLE x (i int)"} {
		var pgErr *pgconn.PgError
		if _, err := appPool.Exec(ctx, q); !errors.As(err, &pgErr) || pgErr.Code != "42501" { // insufficient_privilege
			t.Errorf("app role ran %q: %v", q, err)
		}
	}
}
