package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/internal/dbx"
	"github.com/greyrouter/greyrouter/privilege"
)

// roleRow is one row of privilege_roles; document is the Role as JSON.
type roleRow struct {
	Tenant   string `gorm:"column:tenant;primaryKey"`
	Name     string `gorm:"column:name;primaryKey"`
	Document string `gorm:"column:document"`
}

func (roleRow) TableName() string { return "privilege_roles" }

func roleDoc(r *roleRow) (json.RawMessage, error) { return json.RawMessage(r.Document), nil }

func (r roleRow) role() (privilege.Role, error) {
	var role privilege.Role
	if err := json.Unmarshal([]byte(r.Document), &role); err != nil {
		return role, fmt.Errorf("decode role %q of tenant %q: %w", r.Name, r.Tenant, err)
	}
	return role, nil
}

// assignmentRow is one row of privilege_assignments; NULL expires_at
// means never.
type assignmentRow struct {
	Tenant    string     `gorm:"column:tenant;primaryKey"`
	Subject   string     `gorm:"column:subject;primaryKey"`
	Role      string     `gorm:"column:role;primaryKey"`
	ExpiresAt *time.Time `gorm:"column:expires_at"`
}

func (assignmentRow) TableName() string { return "privilege_assignments" }

func (r assignmentRow) assignment() privilege.Assignment {
	return privilege.Assignment{Tenant: r.Tenant, Subject: r.Subject, Role: r.Role, ExpiresAt: dbx.FromPtr(r.ExpiresAt)}
}

func assignmentDoc(r *assignmentRow) (json.RawMessage, error) { return json.Marshal(r.assignment()) }

// policyRow is one row of privilege_policies; document is the Policy as
// JSON.
type policyRow struct {
	Tenant   string `gorm:"column:tenant;primaryKey"`
	ID       string `gorm:"column:id;primaryKey"`
	Document string `gorm:"column:document"`
}

func (policyRow) TableName() string { return "privilege_policies" }

func policyDoc(r *policyRow) (json.RawMessage, error) { return json.RawMessage(r.Document), nil }

func (r policyRow) policy() (privilege.Policy, error) {
	var p privilege.Policy
	if err := json.Unmarshal([]byte(r.Document), &p); err != nil {
		return p, fmt.Errorf("decode policy %q of tenant %q: %w", r.ID, r.Tenant, err)
	}
	return p, nil
}

// settingsRow is one row of privilege_settings; schema is JSON.
type settingsRow struct {
	Tenant          string  `gorm:"column:tenant;primaryKey"`
	Algorithm       string  `gorm:"column:algorithm"`
	FailOpen        bool    `gorm:"column:fail_open"`
	AuditSampleRate float64 `gorm:"column:audit_sample_rate"`
	Schema          string  `gorm:"column:schema"`
}

func (settingsRow) TableName() string { return "privilege_settings" }

func settingsToRow(s privilege.Settings) (settingsRow, error) {
	schema := "{}"
	if len(s.Schema) > 0 {
		b, err := json.Marshal(s.Schema)
		if err != nil {
			return settingsRow{}, fmt.Errorf("encode attribute schema of tenant %q: %w", s.Tenant, err)
		}
		schema = string(b)
	}
	return settingsRow{Tenant: s.Tenant, Algorithm: string(s.Algorithm), FailOpen: s.FailOpen,
		AuditSampleRate: s.AuditSampleRate, Schema: schema}, nil
}

func (r settingsRow) settings() (privilege.Settings, error) {
	s := privilege.Settings{Tenant: r.Tenant, Algorithm: privilege.Algorithm(r.Algorithm),
		FailOpen: r.FailOpen, AuditSampleRate: r.AuditSampleRate}
	if r.Schema != "" {
		if err := json.Unmarshal([]byte(r.Schema), &s.Schema); err != nil {
			return s, fmt.Errorf("decode attribute schema of tenant %q: %w", r.Tenant, err)
		}
	}
	if len(s.Schema) == 0 {
		s.Schema = nil
	}
	return s, nil
}

func settingsDoc(r *settingsRow) (json.RawMessage, error) {
	s, err := r.settings()
	if err != nil {
		return nil, err
	}
	return json.Marshal(s)
}

