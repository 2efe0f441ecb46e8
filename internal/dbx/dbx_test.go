package dbx_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/greyrouter/greyrouter/internal/dbx"
	"github.com/greyrouter/greyrouter/internal/testutil"
)

func TestMain(m *testing.M) { os.Exit(testutil.RunMain(m)) }

// open opens url and closes it when the test ends.
func open(t *testing.T, url, dataDir string) *dbx.DB {
	t.Helper()
	db, err := dbx.Open(t.Context(), url, dataDir, nil)
	if err != nil {
		t.Fatalf("open %q: %v", url, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func TestOpenWithoutURLCreatesSQLiteInTheDataDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "var", "greyrouter")
	db := open(t, "", dir)
	if db.Dialect() != dbx.SQLite {
		t.Fatalf("dialect = %q, want %q", db.Dialect(), dbx.SQLite)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatalf("data directory: %v", err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Errorf("data directory mode = %o, want 700", perm)
	}
	if _, err := os.Stat(filepath.Join(dir, dbx.DefaultFile)); err != nil {
		t.Errorf("database file: %v", err)
	}
}

func TestOpenAcceptsSQLitePrefixesAndPlainPaths(t *testing.T) {
	dir := t.TempDir()
	for _, url := range []string{
		"sqlite:" + filepath.Join(dir, "a.db"),
		"sqlite://" + filepath.Join(dir, "b.db"),
		filepath.Join(dir, "c.db"),
	} {
		if db := open(t, url, ""); db.Dialect() != dbx.SQLite {
			t.Errorf("%s: dialect = %q", url, db.Dialect())
		}
	}
	for _, name := range []string{"a.db", "b.db", "c.db"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s was not created: %v", name, err)
		}
	}
}

func TestOpenSetsSQLitePragmas(t *testing.T) {
	db := open(t, "", t.TempDir())
	for pragma, want := range map[string]string{
		"journal_mode": "wal",
		"busy_timeout": "5000",
		"foreign_keys": "1",
	} {
		var got string
		if err := db.SQL().QueryRowContext(t.Context(), "PRAGMA "+pragma).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s: %v", pragma, err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %q, want %q", pragma, got, want)
		}
	}
}

func TestOpenNeitherURLNorDataDirectoryFails(t *testing.T) {
	if _, err := dbx.Open(t.Context(), "", "", nil); err == nil {
		t.Fatal("Open without url or data directory succeeded")
	}
}

func TestOpenPostgresErrorsHideThePassword(t *testing.T) {
	// Port 1 refuses connections at once, so Open fails at the ping.
	_, err := dbx.Open(t.Context(), "postgres://greyrouter:s3cret-pw@127.0.0.1:1/greyrouter?connect_timeout=2", "", nil)
	if err == nil {
		t.Fatal("Open of an unreachable server succeeded")
	}
	if strings.Contains(err.Error(), "s3cret-pw") {
		t.Fatalf("error reveals the password: %v", err)
	}
	if !strings.Contains(err.Error(), "postgres") {
		t.Errorf("error does not say what failed: %v", err)
	}
}

func TestOpenPostgres(t *testing.T) {
	db := open(t, testutil.Postgres(t), "")
	if db.Dialect() != dbx.Postgres {
		t.Fatalf("dialect = %q, want %q", db.Dialect(), dbx.Postgres)
	}
}
