package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/greyrouter/greyrouter/internal/dbx"
	"github.com/greyrouter/greyrouter/router"
)

// versionRow is one row of the versions table.
type versionRow struct {
	Service     string    `gorm:"column:service;primaryKey"`
	Name        string    `gorm:"column:name;primaryKey"`
	State       string    `gorm:"column:state"`
	Description string    `gorm:"column:description"`
	CreatedAt   time.Time `gorm:"column:created_at;autoCreateTime:false"`
	UpdatedAt   time.Time `gorm:"column:updated_at;autoUpdateTime:false"`
}

func (versionRow) TableName() string { return "versions" }

var versionColumns = []string{"state", "description", "created_at", "updated_at"}

func versionToRow(v router.Version) versionRow {
	return versionRow{
		Service:     v.Service,
		Name:        v.Name,
		State:       string(v.State),
		Description: v.Description,
		CreatedAt:   dbx.UTC(v.CreatedAt),
		UpdatedAt:   dbx.UTC(v.UpdatedAt),
	}
}

func (r versionRow) version() router.Version {
	return router.Version{
		Service:     r.Service,
		Name:        r.Name,
		State:       router.VersionState(r.State),
		Description: r.Description,
		CreatedAt:   r.CreatedAt.UTC(),
		UpdatedAt:   r.UpdatedAt.UTC(),
	}
}

// GetVersion returns one version of a service.
func (r reader) GetVersion(ctx context.Context, service, name string) (router.Version, error) {
	var row versionRow
	what := fmt.Sprintf("version %q of service %q", name, service)
	if err := r.take(ctx, &row, what, "service = ? AND name = ?", service, name); err != nil {
		return router.Version{}, err
	}
	return row.version(), nil
}

// ListVersions returns a service's versions ordered by name.
func (r reader) ListVersions(ctx context.Context, service string) ([]router.Version, error) {
	var rows []versionRow
	err := r.db.WithContext(ctx).Where("service = ?", service).Order("name").Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("list versions of service %q: %w", service, err)
	}
	out := make([]router.Version, 0, len(rows))
	for _, row := range rows {
		out = append(out, row.version())
	}
	return out, nil
}

// PutVersion inserts or replaces a version.
func (t *tx) PutVersion(ctx context.Context, v router.Version) error {
	row := versionToRow(v)
	action := fmt.Sprintf("put version %q of service %q", v.Name, v.Service)
	return t.upsert(ctx, &row, []string{"service", "name"}, versionColumns, action)
}

// DeleteVersion removes a version; instances and bindings that name it are
// the caller's to check first.
func (t *tx) DeleteVersion(ctx context.Context, service, name string) error {
	what := fmt.Sprintf("version %q of service %q", name, service)
	res := t.db.WithContext(ctx).Where("service = ? AND name = ?", service, name).Delete(&versionRow{})
	return t.deleted(res, "delete "+what, what)
}
