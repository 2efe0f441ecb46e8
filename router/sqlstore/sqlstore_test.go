package sqlstore_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/greyrouter/greyrouter/internal/dbx"
	"github.com/greyrouter/greyrouter/internal/testutil"
	"github.com/greyrouter/greyrouter/router"
	"github.com/greyrouter/greyrouter/router/sqlstore"
	"github.com/greyrouter/greyrouter/router/storetest"
)

func TestMain(m *testing.M) { os.Exit(testutil.RunMain(m)) }

// openDB opens and migrates a database that is closed when the test ends.
func openDB(t *testing.T, url string) *dbx.DB {
	t.Helper()
	db, err := dbx.Open(t.Context(), url, "", nil)
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := dbx.Up(context.Background(), db); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db
}

func sqliteURL(t *testing.T) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "greyrouter.db")
}

func TestStoreOnSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) router.Store {
		db := openDB(t, sqliteURL(t))
		return sqlstore.New(db.Gorm, db.Dialect())
	})
}

func TestStoreOnPostgreSQL(t *testing.T) {
	storetest.Run(t, func(t *testing.T) router.Store {
		db := openDB(t, testutil.Postgres(t))
		return sqlstore.New(db.Gorm, db.Dialect())
	})
}
