package testutil

import (
	"context"
	"net/url"
	"os"
	"path"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { os.Exit(RunMain(m)) }

// connect opens a connection that is closed when the test ends.
func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatalf("connect to %s: %v", dsn, err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// adminOf returns the URL of the maintenance database on dsn's server.
func adminOf(t *testing.T, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("parse %s: %v", dsn, err)
	}
	u.Path = "/postgres"
	return u.String()
}

func TestPostgresGivesEachCallItsOwnEmptyDatabase(t *testing.T) {
	a, b := Postgres(t), Postgres(t)
	if a == b {
		t.Fatalf("two calls returned the same database %s", a)
	}
	ca, cb := connect(t, a), connect(t, b)
	for _, c := range []*pgx.Conn{ca, cb} {
		var tables int
		err := c.QueryRow(t.Context(),
			"SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'").Scan(&tables)
		if err != nil || tables != 0 {
			t.Fatalf("new database has %d tables (err %v), want 0", tables, err)
		}
	}
	if _, err := ca.Exec(t.Context(), "CREATE TABLE only_in_a (x INTEGER)"); err != nil {
		t.Fatalf("create table: %v", err)
	}
	var exists bool
	err := cb.QueryRow(t.Context(), "SELECT to_regclass('public.only_in_a') IS NOT NULL").Scan(&exists)
	if err != nil || exists {
		t.Fatalf("table created in one database is visible in the other (exists %v, err %v)", exists, err)
	}
}

func TestPostgresDropsTheDatabaseWhenTheTestEnds(t *testing.T) {
	var dsn string
	t.Run("a test that uses a database", func(t *testing.T) {
		dsn = Postgres(t)
		// An unclosed connection must not keep the database alive.
		if _, err := pgx.Connect(t.Context(), dsn); err != nil {
			t.Fatalf("connect: %v", err)
		}
	})
	if dsn == "" {
		t.Skip("the inner test was skipped")
	}
	u, _ := url.Parse(dsn)
	name := path.Base(u.Path)
	var n int
	err := connect(t, adminOf(t, dsn)).QueryRow(t.Context(),
		"SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n)
	if err != nil || n != 0 {
		t.Fatalf("database %s still exists after its test ended (count %d, err %v)", name, n, err)
	}
}

func TestPostgresUsesTestDatabaseURLWhenSet(t *testing.T) {
	server := Postgres(t) // a server to point TEST_DATABASE_URL at
	admin := adminOf(t, server)
	t.Setenv("TEST_DATABASE_URL", admin)
	dsn := Postgres(t)
	su, _ := url.Parse(admin)
	du, _ := url.Parse(dsn)
	if du.Host != su.Host || du.Path == su.Path || du.RawQuery != su.RawQuery {
		t.Fatalf("database %s is not a new database on the server of %s", dsn, admin)
	}
	var one int
	if err := connect(t, dsn).QueryRow(t.Context(), "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1 = %d, %v", one, err)
	}
}
