package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/greyrouter/greyrouter/internal/dbx"
	"github.com/greyrouter/greyrouter/router"
)

// registrySyncRow is one row of registry_sync.
type registrySyncRow struct {
	Service  string    `gorm:"column:service;primaryKey"`
	Source   string    `gorm:"column:source;primaryKey"`
	Ref      int64     `gorm:"column:ref"`
	SyncedAt time.Time `gorm:"column:synced_at"`
}

func (registrySyncRow) TableName() string { return "registry_sync" }

// RegistryRef returns the reference of the newest snapshot applied, 0 when
// none.
func (t *tx) RegistryRef(ctx context.Context, service string, source router.InstanceSource) (int64, error) {
	var row registrySyncRow
	err := t.db.WithContext(ctx).Where("service = ? AND source = ?", service, string(source)).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read registry reference of %q: %w", service, err)
	}
	return row.Ref, nil
}

// PutRegistryRef records the reference of the snapshot just applied.
func (t *tx) PutRegistryRef(ctx context.Context, service string, source router.InstanceSource, ref int64, at time.Time) error {
	row := registrySyncRow{Service: service, Source: string(source), Ref: ref, SyncedAt: dbx.UTC(at)}
	return t.upsert(ctx, &row, []string{"service", "source"}, []string{"ref", "synced_at"}, fmt.Sprintf("record registry reference of %q", service))
}

// deleteRegistryRefs removes a service's registry references with it.
func (t *tx) deleteRegistryRefs(ctx context.Context, service string) error {
	if err := t.db.WithContext(ctx).Where("service = ?", service).Delete(&registrySyncRow{}).Error; err != nil {
		return fmt.Errorf("delete registry references of %q: %w", service, err)
	}
	return nil
}
