package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/internal/dbx"
	"github.com/greyrouter/greyrouter/router"
)

// configLockKey is the PostgreSQL advisory lock that serializes every
// configuration transaction; its bytes spell "greyrout".
const configLockKey int64 = 0x67726579726f7574

// Store is the gorm-backed router.Store. Its reads run outside any
// transaction; InTx hands fn a Tx bound to one.
type Store struct {
	reader
	dialect string
}

var (
	_ router.Store = (*Store)(nil)
	_ router.Tx    = (*tx)(nil)
)

// New returns a Store over db, whose schema must already be migrated.
// dialect is "postgres" or "sqlite" (dbx.DB.Dialect); when empty it is
// taken from the gorm dialector.
func New(db *gorm.DB, dialect string) *Store {
	if dialect == "" {
		dialect = db.Dialector.Name()
	}
	return &Store{reader: reader{db: db}, dialect: dialect}
}

// InTx runs fn in one transaction and commits when fn returns nil. On
// PostgreSQL the transaction first takes an advisory lock, so configuration
// writers run one at a time and AddRevision never races for a number; on
// SQLite the single connection and immediate transactions give the same
// guarantee. fn must use only the Tx it is given: calling the Store itself
// from inside fn would wait for the connection that fn holds on SQLite.
func (s *Store) InTx(ctx context.Context, fn func(router.Tx) error) error {
	var fnErr error
	err := s.db.WithContext(ctx).Transaction(func(g *gorm.DB) error {
		if s.dialect == "postgres" {
			if err := g.Exec("SELECT pg_advisory_xact_lock(?)", configLockKey).Error; err != nil {
				return fmt.Errorf("lock routing configuration: %w", err)
			}
		}
		fnErr = fn(&tx{reader: reader{db: g}})
		return fnErr
	})
	if err != nil && fnErr == nil {
		// Beginning, locking or committing failed; fn's own errors pass
		// through unchanged.
		return fmt.Errorf("routing configuration transaction: %w", err)
	}
	return err
}

// TouchInstance records a heartbeat without taking the configuration lock:
// heartbeats are frequent and never conflict with revisions.
func (s *Store) TouchInstance(ctx context.Context, service, id string, at time.Time) error {
	res := s.db.WithContext(ctx).Model(&instanceRow{}).
		Where("service = ? AND id = ?", service, id).
		Update("last_heartbeat", dbx.UTC(at))
	if res.Error != nil {
		return fmt.Errorf("touch instance %s/%s: %w", service, id, res.Error)
	}
	if res.RowsAffected == 0 {
		return apperr.New(apperr.NotFound, "instance %q of service %q not found", id, service)
	}
	return nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	return nil
}

// reader implements router.Reader over either the pool or a transaction.
type reader struct {
	db *gorm.DB
}

// tx is the router.Tx handed to InTx callbacks.
type tx struct {
	reader
}

// take loads one row into dest, turning a missing row into a NotFound error
// that names what was looked for.
func (r reader) take(ctx context.Context, dest any, what string, query string, args ...any) error {
	err := r.db.WithContext(ctx).Where(query, args...).Take(dest).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return apperr.New(apperr.NotFound, "%s not found", what)
	}
	if err != nil {
		return fmt.Errorf("get %s: %w", what, err)
	}
	return nil
}

// writeErr describes a failed write; unique violations become Conflict.
// It translates driver errors itself, so that Conflict does not depend on
// the gorm.DB having been opened with TranslateError.
func (r reader) writeErr(err error, action string) error {
	if dbx.IsDuplicate(r.db, err) {
		if !errors.Is(err, gorm.ErrDuplicatedKey) {
			err = fmt.Errorf("%w: %w", gorm.ErrDuplicatedKey, err)
		}
		return apperr.Wrap(apperr.Conflict, err, action+": already exists")
	}
	return fmt.Errorf("%s: %w", action, err)
}

// deleted turns a delete that matched no row into NotFound.
func (r reader) deleted(res *gorm.DB, action, what string) error {
	if res.Error != nil {
		return r.writeErr(res.Error, action)
	}
	if res.RowsAffected == 0 {
		return apperr.New(apperr.NotFound, "%s not found", what)
	}
	return nil
}

// upsert inserts row or, when its key exists, replaces every other column:
// router.Tx puts are "insert or replace". The ON CONFLICT form is the same
// on PostgreSQL and SQLite.
func (t *tx) upsert(ctx context.Context, row any, keys []string, columns []string, action string) error {
	conflict := clause.OnConflict{DoUpdates: clause.AssignmentColumns(columns)}
	for _, k := range keys {
		conflict.Columns = append(conflict.Columns, clause.Column{Name: k})
	}
	if err := t.db.WithContext(ctx).Clauses(conflict).Create(row).Error; err != nil {
		return t.writeErr(err, action)
	}
	return nil
}
