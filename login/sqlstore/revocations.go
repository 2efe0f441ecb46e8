package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/greyrouter/greyrouter/internal/dbx"
	"github.com/greyrouter/greyrouter/login"
)

// revocationRow is one row of the revocations table: the merged events of
// one (kind, subject).
type revocationRow struct {
	Kind       string    `gorm:"column:kind;primaryKey"`
	Subject    string    `gorm:"column:subject;primaryKey"`
	Generation int64     `gorm:"column:generation"`
	Tenant     string    `gorm:"column:tenant"`
	Reason     string    `gorm:"column:reason"`
	At         time.Time `gorm:"column:at"`
	ExpiresAt  time.Time `gorm:"column:expires_at"`
}

func (revocationRow) TableName() string { return "revocations" }

func (r revocationRow) revocation() login.Revocation {
	return login.Revocation{
		Kind:       login.RevocationKind(r.Kind),
		Subject:    r.Subject,
		Generation: r.Generation,
		Tenant:     r.Tenant,
		Reason:     r.Reason,
		At:         r.At.UTC(),
		ExpiresAt:  r.ExpiresAt.UTC(),
	}
}

// upsertRevocation merges an event into the row of its (kind, subject):
// the higher generation and the later expiry win separately, so the row
// rejects every token either event rejected for as long as either
// mattered; tenant, reason and time come from the event that rejects
// more (the higher generation) or, between equals, from the later one.
// In the SET clause "revocations" is the row before the update on both
// PostgreSQL and SQLite, and CASE is portable where GREATEST and the
// two-argument MAX are not.
const upsertRevocation = `
INSERT INTO revocations (kind, subject, generation, tenant, reason, at, expires_at)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (kind, subject) DO UPDATE SET
    generation = CASE WHEN excluded.generation > revocations.generation
        THEN excluded.generation ELSE revocations.generation END,
    tenant = CASE WHEN ` + incomingWins + ` THEN excluded.tenant ELSE revocations.tenant END,
    reason = CASE WHEN ` + incomingWins + ` THEN excluded.reason ELSE revocations.reason END,
    at = CASE WHEN ` + incomingWins + ` THEN excluded.at ELSE revocations.at END,
    expires_at = CASE WHEN excluded.expires_at > revocations.expires_at
        THEN excluded.expires_at ELSE revocations.expires_at END`

const incomingWins = `(excluded.generation > revocations.generation OR
        (excluded.generation = revocations.generation AND excluded.at >= revocations.at))`

// AddRevocation records r, merging it with an earlier event for the same
// kind and subject (see upsertRevocation).
func (s *Store) AddRevocation(ctx context.Context, r login.Revocation) error {
	err := s.db.WithContext(ctx).Exec(upsertRevocation,
		string(r.Kind), r.Subject, r.Generation, r.Tenant, r.Reason, dbx.UTC(r.At), dbx.UTC(r.ExpiresAt)).Error
	if err != nil {
		return fmt.Errorf("add %s revocation of %q: %w", r.Kind, r.Subject, err)
	}
	return nil
}

// ActiveRevocations returns the events that expire after now, oldest
// first (by time, then kind and subject).
func (s *Store) ActiveRevocations(ctx context.Context, now time.Time) ([]login.Revocation, error) {
	var rows []revocationRow
	err := s.db.WithContext(ctx).Where("expires_at > ?", dbx.UTC(now)).Order("at, kind, subject").Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("list active revocations: %w", err)
	}
	out := make([]login.Revocation, 0, len(rows))
	for _, row := range rows {
		out = append(out, row.revocation())
	}
	return out, nil
}

// PruneRevocations deletes the events that expired at or before now and
// returns how many there were.
func (s *Store) PruneRevocations(ctx context.Context, now time.Time) (int, error) {
	res := s.db.WithContext(ctx).Where("expires_at <= ?", dbx.UTC(now)).Delete(&revocationRow{})
	if res.Error != nil {
		return 0, fmt.Errorf("prune revocations: %w", res.Error)
	}
	return int(res.RowsAffected), nil
}
