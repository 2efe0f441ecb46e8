package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/greyrouter/greyrouter/internal/dbx"
	"github.com/greyrouter/greyrouter/router"
)

// serviceRow is one row of the services table; the circuit policy is JSON.
type serviceRow struct {
	Name           string    `gorm:"column:name;primaryKey"`
	Description    string    `gorm:"column:description"`
	DefaultVersion string    `gorm:"column:default_version"`
	Strategy       string    `gorm:"column:strategy"`
	LeaseSeconds   int       `gorm:"column:lease_seconds"`
	Circuit        string    `gorm:"column:circuit"`
	WarmupSeconds  int       `gorm:"column:warmup_seconds"`
	CreatedAt      time.Time `gorm:"column:created_at;autoCreateTime:false"`
	UpdatedAt      time.Time `gorm:"column:updated_at;autoUpdateTime:false"`
}

func (serviceRow) TableName() string { return "services" }

var serviceColumns = []string{
	"description", "default_version", "strategy", "lease_seconds", "circuit", "warmup_seconds", "created_at", "updated_at",
}

func serviceToRow(s router.Service) (serviceRow, error) {
	circuit, err := encodeObject(s.Circuit)
	if err != nil {
		return serviceRow{}, fmt.Errorf("encode circuit policy of service %q: %w", s.Name, err)
	}
	return serviceRow{
		Name:           s.Name,
		Description:    s.Description,
		DefaultVersion: s.DefaultVersion,
		Strategy:       string(s.Strategy),
		LeaseSeconds:   s.LeaseSeconds,
		Circuit:        circuit,
		WarmupSeconds:  s.WarmupSeconds,
		CreatedAt:      dbx.UTC(s.CreatedAt),
		UpdatedAt:      dbx.UTC(s.UpdatedAt),
	}, nil
}

func (r serviceRow) service() (router.Service, error) {
	s := router.Service{
		Name:           r.Name,
		Description:    r.Description,
		DefaultVersion: r.DefaultVersion,
		Strategy:       router.Strategy(r.Strategy),
		LeaseSeconds:   r.LeaseSeconds,
		WarmupSeconds:  r.WarmupSeconds,
		CreatedAt:      r.CreatedAt.UTC(),
		UpdatedAt:      r.UpdatedAt.UTC(),
	}
	if err := decodeJSON(r.Circuit, &s.Circuit); err != nil {
		return router.Service{}, fmt.Errorf("read circuit policy of service %q: %w", r.Name, err)
	}
	return s, nil
}

// GetService returns one service.
func (r reader) GetService(ctx context.Context, name string) (router.Service, error) {
	var row serviceRow
	if err := r.take(ctx, &row, fmt.Sprintf("service %q", name), "name = ?", name); err != nil {
		return router.Service{}, err
	}
	return row.service()
}

// ListServices returns a page of services ordered by name.
func (r reader) ListServices(ctx context.Context, p router.Page) ([]router.Service, error) {
	var rows []serviceRow
	if err := page(r.db.WithContext(ctx), p).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	out := make([]router.Service, 0, len(rows))
	for _, row := range rows {
		s, err := row.service()
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// PutService inserts or replaces a service.
func (t *tx) PutService(ctx context.Context, s router.Service) error {
	row, err := serviceToRow(s)
	if err != nil {
		return err
	}
	return t.upsert(ctx, &row, []string{"name"}, serviceColumns, fmt.Sprintf("put service %q", s.Name))
}

// DeleteService removes a service row only; its versions, instances and
// bindings are the caller's to remove in the same transaction.
func (t *tx) DeleteService(ctx context.Context, name string) error {
	if err := t.deleteRegistryRefs(ctx, name); err != nil {
		return err
	}
	res := t.db.WithContext(ctx).Where("name = ?", name).Delete(&serviceRow{})
	return t.deleted(res, fmt.Sprintf("delete service %q", name), fmt.Sprintf("service %q", name))
}
