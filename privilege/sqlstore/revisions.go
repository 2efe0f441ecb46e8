package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/privilege"
)

// revisionRow is one row of privilege_revisions; changes is a JSON array.
type revisionRow struct {
	Tenant  string    `gorm:"column:tenant;primaryKey"`
	Version int64     `gorm:"column:version;primaryKey;autoIncrement:false"`
	Actor   string    `gorm:"column:actor"`
	At      time.Time `gorm:"column:at"`
	Summary string    `gorm:"column:summary"`
	Changes string    `gorm:"column:changes"`
}

func (revisionRow) TableName() string { return "privilege_revisions" }

func revisionToRow(r privilege.PolicyRevision) (revisionRow, error) {
	changes := "[]"
	if len(r.Changes) > 0 {
		b, err := json.Marshal(r.Changes)
		if err != nil {
			return revisionRow{}, fmt.Errorf("encode changes of policy revision %d of tenant %q: %w", r.Version, r.Tenant, err)
		}
		changes = string(b)
	}
	return revisionRow{Tenant: r.Tenant, Version: r.Version, Actor: r.Actor, At: r.At, Summary: r.Summary, Changes: changes}, nil
}

func (r revisionRow) revision() (privilege.PolicyRevision, error) {
	rev := privilege.PolicyRevision{Tenant: r.Tenant, Version: r.Version, Actor: r.Actor, At: r.At.UTC(), Summary: r.Summary}
	if err := json.Unmarshal([]byte(r.Changes), &rev.Changes); err != nil {
		return rev, fmt.Errorf("decode changes of policy revision %d of tenant %q: %w", r.Version, r.Tenant, err)
	}
	if len(rev.Changes) == 0 {
		rev.Changes = nil
	}
	return rev, nil
}

// GetRevision returns one revision of the tenant.
func (s *Store) GetRevision(ctx context.Context, tenant string, version int64) (privilege.PolicyRevision, error) {
	var row revisionRow
	err := s.db.WithContext(ctx).Where("tenant = ? AND version = ?", tenant, version).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return privilege.PolicyRevision{}, apperr.New(apperr.NotFound, "policy revision %d of tenant %q not found", version, tenant)
	}
	if err != nil {
		return privilege.PolicyRevision{}, fmt.Errorf("get policy revision %d of tenant %q: %w", version, tenant, err)
	}
	return row.revision()
}

// ListRevisions returns the tenant's revisions below before (all when
// before is not positive), newest first, at most limit (all when limit is
// not positive).
func (s *Store) ListRevisions(ctx context.Context, tenant string, before int64, limit int) ([]privilege.PolicyRevision, error) {
	q := s.db.WithContext(ctx).Where("tenant = ?", tenant).Order("version DESC")
	if before > 0 {
		q = q.Where("version < ?", before)
	}
	if limit > 0 {
		q = q.Limit(limit)
	}
	var rows []revisionRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list policy revisions of tenant %q: %w", tenant, err)
	}
	out := make([]privilege.PolicyRevision, 0, len(rows))
	for _, row := range rows {
		rev, err := row.revision()
		if err != nil {
			return nil, err
		}
		out = append(out, rev)
	}
	return out, nil
}
