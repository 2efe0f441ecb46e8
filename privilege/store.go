package privilege

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/greyrouter/greyrouter/internal/apperr"
)

// Settings are a tenant's evaluation settings. Schema maps attribute paths
// ("subject.department") to type names ("string"), the declarations its
// policies are compiled against (see Settings.AttributeSchema).
type Settings struct {
	Tenant    string    `json:"tenant"`
	Algorithm Algorithm `json:"algorithm"`
	// FailOpen allows when neither the database nor Redis answers and no
	// cached decision applies; every such decision is audited.
	FailOpen bool `json:"fail_open"`
	// AuditSampleRate is the share of allowed decisions audited, 0 to 1;
	// denies and fail-opens are always audited.
	AuditSampleRate float64           `json:"audit_sample_rate"`
	Schema          map[string]string `json:"schema,omitempty"`
}

// DefaultSettings are a tenant's settings until it stores its own:
// deny-overrides, fail closed, no sampling of allowed decisions.
func DefaultSettings(tenant string) Settings {
	return Settings{Tenant: tenant, Algorithm: DenyOverrides}
}

// AttributeSchema declares the settings' attributes in a Schema, for
// CompilePolicies.
func (s Settings) AttributeSchema() (Schema, error) {
	var schema Schema
	problems := map[string]string{}
	for path, t := range s.Schema {
		if msg := schema.declare(path, AttrType(t)); msg != "" {
			problems["schema["+path+"]"] = msg
		}
	}
	return schema, apperr.Fields("invalid attribute schema", problems)
}

// Validate checks settings on their own ("" algorithm means the default).
func (s Settings) Validate() error {
	p := map[string]string{}
	if s.Tenant == "" || !ValidRoleName(s.Tenant) {
		p["tenant"] = "must be a tenant name, which " + rbacNameRule
	}
	switch s.Algorithm {
	case "", DenyOverrides, PermitOverrides, FirstApplicable:
	default:
		p["algorithm"] = fmt.Sprintf("must be %s, %s or %s", DenyOverrides, PermitOverrides, FirstApplicable)
	}
	if math.IsNaN(s.AuditSampleRate) || s.AuditSampleRate < 0 || s.AuditSampleRate > 1 {
		p["audit_sample_rate"] = "must be between 0 and 1"
	}
	if _, err := s.AttributeSchema(); err != nil {
		for k, v := range apperr.DetailsOf(err) {
			p[k] = v
		}
	}
	return apperr.Fields("invalid settings", p)
}

// ChangeKind names a kind of record in a policy set.
type ChangeKind string

// Record kinds of a policy set.
const (
	KindRole       ChangeKind = "role"
	KindAssignment ChangeKind = "assignment"
	KindPolicy     ChangeKind = "policy"
	KindSettings   ChangeKind = "settings"
)

// Change is one record's state before and after a revision, as JSON of the
// domain value (Role, Assignment, Policy, Settings); a nil side means the
// record was absent. Key is the role name, the policy id, "settings", or
// AssignmentKey.
type Change struct {
	Kind   ChangeKind      `json:"kind"`
	Key    string          `json:"key"`
	Before json.RawMessage `json:"before,omitempty"`
	After  json.RawMessage `json:"after,omitempty"`
}

// AssignmentKey is an assignment's Change key, "role:subject": role names
// never hold ':', so the first ':' splits it.
func AssignmentKey(subject, role string) string { return role + ":" + subject }

// PolicyRevision is one committed change of a tenant's policy set: the
// version it produced, who made it, when, and every record's before and
// after.
type PolicyRevision struct {
	Tenant  string    `json:"tenant"`
	Version int64     `json:"version"`
	Actor   string    `json:"actor"`
	At      time.Time `json:"at"`
	Summary string    `json:"summary"`
	Changes []Change  `json:"changes"`
}

// Snapshot is a tenant's policy set at one version, read consistently.
// Roles and Assignments include the platform's (Tenant ""), which are
// versioned on their own: a cache must key on both Version and
// PlatformVersion. Roles and assignments list the platform's first; every
// list is sorted by its key in byte order.
type Snapshot struct {
	Tenant          string
	Version         int64
	PlatformVersion int64
	Settings        Settings // DefaultSettings when none are stored
	Roles           []Role
	Assignments     []Assignment
	Policies        []Policy
}

// Reader reads policy sets. Every read is confined to one tenant (plus the
// platform roles and assignments in a Snapshot); tenant "" is the platform.
type Reader interface {
	// Version returns the tenant's policy version, 0 before its first write.
	Version(ctx context.Context, tenant string) (int64, error)
	// Versions returns every written tenant's policy version, the
	// platform's under "": what caches poll to notice missed changes.
	Versions(ctx context.Context) (map[string]int64, error)
	// Snapshot returns the tenant's policy set, read in one transaction.
	Snapshot(ctx context.Context, tenant string) (Snapshot, error)
	// ListRevisions returns the tenant's revisions newest first, versions
	// below before (0: from the newest), at most limit (0: all).
	ListRevisions(ctx context.Context, tenant string, before int64, limit int) ([]PolicyRevision, error)
	// GetRevision returns one revision; apperr.NotFound when missing.
	GetRevision(ctx context.Context, tenant string, version int64) (PolicyRevision, error)
}

