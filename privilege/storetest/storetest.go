package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/privilege"
)

// Run runs the contract suite. open must return a new, empty, ready store
// for each call and release it when its test ends; subtests do not share
// stores, so they may run in any order.
func Run(t *testing.T, open func(t *testing.T) privilege.Store) {
	t.Run("records", func(t *testing.T) { testRecords(t, open) })
	t.Run("validation", func(t *testing.T) { testValidation(t, open) })
	t.Run("versions", func(t *testing.T) { testVersions(t, open) })
	t.Run("revisions", func(t *testing.T) { testRevisions(t, open) })
	t.Run("tenant isolation", func(t *testing.T) { testIsolation(t, open) })
	t.Run("concurrency", func(t *testing.T) { testConcurrency(t, open) })
	t.Run("decisions", func(t *testing.T) { testDecisions(t, open) })
	t.Run("platform role users", func(t *testing.T) { testPlatformRoleUsers(t, open) })
}

// zone is a non-UTC zone with a half-hour offset, so that a store that
// ignores or mangles zones fails the round trips.
var zone = time.FixedZone("UTC+05:30", 5*3600+30*60)

// at returns a timestamp with nanoseconds in zone, minutes after a fixed
// instant.
func at(minutes int) time.Time {
	return time.Date(2026, 11, 22, 10, 0, 0, 123456789, zone).Add(time.Duration(minutes) * time.Minute)
}

// normTime is how precisely stores keep timestamps: UTC, microseconds.
func normTime(ts time.Time) time.Time {
	if ts.IsZero() {
		return time.Time{}
	}
	return ts.UTC().Truncate(time.Microsecond)
}

// write runs fn in a transaction of tenant, fails the test if it does not
// commit, and returns the version after it.
func write(t *testing.T, s privilege.Store, tenant string, fn func(tx privilege.Tx) error) int64 {
	t.Helper()
	v, err := s.InTx(t.Context(), tenant, fn)
	if err != nil {
		t.Fatalf("transaction of tenant %q failed: %v", tenant, err)
	}
	return v
}

// snapshot reads a tenant's snapshot, failing the test on error.
func snapshot(t *testing.T, s privilege.Store, tenant string) privilege.Snapshot {
	t.Helper()
	snap, err := s.Snapshot(t.Context(), tenant)
	must(t, err, "snapshot of tenant "+tenant)
	return snap
}

// wantCode fails the test unless err carries code.
func wantCode(t *testing.T, err error, code apperr.Code, what string) {
	t.Helper()
	if !apperr.Is(err, code) {
		t.Fatalf("%s: got error %v (code %s), want code %s", what, err, apperr.CodeOf(err), code)
	}
}

// must fails the test on an unexpected error.
func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// sameJSON compares values by their JSON, so that nil and empty slices and
// a policy value's []string and []any agree.
func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, w := canon(t, got), canon(t, want)
	if g != w {
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

// canon renders v as JSON with sorted keys and no spacing.
func canon(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	must(t, err, "encode")
	var generic any
	must(t, json.Unmarshal(b, &generic), "decode")
	out, err := json.Marshal(generic)
	must(t, err, "re-encode")
	return string(out)
}

// role returns a valid role of tenant ("" for a platform role) with
// inheritance, permits and a deny.
func role(tenant, name string, inherits ...string) privilege.Role {
	return privilege.Role{
		Tenant: tenant, Name: name, Platform: tenant == "",
		Description: "Role " + name + " (ünïcode)",
		Inherits:    inherits,
		Permissions: []privilege.Permission{
			{Resource: "orders/*", Action: "read"},
			{Resource: "orders/*", Action: "refund", Effect: privilege.Deny},
			{Resource: name, Action: "*", Effect: privilege.Permit},
		},
	}
}

// assignment returns an assignment of tenant expiring at expires.
func assignment(tenant, subject, role string, expires time.Time) privilege.Assignment {
	return privilege.Assignment{Tenant: tenant, Subject: subject, Role: role, ExpiresAt: expires}
}

// policy returns a policy document with a condition of every shape.
func policy(tenant, id string) privilege.Policy {
	return privilege.Policy{
		ID: id, Tenant: tenant, Description: "policy " + id, Priority: 7,
		Target: privilege.Target{Resources: []string{"orders/*"}, Actions: []string{"read", "refund"}},
		Rules: []privilege.Rule{
			{ID: "owner", Effect: privilege.Permit, Priority: 1, Condition: &privilege.Condition{
				All: []privilege.Condition{
					{Attr: "resource.owner", Op: privilege.OpEq, Ref: "subject.id"},
					{Attr: "subject.department", Op: privilege.OpIn, Value: []string{"sales", "support"}},
				},
			}},
			{ID: "large", Effect: privilege.Deny, Priority: 2, Condition: &privilege.Condition{
				Attr: "resource.amount", Op: privilege.OpGt, Value: 1000.5,
			}},
		},
	}
}

// settings returns settings of tenant with every field set.
func settings(tenant string) privilege.Settings {
	return privilege.Settings{
		Tenant: tenant, Algorithm: privilege.FirstApplicable, FailOpen: true, AuditSampleRate: 0.125,
		Schema: map[string]string{"subject.department": "string", "resource.amount": "number", "resource.owner": "string"},
	}
}

// normAssignment is an assignment as stores keep it.
func normAssignment(a privilege.Assignment) privilege.Assignment {
	a.ExpiresAt = normTime(a.ExpiresAt)
	return a
}
