package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/greyrouter/greyrouter/internal/dbx"
	"github.com/greyrouter/greyrouter/router"
)

// bindingRow is one row of the bindings table. The split percentage is
// stored as exact basis points and the rules as JSON.
type bindingRow struct {
	Tenant    string    `gorm:"column:tenant;primaryKey"`
	Service   string    `gorm:"column:service;primaryKey"`
	Mode      string    `gorm:"column:mode"`
	Version   string    `gorm:"column:version"`
	Baseline  string    `gorm:"column:baseline"`
	Candidate string    `gorm:"column:candidate"`
	PercentBP int       `gorm:"column:percent_bp"`
	Sticky    string    `gorm:"column:sticky"`
	Salt      string    `gorm:"column:salt"`
	Rules     string    `gorm:"column:rules"`
	LaneMode  string    `gorm:"column:lane_mode"`
	UpdatedAt time.Time `gorm:"column:updated_at;autoUpdateTime:false"`
}

func (bindingRow) TableName() string { return "bindings" }

var bindingColumns = []string{
	"mode", "version", "baseline", "candidate", "percent_bp", "sticky", "salt", "rules", "lane_mode", "updated_at",
}

func bindingToRow(b router.Binding) (bindingRow, error) {
	rules, err := encodeList(b.Rules)
	if err != nil {
		return bindingRow{}, fmt.Errorf("encode rules of binding %s/%s: %w", b.Tenant, b.Service, err)
	}
	return bindingRow{
		Tenant:    b.Tenant,
		Service:   b.Service,
		Mode:      string(b.Mode),
		Version:   b.Version,
		Baseline:  b.Baseline,
		Candidate: b.Candidate,
		PercentBP: b.Percent.BasisPoints(),
		Sticky:    b.Sticky,
		Salt:      b.Salt,
		Rules:     rules,
		LaneMode:  string(b.LaneMode),
		UpdatedAt: dbx.UTC(b.UpdatedAt),
	}, nil
}

func (r bindingRow) binding() (router.Binding, error) {
	rules, err := decodeList[router.Rule](r.Rules)
	if err != nil {
		return router.Binding{}, fmt.Errorf("read rules of binding %s/%s: %w", r.Tenant, r.Service, err)
	}
	return router.Binding{
		Tenant:    r.Tenant,
		Service:   r.Service,
		Mode:      router.BindingMode(r.Mode),
		Version:   r.Version,
		Baseline:  r.Baseline,
		Candidate: r.Candidate,
		Percent:   router.Percent(r.PercentBP),
		Sticky:    r.Sticky,
		Salt:      r.Salt,
		Rules:     rules,
		LaneMode:  router.LaneMode(r.LaneMode),
		UpdatedAt: r.UpdatedAt.UTC(),
	}, nil
}

// GetBinding returns a tenant's binding for a service.
func (r reader) GetBinding(ctx context.Context, tenant, service string) (router.Binding, error) {
	var row bindingRow
	what := fmt.Sprintf("binding of tenant %q to service %q", tenant, service)
	if err := r.take(ctx, &row, what, "tenant = ? AND service = ?", tenant, service); err != nil {
		return router.Binding{}, err
	}
	return row.binding()
}

// ListBindings returns the bindings that match f, ordered by tenant, then
// service.
func (r reader) ListBindings(ctx context.Context, f router.BindingFilter) ([]router.Binding, error) {
	q := r.db.WithContext(ctx).Order("tenant").Order("service")
	if f.Tenant != "" {
		q = q.Where("tenant = ?", f.Tenant)
	}
	if f.Service != "" {
		q = q.Where("service = ?", f.Service)
	}
	var rows []bindingRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list bindings: %w", err)
	}
	out := make([]router.Binding, 0, len(rows))
	for _, row := range rows {
		b, err := row.binding()
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// PutBinding inserts or replaces a binding.
func (t *tx) PutBinding(ctx context.Context, b router.Binding) error {
	row, err := bindingToRow(b)
	if err != nil {
		return err
	}
	action := fmt.Sprintf("put binding of tenant %q to service %q", b.Tenant, b.Service)
	return t.upsert(ctx, &row, []string{"tenant", "service"}, bindingColumns, action)
}

// DeleteBinding removes a binding.
func (t *tx) DeleteBinding(ctx context.Context, tenant, service string) error {
	what := fmt.Sprintf("binding of tenant %q to service %q", tenant, service)
	res := t.db.WithContext(ctx).Where("tenant = ? AND service = ?", tenant, service).Delete(&bindingRow{})
	return t.deleted(res, "delete "+what, what)
}