// PutRole inserts or replaces a role of the transaction's tenant.
func (t *tx) PutRole(ctx context.Context, r privilege.Role) error {
	if err := privilege.CheckRoleFor(t.tenant, r); err != nil {
		return err
	}
	if t.tenant != "" {
		// Role names are unique across a tenant's and the platform's
		// roles. The platform is not locked here: CompileRBAC catches a
		// platform role created meanwhile.
		var n int64
		err := t.db.WithContext(ctx).Model(&roleRow{}).Where("tenant = '' AND name = ?", r.Name).Count(&n).Error
		if err != nil {
			return fmt.Errorf("check role %q against platform roles: %w", r.Name, err)
		}
		if n > 0 {
			return apperr.New(apperr.Conflict, "role %q is a platform role; a tenant role cannot take its name", r.Name)
		}
	}
	doc, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode role %q: %w", r.Name, err)
	}
	row := roleRow{Tenant: t.tenant, Name: r.Name, Document: string(doc)}
	return put(ctx, t, privilege.KindRole, r.Name, &row, roleDoc,
		[]string{"tenant", "name"}, []string{"document"}, "tenant = ? AND name = ?", t.tenant, r.Name)
}

// DeleteRole removes a role; assignments and roles that name it are the
// caller's to check.
func (t *tx) DeleteRole(ctx context.Context, name string) error {
	return del(ctx, t, privilege.KindRole, name, roleDoc, "tenant = ? AND name = ?", t.tenant, name)
}

// PlatformRoleUsers returns the tenants whose roles inherit role or whose
// assignments name it. Inheritance lives in role documents, so tenant
// roles that mention the name anywhere are decoded and checked.
func (t *tx) PlatformRoleUsers(ctx context.Context, role string) ([]string, error) {
	var tenants []string
	if err := t.db.WithContext(ctx).Model(&assignmentRow{}).Distinct("tenant").
		Where("tenant <> '' AND role = ?", role).Pluck("tenant", &tenants).Error; err != nil {
		return nil, fmt.Errorf("find assignments of platform role %q: %w", role, err)
	}
	// LIKE narrows the rows to decode; its '_' wildcard (role names may
	// hold '_') only widens the net, and the decoded check is exact.
	var rows []roleRow
	needle, _ := json.Marshal(role) // the name as it appears in JSON
	if err := t.db.WithContext(ctx).Where("tenant <> '' AND document LIKE ?", "%"+string(needle)+"%").
		Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("find roles inheriting platform role %q: %w", role, err)
	}
	for _, row := range rows {
		r, err := row.role()
		if err != nil {
			return nil, err
		}
		if slices.Contains(r.Inherits, role) {
			tenants = append(tenants, row.Tenant)
		}
	}
	slices.Sort(tenants)
	return slices.Compact(tenants), nil
}

// PutAssignment inserts or replaces an assignment of the transaction's
// tenant; replacing changes its expiry.
func (t *tx) PutAssignment(ctx context.Context, a privilege.Assignment) error {
	if err := privilege.CheckAssignmentFor(t.tenant, a); err != nil {
		return err
	}
	row := assignmentRow{Tenant: t.tenant, Subject: a.Subject, Role: a.Role, ExpiresAt: dbx.TimePtr(a.ExpiresAt)}
	return put(ctx, t, privilege.KindAssignment, privilege.AssignmentKey(a.Subject, a.Role), &row, assignmentDoc,
		[]string{"tenant", "subject", "role"}, []string{"expires_at"},
		"tenant = ? AND subject = ? AND role = ?", t.tenant, a.Subject, a.Role)
}

// DeleteAssignment removes an assignment.
func (t *tx) DeleteAssignment(ctx context.Context, subject, role string) error {
	return del(ctx, t, privilege.KindAssignment, privilege.AssignmentKey(subject, role), assignmentDoc,
		"tenant = ? AND subject = ? AND role = ?", t.tenant, subject, role)
}

// PutPolicy inserts or replaces a policy document.
func (t *tx) PutPolicy(ctx context.Context, p privilege.Policy) error {
	p, err := privilege.CheckPolicyFor(t.tenant, p)
	if err != nil {
		return err
	}
	doc, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode policy %q: %w", p.ID, err)
	}
	row := policyRow{Tenant: t.tenant, ID: p.ID, Document: string(doc)}
	return put(ctx, t, privilege.KindPolicy, p.ID, &row, policyDoc,
		[]string{"tenant", "id"}, []string{"document"}, "tenant = ? AND id = ?", t.tenant, p.ID)
}

// DeletePolicy removes a policy.
func (t *tx) DeletePolicy(ctx context.Context, id string) error {
	return del(ctx, t, privilege.KindPolicy, id, policyDoc, "tenant = ? AND id = ?", t.tenant, id)
}

// PutSettings inserts or replaces the tenant's settings.
func (t *tx) PutSettings(ctx context.Context, s privilege.Settings) error {
	s, err := privilege.CheckSettingsFor(t.tenant, s)
	if err != nil {
		return err
	}
	row, err := settingsToRow(s)
	if err != nil {
		return err
	}
	return put(ctx, t, privilege.KindSettings, "settings", &row, settingsDoc,
		[]string{"tenant"}, []string{"algorithm", "fail_open", "audit_sample_rate", "schema"}, "tenant = ?", t.tenant)
}
