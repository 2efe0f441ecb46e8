package sqlstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"gorm.io/gorm"

	"github.com/greyrouter/greyrouter/privilege"
)

// readSnapshot reads a tenant's policy set through db (a transaction).
// Lists are sorted here, in byte order, rather than by ORDER BY, whose
// collation differs between engines.
func readSnapshot(ctx context.Context, db *gorm.DB, tenant string) (privilege.Snapshot, error) {
	snap := privilege.Snapshot{Tenant: tenant, Settings: privilege.DefaultSettings(tenant)}
	var err error
	if snap.Version, err = readVersion(ctx, db, tenant); err != nil {
		return snap, err
	}
	snap.PlatformVersion = snap.Version
	if tenant != "" {
		if snap.PlatformVersion, err = readVersion(ctx, db, ""); err != nil {
			return snap, err
		}
	}
	tenants := []string{"", tenant} // the platform's records first
	if tenant == "" {
		tenants = tenants[:1]
	}
	g := db.WithContext(ctx)

	var roles []roleRow
	if err := g.Where("tenant IN ?", tenants).Find(&roles).Error; err != nil {
		return snap, fmt.Errorf("read roles of tenant %q: %w", tenant, err)
	}
	slices.SortFunc(roles, func(a, b roleRow) int {
		return cmp.Or(cmp.Compare(a.Tenant, b.Tenant), cmp.Compare(a.Name, b.Name))
	})
	for _, row := range roles {
		r, err := row.role()
		if err != nil {
			return snap, err
		}
		snap.Roles = append(snap.Roles, r)
	}

	var assignments []assignmentRow
	if err := g.Where("tenant IN ?", tenants).Find(&assignments).Error; err != nil {
		return snap, fmt.Errorf("read assignments of tenant %q: %w", tenant, err)
	}
	slices.SortFunc(assignments, func(a, b assignmentRow) int {
		return cmp.Or(cmp.Compare(a.Tenant, b.Tenant), cmp.Compare(a.Subject, b.Subject), cmp.Compare(a.Role, b.Role))
	})
	for _, row := range assignments {
		snap.Assignments = append(snap.Assignments, row.assignment())
	}

	if tenant == "" {
		return snap, nil // the platform has neither policies nor settings
	}
	var policies []policyRow
	if err := g.Where("tenant = ?", tenant).Find(&policies).Error; err != nil {
		return snap, fmt.Errorf("read policies of tenant %q: %w", tenant, err)
	}
	slices.SortFunc(policies, func(a, b policyRow) int { return cmp.Compare(a.ID, b.ID) })
	for _, row := range policies {
		p, err := row.policy()
		if err != nil {
			return snap, err
		}
		snap.Policies = append(snap.Policies, p)
	}

	var settings settingsRow
	err = g.Where("tenant = ?", tenant).Take(&settings).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
	case err != nil:
		return snap, fmt.Errorf("read settings of tenant %q: %w", tenant, err)
	default:
		if snap.Settings, err = settings.settings(); err != nil {
			return snap, err
		}
	}
	return snap, nil
}
