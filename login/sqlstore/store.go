package sqlstore

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"github.com/greyrouter/greyrouter/internal/dbx"
	"github.com/greyrouter/greyrouter/login"
)

// Store is the gorm-backed store of the login service: users, signing
// keys, machine clients, the audit trail and revocation events.
type Store struct {
	db       *gorm.DB
	postgres bool
}

var (
	_ login.UserStore       = (*Store)(nil)
	_ login.KeyStore        = (*Store)(nil)
	_ login.ClientStore     = (*Store)(nil)
	_ login.AuditStore      = (*Store)(nil)
	_ login.RevocationStore = (*Store)(nil)
)

// New returns a Store over db, whose schema must already be migrated
// (dbx.Up). The dialect comes from db's gorm dialector.
func New(db *gorm.DB) *Store {
	return &Store{db: db, postgres: db.Dialector.Name() == dbx.Postgres}
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
