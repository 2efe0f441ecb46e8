package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/greyrouter/greyrouter/internal/dbx"
	"github.com/greyrouter/greyrouter/router"
)

// instanceRow is one row of the instances table; metadata is JSON and a
// NULL last_heartbeat means no heartbeat yet, a NULL draining_since not
// draining.
type instanceRow struct {
	Service          string     `gorm:"column:service;primaryKey"`
	ID               string     `gorm:"column:id;primaryKey"`
	Version          string     `gorm:"column:version"`
	Address          string     `gorm:"column:address"`
	Weight           int        `gorm:"column:weight"`
	Metadata         string     `gorm:"column:metadata"`
	Enabled          bool       `gorm:"column:enabled"`
	Draining         bool       `gorm:"column:draining"`
	DrainingSince    *time.Time `gorm:"column:draining_since"`
	Source           string     `gorm:"column:source"`
	HeartbeatSeconds int        `gorm:"column:heartbeat_seconds"`
	LastHeartbeat    *time.Time `gorm:"column:last_heartbeat"`
	CreatedAt        time.Time  `gorm:"column:created_at;autoCreateTime:false"`
	UpdatedAt        time.Time  `gorm:"column:updated_at;autoUpdateTime:false"`
}

func (instanceRow) TableName() string { return "instances" }

var instanceColumns = []string{
	"version", "address", "weight", "metadata", "enabled", "draining", "draining_since", "source",
	"heartbeat_seconds", "last_heartbeat", "created_at", "updated_at",
}

func instanceToRow(in router.Instance) (instanceRow, error) {
	meta, err := encodeMap(in.Metadata)
	if err != nil {
		return instanceRow{}, fmt.Errorf("encode metadata of instance %q: %w", in.ID, err)
	}
	return instanceRow{
		Service:          in.Service,
		ID:               in.ID,
		Version:          in.Version,
		Address:          in.Address,
		Weight:           in.Weight,
		Metadata:         meta,
		Enabled:          in.Enabled,
		Draining:         in.Draining,
		DrainingSince:    dbx.TimePtr(in.DrainingSince),
		Source:           string(in.Source),
		HeartbeatSeconds: in.HeartbeatSeconds,
		LastHeartbeat:    dbx.TimePtr(in.LastHeartbeat),
		CreatedAt:        dbx.UTC(in.CreatedAt),
		UpdatedAt:        dbx.UTC(in.UpdatedAt),
	}, nil
}

func (r instanceRow) instance() (router.Instance, error) {
	meta, err := decodeMap(r.Metadata)
	if err != nil {
		return router.Instance{}, fmt.Errorf("read metadata of instance %q of service %q: %w", r.ID, r.Service, err)
	}
	return router.Instance{
		ID:               r.ID,
		Service:          r.Service,
		Version:          r.Version,
		Address:          r.Address,
		Weight:           r.Weight,
		Metadata:         meta,
		Enabled:          r.Enabled,
		Draining:         r.Draining,
		DrainingSince:    dbx.FromPtr(r.DrainingSince),
		Source:           router.InstanceSource(r.Source),
		HeartbeatSeconds: r.HeartbeatSeconds,
		LastHeartbeat:    dbx.FromPtr(r.LastHeartbeat),
		CreatedAt:        r.CreatedAt.UTC(),
		UpdatedAt:        r.UpdatedAt.UTC(),
	}, nil
}

// GetInstance returns one instance of a service.
func (r reader) GetInstance(ctx context.Context, service, id string) (router.Instance, error) {
	var row instanceRow
	what := fmt.Sprintf("instance %q of service %q", id, service)
	if err := r.take(ctx, &row, what, "service = ? AND id = ?", service, id); err != nil {
		return router.Instance{}, err
	}
	return row.instance()
}

// ListInstances returns a service's instances ordered by id.
func (r reader) ListInstances(ctx context.Context, service string) ([]router.Instance, error) {
	var rows []instanceRow
	err := r.db.WithContext(ctx).Where("service = ?", service).Order("id").Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("list instances of service %q: %w", service, err)
	}
	out := make([]router.Instance, 0, len(rows))
	for _, row := range rows {
		in, err := row.instance()
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, nil
}

// PutInstance inserts or replaces an instance, heartbeat time included.
func (t *tx) PutInstance(ctx context.Context, in router.Instance) error {
	row, err := instanceToRow(in)
	if err != nil {
		return err
	}
	action := fmt.Sprintf("put instance %q of service %q", in.ID, in.Service)
	return t.upsert(ctx, &row, []string{"service", "id"}, instanceColumns, action)
}

// DeleteInstance removes an instance.
func (t *tx) DeleteInstance(ctx context.Context, service, id string) error {
	what := fmt.Sprintf("instance %q of service %q", id, service)
	res := t.db.WithContext(ctx).Where("service = ? AND id = ?", service, id).Delete(&instanceRow{})
	return t.deleted(res, "delete "+what, what)
}
