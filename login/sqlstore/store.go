package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/greyrouter/greyrouter/login"
)

// Store is the gorm-backed login.UserStore.
type Store struct {
	db *gorm.DB
}

var _ login.UserStore = (*Store)(nil)

// New returns a Store over db, whose schema must already be migrated
// (dbx.Up).
func New(db *gorm.DB) *Store { return &Store{db: db} }

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

// isDuplicate reports whether err is a unique violation. It translates
// driver errors itself, so that Conflict does not depend on the gorm.DB
// having been opened with TranslateError.
func (s *Store) isDuplicate(err error) bool {
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return true
	}
	tr, ok := s.db.Dialector.(gorm.ErrorTranslator)
	return ok && errors.Is(tr.Translate(err), gorm.ErrDuplicatedKey)
}

// utc normalizes a time for storage: UTC, microsecond precision, no
// monotonic reading.
func utc(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// utcPtr maps the zero time to NULL.
func utcPtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := utc(t)
	return &u
}

// fromPtr maps NULL to the zero time.
func fromPtr(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}
