package sqlstore_test

import (
	"os"
	"testing"

	"github.com/greyrouter/greyrouter/internal/testutil"
	"github.com/greyrouter/greyrouter/privilege"
	"github.com/greyrouter/greyrouter/privilege/sqlstore"
	"github.com/greyrouter/greyrouter/privilege/storetest"
)

func TestMain(m *testing.M) { os.Exit(testutil.RunMain(m)) }

func TestStoreOnSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) privilege.Store {
		return sqlstore.New(testutil.MigratedDB(t, "").Gorm)
	})
}

func TestStoreOnPostgreSQL(t *testing.T) {
	storetest.Run(t, func(t *testing.T) privilege.Store {
		return sqlstore.New(testutil.MigratedDB(t, testutil.Postgres(t)).Gorm)
	})
}
