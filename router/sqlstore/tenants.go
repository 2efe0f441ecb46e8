package sqlstore

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/greyrouter/greyrouter/internal/dbx"
	"github.com/greyrouter/greyrouter/router"
)

// tenantRow is one row of the tenants table.
type tenantRow struct {
	Name        string    `gorm:"column:name;primaryKey"`
	DisplayName string    `gorm:"column:display_name"`
	CreatedAt   time.Time `gorm:"column:created_at;autoCreateTime:false"`
	UpdatedAt   time.Time `gorm:"column:updated_at;autoUpdateTime:false"`
}

func (tenantRow) TableName() string { return "tenants" }

var tenantColumns = []string{"display_name", "created_at", "updated_at"}

func tenantToRow(t router.Tenant) tenantRow {
	return tenantRow{
		Name:        t.Name,
		DisplayName: t.DisplayName,
		CreatedAt:   dbx.UTC(t.CreatedAt),
		UpdatedAt:   dbx.UTC(t.UpdatedAt),
	}
}

func (r tenantRow) tenant() router.Tenant {
	return router.Tenant{
		Name:        r.Name,
		DisplayName: r.DisplayName,
		CreatedAt:   r.CreatedAt.UTC(),
		UpdatedAt:   r.UpdatedAt.UTC(),
	}
}

// GetTenant returns one tenant.
func (r reader) GetTenant(ctx context.Context, name string) (router.Tenant, error) {
	var row tenantRow
	if err := r.take(ctx, &row, fmt.Sprintf("tenant %q", name), "name = ?", name); err != nil {
		return router.Tenant{}, err
	}
	return row.tenant(), nil
}

// ListTenants returns a page of tenants ordered by name.
func (r reader) ListTenants(ctx context.Context, p router.Page) ([]router.Tenant, error) {
	var rows []tenantRow
	if err := page(r.db.WithContext(ctx), p).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	out := make([]router.Tenant, 0, len(rows))
	for _, row := range rows {
		out = append(out, row.tenant())
	}
	return out, nil
}

// PutTenant inserts or replaces a tenant.
func (t *tx) PutTenant(ctx context.Context, tn router.Tenant) error {
	row := tenantToRow(tn)
	return t.upsert(ctx, &row, []string{"name"}, tenantColumns, fmt.Sprintf("put tenant %q", tn.Name))
}

// DeleteTenant removes a tenant; its bindings are the caller's to remove.
func (t *tx) DeleteTenant(ctx context.Context, name string) error {
	res := t.db.WithContext(ctx).Where("name = ?", name).Delete(&tenantRow{})
	return t.deleted(res, fmt.Sprintf("delete tenant %q", name), fmt.Sprintf("tenant %q", name))
}

// page applies keyset pagination by name: rows after p.After, at most
// p.Limit of them (all when Limit is not positive). Unlike OFFSET, a page
// stays correct while rows are inserted or deleted before it.
func page(db *gorm.DB, p router.Page) *gorm.DB {
	db = db.Order("name")
	if p.After != "" {
		db = db.Where("name > ?", p.After)
	}
	if p.Limit > 0 {
		db = db.Limit(p.Limit)
	}
	return db
}
