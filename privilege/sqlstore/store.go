package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"gorm.io/gorm"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/internal/dbx"
	"github.com/greyrouter/greyrouter/privilege"
)

// lockClass is the first key of the PostgreSQL advisory locks that
// serialize a tenant's writes (the second is a hash of the tenant); its
// bytes spell "priv". Two-key locks never collide with the router's
// one-key lock.
const lockClass int32 = 0x70726976

// Store is the gorm-backed privilege.Store.
type Store struct {
	db       *gorm.DB
	postgres bool
}

var (
	_ privilege.Store = (*Store)(nil)
	_ privilege.Tx    = (*tx)(nil)
)

// New returns a Store over db, whose schema must already be migrated
// (dbx.Up). The dialect comes from db's gorm dialector.
func New(db *gorm.DB) *Store {
	return &Store{db: db, postgres: db.Dialector.Name() == dbx.Postgres}
}

// tenantLock is the advisory lock key of a tenant's writes. Tenants whose
// hashes collide merely wait for each other.
func tenantLock(tenant string) int32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(tenant))
	return int32(h.Sum32()) //nolint:gosec // wrapping is intended
}

// InTx runs fn in one transaction; see privilege.Store. fn must use only
// the Tx it is given: on SQLite, calling the Store from inside fn would
// wait for the connection fn holds.
func (s *Store) InTx(ctx context.Context, tenant string, fn func(privilege.Tx) error) (int64, error) {
	if err := privilege.CheckTenant(tenant); err != nil {
		return 0, err
	}
	var (
		fnErr   error
		version int64
	)
	err := s.db.WithContext(ctx).Transaction(func(g *gorm.DB) error {
		if s.postgres {
			if err := g.Exec("SELECT pg_advisory_xact_lock(?, ?)", lockClass, tenantLock(tenant)).Error; err != nil {
				return fmt.Errorf("lock policy set of tenant %q: %w", tenant, err)
			}
		}
		t := &tx{db: g, tenant: tenant, changed: map[string]int{}}
		v, err := readVersion(ctx, g, tenant)
		if err != nil {
			return err
		}
		version = v
		if fnErr = fn(t); fnErr != nil {
			return fnErr
		}
		if len(t.live()) == 0 {
			return nil
		}
		version++
		return t.commit(ctx, version)
	})
	if err != nil {
		if fnErr == nil {
			// Beginning, locking, recording or committing failed; fn's
			// own errors pass through unchanged.
			if apperr.CodeOf(err) == apperr.Internal {
				err = fmt.Errorf("policy transaction of tenant %q: %w", tenant, err)
			}
		}
		return 0, err
	}
	return version, nil
}

// Version returns the tenant's policy version, 0 before its first write.
func (s *Store) Version(ctx context.Context, tenant string) (int64, error) {
	return readVersion(ctx, s.db, tenant)
}

// Versions returns every written tenant's policy version, the platform's
// under "".
func (s *Store) Versions(ctx context.Context) (map[string]int64, error) {
	var rows []versionRow
	if err := s.db.WithContext(ctx).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("read policy versions: %w", err)
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.Tenant] = r.Version
	}
	return out, nil
}

func readVersion(ctx context.Context, db *gorm.DB, tenant string) (int64, error) {
	var row versionRow
	err := db.WithContext(ctx).Where("tenant = ?", tenant).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read policy version of tenant %q: %w", tenant, err)
	}
	return row.Version, nil
}

// Snapshot reads the tenant's policy set in one transaction: repeatable
// read on PostgreSQL, so every table shows the same commit; SQLite
// transactions are serializable already.
func (s *Store) Snapshot(ctx context.Context, tenant string) (privilege.Snapshot, error) {
	var snap privilege.Snapshot
	var opts []*sql.TxOptions
	if s.postgres {
		opts = append(opts, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	}
	err := s.db.WithContext(ctx).Transaction(func(g *gorm.DB) error {
		var err error
		snap, err = readSnapshot(ctx, g, tenant)
		return err
	}, opts...)
	if err != nil {
		return privilege.Snapshot{}, err
	}
	return snap, nil
}

// versionRow is one row of privilege_versions.
type versionRow struct {
	Tenant  string `gorm:"column:tenant;primaryKey"`
	Version int64  `gorm:"column:version"`
}

func (versionRow) TableName() string { return "privilege_versions" }

// now is the time of a revision: UTC, microseconds, as stored.
func now() time.Time { return dbx.UTC(time.Now()) }