// Tx is a write transaction on one tenant's policy set (the platform's for
// tenant ""). Puts insert or replace; deletes of missing records fail with
// apperr.NotFound. The store records each record's before and after
// itself: a put that leaves a record as it was is not a change, and a
// record changed several times in one transaction appears once, from its
// first before to its last after, in the order records were first touched.
//
// Records must belong to the transaction's tenant (their Tenant field) and
// pass their Validate method, else apperr.Unprocessable. Checks across
// records — inheritance, assignments of unknown roles, policy conflicts —
// are the caller's: compile Snapshot with CompileRBAC and CompilePolicies
// and return an error to roll back.
type Tx interface {
	Tenant() string
	// Snapshot reads the policy set as this transaction sees it.
	Snapshot(ctx context.Context) (Snapshot, error)
	// Describe sets the revision's actor and summary; an empty summary is
	// generated from the changes.
	Describe(actor, summary string)
	// PutRole fails with apperr.Conflict when a tenant role would shadow
	// a platform role of the same name.
	PutRole(ctx context.Context, r Role) error
	DeleteRole(ctx context.Context, name string) error
	PutAssignment(ctx context.Context, a Assignment) error
	DeleteAssignment(ctx context.Context, subject, role string) error
	// PutPolicy stores the document with its Tenant set to the
	// transaction's; the platform has no policies.
	PutPolicy(ctx context.Context, p Policy) error
	DeletePolicy(ctx context.Context, id string) error
	// PutSettings stores the settings with an empty Algorithm replaced by
	// DenyOverrides; the platform has no settings.
	PutSettings(ctx context.Context, s Settings) error
	// PlatformRoleUsers returns the tenants whose roles inherit the
	// platform role or whose assignments name it, sorted, as the
	// transaction sees them: what removing the role would break.
	PlatformRoleUsers(ctx context.Context, role string) ([]string, error)
}

// Store is the source of truth of every tenant's policy set.
type Store interface {
	Reader
	// InTx runs fn in one transaction, serialized with every other write
	// of the tenant, and commits when fn returns nil. When fn changed
	// anything, the tenant's version goes up by one and a PolicyRevision
	// is recorded in the same transaction; the version after the
	// transaction is returned either way. fn's own error is returned
	// unchanged.
	InTx(ctx context.Context, tenant string, fn func(Tx) error) (version int64, err error)
}

// CheckTenant validates the tenant of a write: "" (the platform) or a name.
func CheckTenant(tenant string) error {
	if tenant != "" && !ValidRoleName(tenant) {
		return apperr.Fields("invalid tenant", map[string]string{"tenant": rbacNameRule})
	}
	return nil
}

// CheckRoleFor validates r as a write in tenant's policy set.
func CheckRoleFor(tenant string, r Role) error {
	if r.Tenant != tenant {
		return belongsElsewhere("role", r.Tenant, tenant)
	}
	return r.Validate()
}

// CheckAssignmentFor validates a as a write in tenant's policy set.
func CheckAssignmentFor(tenant string, a Assignment) error {
	if a.Tenant != tenant {
		return belongsElsewhere("assignment", a.Tenant, tenant)
	}
	return a.Validate()
}

// CheckPolicyFor validates p as a write in tenant's policy set and returns
// it as stored (Tenant set). Its content is checked by CompilePolicies.
func CheckPolicyFor(tenant string, p Policy) (Policy, error) {
	if tenant == "" {
		return p, apperr.Fields("invalid policy", map[string]string{"tenant": "must be set: the platform has no policies"})
	}
	if p.Tenant != "" && p.Tenant != tenant {
		return p, belongsElsewhere("policy", p.Tenant, tenant)
	}
	p.Tenant = tenant
	if !abacIDRE.MatchString(p.ID) {
		return p, apperr.Fields("invalid policy", map[string]string{"id": "must be 1-128 characters of A-Z, a-z, 0-9, '.', '_', ':', '-', starting with a letter or digit"})
	}
	return p, nil
}

// CheckSettingsFor validates s as a write in tenant's policy set and
// returns it as stored (Tenant set, default algorithm spelled out).
func CheckSettingsFor(tenant string, s Settings) (Settings, error) {
	if s.Tenant != "" && s.Tenant != tenant {
		return s, belongsElsewhere("settings", s.Tenant, tenant)
	}
	s.Tenant = tenant
	if s.Algorithm == "" {
		s.Algorithm = DenyOverrides
	}
	if tenant == "" {
		return s, apperr.Fields("invalid settings", map[string]string{"tenant": "must be set: the platform has no settings"})
	}
	return s, s.Validate()
}

func belongsElsewhere(what, got, tenant string) error {
	return apperr.Fields("invalid "+what, map[string]string{
		"tenant": fmt.Sprintf("is %q, but the write is to tenant %q", got, tenant),
	})
}

// Summarize describes changes in words ("put role admin; delete policy
// p1"), for revisions written without a summary.
func Summarize(changes []Change) string {
	parts := make([]string, 0, len(changes))
	for _, c := range changes {
		verb := "put"
		if c.After == nil {
			verb = "delete"
		}
		parts = append(parts, fmt.Sprintf("%s %s %s", verb, c.Kind, c.Key))
	}
	return strings.Join(parts, "; ")
}
