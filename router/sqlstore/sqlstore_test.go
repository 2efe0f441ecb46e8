package sqlstore_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/greyrouter/greyrouter/internal/testutil"
	"github.com/greyrouter/greyrouter/router"
	"github.com/greyrouter/greyrouter/router/sqlstore"
	"github.com/greyrouter/greyrouter/router/storetest"
)

func TestMain(m *testing.M) { os.Exit(testutil.RunMain(m)) }

func sqliteURL(t *testing.T) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "greyrouter.db")
}

func TestStoreOnSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) router.Store {
		db := testutil.MigratedDB(t, sqliteURL(t))
		return sqlstore.New(db.Gorm, db.Dialect())
	})
}

func TestStoreOnPostgreSQL(t *testing.T) {
	storetest.Run(t, func(t *testing.T) router.Store {
		db := testutil.MigratedDB(t, testutil.Postgres(t))
		return sqlstore.New(db.Gorm, db.Dialect())
	})
}
