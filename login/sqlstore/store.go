package sqlstore

import (
	"context"
	"fmt"

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
