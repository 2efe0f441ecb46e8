package sqlstore_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/greyrouter/greyrouter/internal/dbx"
	"github.com/greyrouter/greyrouter/internal/testutil"
	"github.com/greyrouter/greyrouter/login"
	"github.com/greyrouter/greyrouter/login/sqlstore"
	"github.com/greyrouter/greyrouter/login/storetest"
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
	if _, err := dbx.Up(t.Context(), db); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db
}

func TestUserStoreOnSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) login.UserStore {
		db := openDB(t, "sqlite:"+filepath.Join(t.TempDir(), "greyrouter.db"))
		return sqlstore.New(db.Gorm)
	})
}

func TestUserStoreOnPostgreSQL(t *testing.T) {
	storetest.Run(t, func(t *testing.T) login.UserStore {
		db := openDB(t, testutil.Postgres(t))
		return sqlstore.New(db.Gorm)
	})
}
