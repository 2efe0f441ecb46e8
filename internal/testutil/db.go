package testutil

import (
	"path/filepath"
	"testing"

	"github.com/greyrouter/greyrouter/internal/dbx"
)

// MigratedDB opens the database at url, or a fresh SQLite file when url is
// "", applies every migration, and closes it when the test ends.
func MigratedDB(t testing.TB, url string) *dbx.DB {
	t.Helper()
	if url == "" {
		url = "sqlite:" + filepath.Join(t.TempDir(), "greyrouter.db")
	}
	db, err := dbx.Open(t.Context(), url, "", nil)
	if err != nil {
		t.Fatalf("testutil: open database: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := dbx.Up(t.Context(), db); err != nil {
		t.Fatalf("testutil: migrate: %v", err)
	}
	return db
}
