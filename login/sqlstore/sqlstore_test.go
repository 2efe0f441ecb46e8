package sqlstore_test

import (
	"os"
	"testing"

	"github.com/greyrouter/greyrouter/internal/testutil"
	"github.com/greyrouter/greyrouter/login/sqlstore"
	"github.com/greyrouter/greyrouter/login/storetest"
)

func TestMain(m *testing.M) { os.Exit(testutil.RunMain(m)) }

func TestStoreOnSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		db := testutil.MigratedDB(t, "")
		return sqlstore.New(db.Gorm)
	})
}

func TestStoreOnPostgreSQL(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		db := testutil.MigratedDB(t, testutil.Postgres(t))
		return sqlstore.New(db.Gorm)
	})
}
