package privilege_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/privilege"
)

// memTx is an in-memory privilege.Tx of one tenant that records changes
// as the Tx contract says (first before to last after, in the order
// records were first touched; a put of the same document is no change).
// Its platform roles and assignments are read-only.
type memTx struct {
	tenant              string
	version             int64
	platformRoles       []privilege.Role
	platformAssignments []privilege.Assignment
	roles               map[string]privilege.Role
	assignments         map[string]privilege.Assignment
	policies            map[string]privilege.Policy
	settings            *privilege.Settings
	actor, summary      string
	changes             []privilege.Change
	touched             map[string]int
}

var _ privilege.Tx = (*memTx)(nil)

func newMemTx(tenant string) *memTx {
	return &memTx{tenant: tenant, roles: map[string]privilege.Role{}, assignments: map[string]privilege.Assignment{},
		policies: map[string]privilege.Policy{}, touched: map[string]int{}}
}

func (m *memTx) Tenant() string { return m.tenant }

func (m *memTx) Describe(actor, summary string) { m.actor, m.summary = actor, summary }

func (m *memTx) Snapshot(context.Context) (privilege.Snapshot, error) {
	s := privilege.Snapshot{Tenant: m.tenant, Version: m.version, Settings: privilege.DefaultSettings(m.tenant)}
	s.Roles = append(slices.Clone(m.platformRoles), sortedValues(m.roles)...)
	s.Assignments = append(slices.Clone(m.platformAssignments), sortedValues(m.assignments)...)
	s.Policies = sortedValues(m.policies)
	if m.settings != nil {
		s.Settings = *m.settings
	}
	return s, nil
}

// sortedValues returns m's values by key; the keys sort as Snapshot's
// lists do (assignments are keyed "subject\x00role" here).
func sortedValues[T any](m map[string]T) []T {
	var out []T
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[k])
	}
	return out
}

func (m *memTx) record(kind privilege.ChangeKind, key string, before, after json.RawMessage) {
	id := string(kind) + "\x00" + key
	if i, ok := m.touched[id]; ok {
		m.changes[i].After = after
		return
	}
	m.touched[id] = len(m.changes)
	m.changes = append(m.changes, privilege.Change{Kind: kind, Key: key, Before: before, After: after})
}

func memDoc(v any, ok bool) json.RawMessage {
	if !ok {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// memPut stores v under key in m and records the change unless the
// document is the same.
func memPut[T any](t *memTx, kind privilege.ChangeKind, key, storeKey string, m map[string]T, v T) {
	old, ok := m[storeKey]
	before, after := memDoc(old, ok), memDoc(v, true)
	if bytes.Equal(before, after) {
		return
	}
	m[storeKey] = v
	t.record(kind, key, before, after)
}

func memDel[T any](t *memTx, kind privilege.ChangeKind, key, storeKey string, m map[string]T) error {
	old, ok := m[storeKey]
	if !ok {
		return apperr.New(apperr.NotFound, "%s %q of tenant %q not found", kind, key, t.tenant)
	}
	delete(m, storeKey)
	t.record(kind, key, memDoc(old, true), nil)
	return nil
}

func (m *memTx) PutRole(_ context.Context, r privilege.Role) error {
	if err := privilege.CheckRoleFor(m.tenant, r); err != nil {
		return err
	}
	for _, p := range m.platformRoles {
		if p.Name == r.Name {
			return apperr.New(apperr.Conflict, "role %q is a platform role", r.Name)
		}
	}
	memPut(m, privilege.KindRole, r.Name, r.Name, m.roles, r)
	return nil
}

func (m *memTx) DeleteRole(_ context.Context, name string) error {
	return memDel(m, privilege.KindRole, name, name, m.roles)
}

func (m *memTx) PutAssignment(_ context.Context, a privilege.Assignment) error {
	if err := privilege.CheckAssignmentFor(m.tenant, a); err != nil {
		return err
	}
	a.ExpiresAt = a.ExpiresAt.UTC() // as stores keep times
	memPut(m, privilege.KindAssignment, privilege.AssignmentKey(a.Subject, a.Role), a.Subject+"\x00"+a.Role, m.assignments, a)
	return nil
}

func (m *memTx) DeleteAssignment(_ context.Context, subject, role string) error {
	return memDel(m, privilege.KindAssignment, privilege.AssignmentKey(subject, role), subject+"\x00"+role, m.assignments)
}

func (m *memTx) PutPolicy(_ context.Context, p privilege.Policy) error {
	p, err := privilege.CheckPolicyFor(m.tenant, p)
	if err != nil {
		return err
	}
	memPut(m, privilege.KindPolicy, p.ID, p.ID, m.policies, p)
	return nil
}

func (m *memTx) DeletePolicy(_ context.Context, id string) error {
	return memDel(m, privilege.KindPolicy, id, id, m.policies)
}

// PlatformRoleUsers: the fake holds one tenant; nothing references.
func (m *memTx) PlatformRoleUsers(context.Context, string) ([]string, error) { return nil, nil }

func (m *memTx) PutSettings(_ context.Context, s privilege.Settings) error {
	s, err := privilege.CheckSettingsFor(m.tenant, s)
	if err != nil {
		return err
	}
	before, after := memDoc(m.settings, m.settings != nil), memDoc(s, true)
	if !bytes.Equal(before, after) {
		m.settings = &s
		m.record(privilege.KindSettings, "settings", before, after)
	}
	return nil
}

// commit ends the transaction as a store would: the changed records make
// the next revision (Version unchanged and no revision when none did).
func (m *memTx) commit() (privilege.PolicyRevision, bool) {
	var live []privilege.Change
	for _, c := range m.changes {
		if !bytes.Equal(c.Before, c.After) {
			live = append(live, c)
		}
	}
	m.changes, m.touched = nil, map[string]int{}
	if len(live) == 0 {
		return privilege.PolicyRevision{}, false
	}
	m.version++
	rev := privilege.PolicyRevision{Tenant: m.tenant, Version: m.version, Actor: m.actor, Summary: m.summary, Changes: live}
	m.actor, m.summary = "", ""
	return rev, true
}

func (m *memTx) snapshot(t *testing.T) privilege.Snapshot {
	t.Helper()
	s, err := m.Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// jsonOf encodes a domain value for a hand-built Change.
func jsonOf(t testing.TB, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// baseTx is tenant acme with a platform role, two roles, an assignment
// and a policy, but no settings of its own.
func baseTx(t *testing.T) *memTx {
	t.Helper()
	m := newMemTx("acme")
	m.platformRoles = []privilege.Role{{Name: "operator", Platform: true, Permissions: []privilege.Permission{{Resource: "*", Action: "*"}}}}
	m.platformAssignments = []privilege.Assignment{{Subject: "ops", Role: "operator"}}
	ctx := t.Context()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(m.PutRole(ctx, readerRole(false)))
	must(m.PutRole(ctx, privilege.Role{Tenant: "acme", Name: "legacy"}))
	must(m.PutAssignment(ctx, privilege.Assignment{Tenant: "acme", Subject: "bob", Role: "reader"}))
	must(m.PutPolicy(ctx, basePolicy()))
	if _, ok := m.commit(); !ok {
		t.Fatal("base state made no revision")
	}
	return m
}

// basePolicy denies everything on frozen orders; it needs no attribute
// schema, so every state of the tests' policy set compiles.
func basePolicy() privilege.Policy {
	return privilege.Policy{ID: "frozen", Tenant: "acme",
		Target: privilege.Target{Resources: []string{"orders/frozen/*"}, Actions: []string{"*"}},
		Rules:  []privilege.Rule{{ID: "frozen-orders", Effect: privilege.Deny}}}
}

func readerRole(withWrite bool) privilege.Role {
	r := privilege.Role{Tenant: "acme", Name: "reader", Permissions: []privilege.Permission{{Resource: "orders/*", Action: "read"}}}
	if withWrite {
		r.Permissions = append(r.Permissions, privilege.Permission{Resource: "orders/*", Action: "write"})
	}
	return r
}

// handRevision is a revision of baseTx's tenant touching every kind:
// it changes, creates and deletes records, and creates the settings.
func handRevision(t testing.TB) privilege.PolicyRevision {
	expires := time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
	archive := privilege.Policy{ID: "archive", Tenant: "acme", Target: privilege.Target{Resources: []string{"orders/archive/*"}, Actions: []string{"write"}},
		Rules: []privilege.Rule{{ID: "read-only", Effect: privilege.Deny}}}
	frozen2 := basePolicy()
	frozen2.Description = "frozen orders are read-only"
	settings := privilege.Settings{Tenant: "acme", Algorithm: privilege.PermitOverrides, Schema: map[string]string{"resource.frozen": "bool"}}
	return privilege.PolicyRevision{Tenant: "acme", Version: 2, Actor: "admin", Changes: []privilege.Change{
		{Kind: privilege.KindRole, Key: "reader", Before: jsonOf(t, readerRole(false)), After: jsonOf(t, readerRole(true))},
		{Kind: privilege.KindRole, Key: "auditor", After: jsonOf(t, privilege.Role{Tenant: "acme", Name: "auditor", Inherits: []string{"reader"}})},
		{Kind: privilege.KindRole, Key: "legacy", Before: jsonOf(t, privilege.Role{Tenant: "acme", Name: "legacy"})},
		{Kind: privilege.KindAssignment, Key: "auditor:svc:billing", After: jsonOf(t, privilege.Assignment{Tenant: "acme", Subject: "svc:billing", Role: "auditor", ExpiresAt: expires})},
		{Kind: privilege.KindAssignment, Key: "reader:bob", Before: jsonOf(t, privilege.Assignment{Tenant: "acme", Subject: "bob", Role: "reader"})},
		{Kind: privilege.KindPolicy, Key: "frozen", Before: jsonOf(t, basePolicy()), After: jsonOf(t, frozen2)},
		{Kind: privilege.KindPolicy, Key: "archive", After: jsonOf(t, archive)},
		{Kind: privilege.KindSettings, Key: "settings", After: jsonOf(t, settings)},
	}}
}

func applyAll(t *testing.T, m *memTx, changes []privilege.Change) {
	t.Helper()
	for _, c := range changes {
		if err := privilege.ApplyChange(t.Context(), m, c); err != nil {
			t.Fatalf("apply %s %s: %v", c.Kind, c.Key, err)
		}
	}
}

func TestRollbackChanges(t *testing.T) {
	rev := handRevision(t)
	undo := privilege.RollbackChanges(rev)
	if len(undo) != len(rev.Changes) {
		t.Fatalf("%d changes undo %d", len(undo), len(rev.Changes))
	}
	t.Run("undoes the last change first, swapping before and after", func(t *testing.T) {
		for i, u := range undo {
			c := rev.Changes[len(rev.Changes)-1-i]
			if u.Kind != c.Kind || u.Key != c.Key || !bytes.Equal(u.Before, c.After) {
				t.Errorf("undo %d is %s %s from %s; want %s %s from %s", i, u.Kind, u.Key, u.Before, c.Kind, c.Key, c.After)
			}
			if c.Kind != privilege.KindSettings && !bytes.Equal(u.After, c.Before) {
				t.Errorf("undo of %s %s goes to %s, want %s", c.Kind, c.Key, u.After, c.Before)
			}
		}
	})
	t.Run("records rev created are deleted, except settings, which go back to the defaults", func(t *testing.T) {
		for _, u := range undo {
			switch {
			case u.Kind == privilege.KindSettings:
				var s privilege.Settings
				if err := json.Unmarshal(u.After, &s); err != nil || !reflect.DeepEqual(s, privilege.DefaultSettings("acme")) {
					t.Errorf("settings roll back to %s (%v), want the defaults", u.After, err)
				}
			case u.Key == "auditor" || u.Key == "archive":
				if u.After != nil {
					t.Errorf("%s %s rolls back to %s, want a delete", u.Kind, u.Key, u.After)
				}
			}
		}
	})
	t.Run("a JSON null side counts as absent", func(t *testing.T) {
		got := privilege.RollbackChanges(privilege.PolicyRevision{Tenant: "acme", Changes: []privilege.Change{
			{Kind: privilege.KindPolicy, Key: "p", Before: json.RawMessage(" null "), After: json.RawMessage(`{"id":"p"}`)},
		}})
		if len(got) != 1 || got[0].After != nil || string(got[0].Before) != `{"id":"p"}` {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("an empty revision has nothing to undo", func(t *testing.T) {
		if got := privilege.RollbackChanges(privilege.PolicyRevision{Tenant: "acme"}); len(got) != 0 {
			t.Errorf("got %+v", got)
		}
	})
}

func TestApplyChange(t *testing.T) {
	expires := time.Date(2027, 1, 2, 3, 4, 5, 0, time.FixedZone("UTC+2", 7200))
	ok := []struct {
		name  string
		c     privilege.Change
		check func(s privilege.Snapshot) bool
	}{
		{"puts a role", privilege.Change{Kind: privilege.KindRole, Key: "reader", After: jsonOf(t, readerRole(true))},
			func(s privilege.Snapshot) bool { return len(s.Roles) == 3 && len(s.Roles[2].Permissions) == 2 }},
		{"deletes a role", privilege.Change{Kind: privilege.KindRole, Key: "legacy", Before: jsonOf(t, privilege.Role{Tenant: "acme", Name: "legacy"})},
			func(s privilege.Snapshot) bool { return len(s.Roles) == 2 && s.Roles[1].Name == "reader" }},
		{"puts an assignment whose subject holds ':'", privilege.Change{Kind: privilege.KindAssignment, Key: "reader:svc:billing",
			After: jsonOf(t, privilege.Assignment{Tenant: "acme", Subject: "svc:billing", Role: "reader", ExpiresAt: expires})},
			func(s privilege.Snapshot) bool {
				return len(s.Assignments) == 3 && s.Assignments[2].Subject == "svc:billing" && s.Assignments[2].ExpiresAt.Equal(expires)
			}},
		{"deletes an assignment by its key", privilege.Change{Kind: privilege.KindAssignment, Key: "reader:bob"},
			func(s privilege.Snapshot) bool { return len(s.Assignments) == 1 }},
		{"puts a policy, giving it the tenant", privilege.Change{Kind: privilege.KindPolicy, Key: "open",
			After: json.RawMessage(`{"id":"open","target":{"resources":["*"],"actions":["read"]},"rules":[{"id":"r","effect":"permit"}]}`)},
			func(s privilege.Snapshot) bool {
				return len(s.Policies) == 2 && s.Policies[1].ID == "open" && s.Policies[1].Tenant == "acme"
			}},
		{"deletes a policy", privilege.Change{Kind: privilege.KindPolicy, Key: "frozen", After: json.RawMessage("null")},
			func(s privilege.Snapshot) bool { return len(s.Policies) == 0 }},
		{"puts settings", privilege.Change{Kind: privilege.KindSettings, Key: "settings", After: json.RawMessage(`{"tenant":"acme","algorithm":"first-applicable","audit_sample_rate":0.5}`)},
			func(s privilege.Snapshot) bool {
				return s.Settings.Algorithm == privilege.FirstApplicable && s.Settings.AuditSampleRate == 0.5
			}},
		{"puts the default settings for settings that are absent after", privilege.Change{Kind: privilege.KindSettings, Key: "settings",
			Before: json.RawMessage(`{"tenant":"acme","algorithm":"first-applicable"}`)},
			func(s privilege.Snapshot) bool {
				return reflect.DeepEqual(s.Settings, privilege.DefaultSettings("acme"))
			}},
	}
	for _, tt := range ok {
		t.Run(tt.name, func(t *testing.T) {
			m := baseTx(t)
			if err := privilege.ApplyChange(t.Context(), m, tt.c); err != nil {
				t.Fatal(err)
			}
			if s := m.snapshot(t); !tt.check(s) {
				t.Fatalf("snapshot after the change: %+v", s)
			}
			if len(m.changes) != 1 || m.changes[0].Kind != tt.c.Kind || m.changes[0].Key != tt.c.Key {
				t.Fatalf("the transaction recorded %+v", m.changes)
			}
		})
	}

	bad := []struct {
		name string
		c    privilege.Change
		code apperr.Code
	}{
		{"an unknown kind", privilege.Change{Kind: "group", Key: "g", After: json.RawMessage(`{}`)}, apperr.Unprocessable},
		{"an unknown kind deleting", privilege.Change{Kind: "", Key: "g"}, apperr.Unprocessable},
		{"JSON that does not parse", privilege.Change{Kind: privilege.KindRole, Key: "reader", After: json.RawMessage(`{"name":`)}, apperr.Invalid},
		{"JSON of the wrong shape", privilege.Change{Kind: privilege.KindPolicy, Key: "p", After: json.RawMessage(`["p"]`)}, apperr.Invalid},
		{"a misspelt field", privilege.Change{Kind: privilege.KindPolicy, Key: "p", After: json.RawMessage(`{"id":"p","rules":[{"id":"r","effect":"deny","condtion":{}}]}`)}, apperr.Invalid},
		{"trailing data", privilege.Change{Kind: privilege.KindSettings, Key: "settings", After: json.RawMessage(`{"tenant":"acme"} {}`)}, apperr.Invalid},
		{"a key that is not the record's", privilege.Change{Kind: privilege.KindRole, Key: "writer", After: jsonOf(t, readerRole(false))}, apperr.Unprocessable},
		{"an assignment key that is not the record's", privilege.Change{Kind: privilege.KindAssignment, Key: "bob:reader",
			After: jsonOf(t, privilege.Assignment{Tenant: "acme", Subject: "bob", Role: "reader"})}, apperr.Unprocessable},
		{"a settings key other than settings", privilege.Change{Kind: privilege.KindSettings, Key: "acme", After: jsonOf(t, privilege.DefaultSettings("acme"))}, apperr.Unprocessable},
		{"an assignment key without a ':'", privilege.Change{Kind: privilege.KindAssignment, Key: "reader"}, apperr.Unprocessable},
		{"a record of another tenant (the Tx's check)", privilege.Change{Kind: privilege.KindRole, Key: "spy", After: jsonOf(t, privilege.Role{Tenant: "globex", Name: "spy"})}, apperr.Unprocessable},
		{"a delete of a missing record (the Tx's check)", privilege.Change{Kind: privilege.KindPolicy, Key: "nope"}, apperr.NotFound},
	}
	for _, tt := range bad {
		t.Run("rejects "+tt.name, func(t *testing.T) {
			m := baseTx(t)
			before := m.snapshot(t)
			err := privilege.ApplyChange(t.Context(), m, tt.c)
			if !apperr.Is(err, tt.code) {
				t.Fatalf("got %v (code %s), want code %s", err, apperr.CodeOf(err), tt.code)
			}
			if !reflect.DeepEqual(m.snapshot(t), before) || len(m.changes) != 0 {
				t.Fatalf("a rejected change changed the policy set: %+v", m.changes)
			}
		})
	}
}

func TestCheckRollback(t *testing.T) {
	ctx := context.Background()
	// applied returns baseTx with handRevision applied and committed.
	applied := func(t *testing.T) (*memTx, privilege.PolicyRevision) {
		m := baseTx(t)
		rev := handRevision(t)
		applyAll(t, m, rev.Changes)
		if _, ok := m.commit(); !ok {
			t.Fatal("the revision changed nothing")
		}
		return m, rev
	}
	tests := []struct {
		name  string
		since func(m *memTx) error // what happens after the revision
		want  map[string]string    // conflict details; nil: no conflict
	}{
		{"nothing since: the rollback can go ahead", func(*memTx) error { return nil }, nil},
		{"other records changed since: still fine", func(m *memTx) error {
			return m.PutRole(ctx, privilege.Role{Tenant: "acme", Name: "newcomer"})
		}, nil},
		{"a record stored again as it was: still fine", func(m *memTx) error {
			r := readerRole(true)
			r.Inherits, r.Permissions[0].Effect = []string{}, privilege.Permit
			return m.PutRole(ctx, r)
		}, nil},
		{"a record changed since", func(m *memTx) error { return m.PutRole(ctx, readerRole(false)) },
			map[string]string{"role reader": "changed since revision 2"}},
		{"a record deleted since", func(m *memTx) error { return m.DeletePolicy(ctx, "archive") },
			map[string]string{"policy archive": "deleted since revision 2"}},
		{"a record re-created since", func(m *memTx) error {
			return m.PutAssignment(ctx, privilege.Assignment{Tenant: "acme", Subject: "bob", Role: "reader"})
		}, map[string]string{"assignment reader:bob": "re-created since revision 2"}},
		{"settings changed since", func(m *memTx) error { return m.PutSettings(ctx, privilege.DefaultSettings("acme")) },
			map[string]string{"settings": "changed since revision 2"}},
		{"several records: each is named", func(m *memTx) error {
			return cmp.Or(m.DeleteRole(ctx, "auditor"), m.PutRole(ctx, privilege.Role{Tenant: "acme", Name: "legacy", Description: "back"}),
				m.PutAssignment(ctx, privilege.Assignment{Tenant: "acme", Subject: "svc:billing", Role: "auditor"}))
		}, map[string]string{
			"role auditor":                   "deleted since revision 2",
			"role legacy":                    "re-created since revision 2",
			"assignment auditor:svc:billing": "changed since revision 2",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, rev := applied(t)
			if err := tt.since(m); err != nil {
				t.Fatal(err)
			}
			m.commit()
			err := privilege.CheckRollback(m.snapshot(t), rev)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("got %v, want no conflict", err)
				}
				return
			}
			if !apperr.Is(err, apperr.Conflict) || !reflect.DeepEqual(apperr.DetailsOf(err), tt.want) {
				t.Fatalf("got %v (details %v), want a conflict with %v", err, apperr.DetailsOf(err), tt.want)
			}
			for name := range tt.want {
				if !strings.Contains(err.Error(), name) {
					t.Errorf("message %q does not name %s", err, name)
				}
			}
		})
	}

	t.Run("records compare as domain values, not bytes", func(t *testing.T) {
		m := baseTx(t)
		expires := time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
		// The revision's documents are spelled differently from how the
		// transaction stores the same records: other field order and
		// spacing, an explicit permit, a zone, empty lists and maps.
		rev := privilege.PolicyRevision{Tenant: "acme", Version: 2, Changes: []privilege.Change{
			{Kind: privilege.KindRole, Key: "reader", After: json.RawMessage(`{ "permissions": [{"action":"read","resource":"orders/*","effect":"permit"}], "name":"reader", "tenant":"acme", "inherits": [] }`)},
			{Kind: privilege.KindAssignment, Key: "reader:carol", After: json.RawMessage(`{"role":"reader","subject":"carol","tenant":"acme","expires_at":"2027-01-02T05:04:05+02:00"}`)},
			{Kind: privilege.KindPolicy, Key: "frozen", After: json.RawMessage(`{"id":"frozen","target":{"actions":["*"],"resources":["orders/*"]},
				"rules":[{"id":"frozen-orders","effect":"deny","condition":{"value":true,"op":"eq","attr":"resource.frozen"}}]}`)},
			{Kind: privilege.KindSettings, Key: "settings", After: json.RawMessage(`{"tenant":"acme","schema":{}}`)},
		}}
		if err := m.PutAssignment(ctx, privilege.Assignment{Tenant: "acme", Subject: "carol", Role: "reader", ExpiresAt: expires}); err != nil {
			t.Fatal(err)
		}
		if err := m.PutPolicy(ctx, frozenPolicy()); err != nil {
			t.Fatal(err)
		}
		if err := privilege.CheckRollback(m.snapshot(t), rev); err != nil {
			t.Fatalf("got %v, want no conflict", err)
		}
	})
	t.Run("rejects a revision of another tenant", func(t *testing.T) {
		m, rev := applied(t)
		rev.Tenant = "globex"
		if err := privilege.CheckRollback(m.snapshot(t), rev); !apperr.Is(err, apperr.Unprocessable) {
			t.Fatalf("got %v, want unprocessable", err)
		}
	})
	t.Run("rejects a malformed change rather than calling it a conflict", func(t *testing.T) {
		m, rev := applied(t)
		rev.Changes[0].Before = json.RawMessage(`{"name":"reader","permisions":[]}`)
		if err := privilege.CheckRollback(m.snapshot(t), rev); !apperr.Is(err, apperr.Invalid) {
			t.Fatalf("got %v, want invalid", err)
		}
		rev.Changes[0] = privilege.Change{Kind: "group", Key: "g"}
		if err := privilege.CheckRollback(m.snapshot(t), rev); !apperr.Is(err, apperr.Unprocessable) {
			t.Fatalf("got %v, want unprocessable", err)
		}
	})
}

// TestRollbackRoundTrip applies a revision to a policy set, undoes it,
// and gets the policy set back exactly, whatever records the revision
// touched.
func TestRollbackRoundTrip(t *testing.T) {
	revs := map[string]func(t *testing.T, m *memTx) privilege.PolicyRevision{
		"a hand-built revision touching every kind, creating the settings": func(t *testing.T, m *memTx) privilege.PolicyRevision {
			return handRevision(t)
		},
		"a revision changing existing settings": func(t *testing.T, m *memTx) privilege.PolicyRevision {
			s := privilege.Settings{Tenant: "acme", Algorithm: privilege.FirstApplicable, FailOpen: true}
			if err := m.PutSettings(t.Context(), s); err != nil {
				t.Fatal(err)
			}
			m.commit()
			s2 := s
			s2.AuditSampleRate = 0.25
			return privilege.PolicyRevision{Tenant: "acme", Version: 3, Changes: []privilege.Change{
				{Kind: privilege.KindSettings, Key: "settings", Before: jsonOf(t, s), After: jsonOf(t, s2)},
			}}
		},
		"a revision that recorded itself through the transaction": func(t *testing.T, m *memTx) privilege.PolicyRevision {
			ctx := t.Context()
			err := cmp.Or(m.DeleteRole(ctx, "legacy"), m.DeleteAssignment(ctx, "bob", "reader"),
				m.PutRole(ctx, privilege.Role{Tenant: "acme", Name: "writer", Inherits: []string{"reader"}}),
				m.PutAssignment(ctx, privilege.Assignment{Tenant: "acme", Subject: "bob", Role: "writer"}),
				m.PutPolicy(ctx, privilege.Policy{ID: "p2", Target: privilege.Target{Resources: []string{"reports/*"}, Actions: []string{"read"}}, Rules: []privilege.Rule{{ID: "r", Effect: privilege.Permit}}}))
			if err != nil {
				t.Fatal(err)
			}
			rev, _ := m.commit()
			// Undo it here so the round trip below starts from the state
			// before it.
			applyAll(t, m, privilege.RollbackChanges(rev))
			m.commit()
			return rev
		},
	}
	for name, mk := range revs {
		t.Run(name, func(t *testing.T) {
			m := baseTx(t)
			rev := mk(t, m)
			original := m.snapshot(t)

			applyAll(t, m, rev.Changes)
			if _, ok := m.commit(); !ok {
				t.Fatal("the revision changed nothing")
			}
			if err := privilege.CheckRollback(m.snapshot(t), rev); err != nil {
				t.Fatalf("right after the revision: %v", err)
			}
			if _, err := privilege.CompileSnapshot(m.snapshot(t)); err != nil {
				t.Fatalf("the revision left a policy set that does not compile: %v %v", err, apperr.DetailsOf(err))
			}

			undo := privilege.RollbackChanges(rev)
			applyAll(t, m, undo)
			recorded, ok := m.commit()
			if !ok {
				t.Fatal("the rollback changed nothing")
			}
			got := m.snapshot(t)
			got.Version, original.Version = 0, 0
			if !reflect.DeepEqual(got, original) {
				t.Fatalf("after the rollback:\n%+v\nwant the original:\n%+v", got, original)
			}
			sameChanges(t, recorded.Changes, undo)
		})
	}
}

// sameChanges compares changes kind, key and order exactly and their
// documents as JSON values.
func sameChanges(t *testing.T, got, want []privilege.Change) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("recorded %d changes, want %d:\n%+v", len(got), len(want), got)
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Kind != w.Kind || g.Key != w.Key || !sameDoc(g.Before, w.Before) || !sameDoc(g.After, w.After) {
			t.Errorf("change %d is %s %s %s -> %s; want %s %s %s -> %s", i, g.Kind, g.Key, g.Before, g.After, w.Kind, w.Key, w.Before, w.After)
		}
	}
}

func sameDoc(a, b json.RawMessage) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func TestRollback(t *testing.T) {
	t.Run("undoes the revision and says so in the next one", func(t *testing.T) {
		m := baseTx(t)
		original := m.snapshot(t)
		rev := handRevision(t)
		applyAll(t, m, rev.Changes)
		m.commit()
		if err := privilege.Rollback(t.Context(), m, rev, "carol"); err != nil {
			t.Fatal(err)
		}
		undo, _ := m.commit()
		if undo.Actor != "carol" || undo.Summary != "roll back revision 2" {
			t.Errorf("revision by %q: %q", undo.Actor, undo.Summary)
		}
		got := m.snapshot(t)
		got.Version, original.Version = 0, 0
		if !reflect.DeepEqual(got, original) {
			t.Errorf("after the rollback %+v, want %+v", got, original)
		}
	})
	t.Run("a conflict changes nothing", func(t *testing.T) {
		m := baseTx(t)
		rev := handRevision(t)
		applyAll(t, m, rev.Changes)
		m.commit()
		if err := m.PutRole(t.Context(), privilege.Role{Tenant: "acme", Name: "legacy"}); err != nil {
			t.Fatal(err)
		}
		m.commit()
		err := privilege.Rollback(t.Context(), m, rev, "carol")
		if !apperr.Is(err, apperr.Conflict) || len(m.changes) != 0 {
			t.Fatalf("got %v with changes %+v, want a conflict and none", err, m.changes)
		}
	})
	t.Run("an undo that would break a later record fails to compile", func(t *testing.T) {
		m := baseTx(t)
		rev := privilege.PolicyRevision{Tenant: "acme", Version: 2, Changes: []privilege.Change{
			{Kind: privilege.KindRole, Key: "auditor", After: jsonOf(t, privilege.Role{Tenant: "acme", Name: "auditor"})},
		}}
		applyAll(t, m, rev.Changes)
		m.commit()
		if err := m.PutAssignment(t.Context(), privilege.Assignment{Tenant: "acme", Subject: "carol", Role: "auditor"}); err != nil {
			t.Fatal(err)
		}
		m.commit()
		err := privilege.Rollback(t.Context(), m, rev, "carol")
		if !apperr.Is(err, apperr.Unprocessable) || !hasDetailPrefix(apperr.DetailsOf(err), "assignments") {
			t.Fatalf("got %v (details %v), want unprocessable naming the assignment", err, apperr.DetailsOf(err))
		}
	})
}

// FuzzApplyChange applies arbitrary changes to a small policy set: a
// change is applied or rejected with a domain error, never a panic or an
// internal error, and once applied the record is as the change says.
func FuzzApplyChange(f *testing.F) {
	for _, c := range handRevision(f).Changes {
		f.Add(string(c.Kind), c.Key, []byte(c.After))
	}
	f.Add("assignment", "reader:bob", []byte(nil))
	f.Add("assignment", "reader:carol", []byte(`{"tenant":"acme","subject":"carol","role":"reader","expires_at":"9999-12-31T23:00:00-02:00"}`))
	f.Add("settings", "settings", []byte(`{"tenant":"acme","algorithm":"nope"}`))
	f.Add("settings", "settings", []byte(`null`))
	f.Add("policy", "p", []byte(`{"id":"p","rules":[{"id":"r","effect":"deny","condition":{"attr":"x","value":[1,{"a":null}]}}]}`))
	f.Add("role", "reader", []byte(`{"NAME":"reader","Tenant":"acme","name":"reader"}`))
	f.Fuzz(func(t *testing.T, kind, key string, after []byte) {
		m := baseTx(t)
		c := privilege.Change{Kind: privilege.ChangeKind(kind), Key: key, After: after}
		if err := privilege.ApplyChange(t.Context(), m, c); err != nil {
			switch apperr.CodeOf(err) {
			case apperr.Invalid, apperr.Unprocessable, apperr.NotFound, apperr.Conflict:
				return
			}
			t.Fatalf("%s %q = %s: %v (code %s)", kind, key, after, err, apperr.CodeOf(err))
		}
		rev := privilege.PolicyRevision{Tenant: "acme", Changes: []privilege.Change{c}}
		if err := privilege.CheckRollback(m.snapshot(t), rev); err != nil {
			t.Fatalf("after applying %s %q = %s the record is not as the change says: %v", kind, key, after, err)
		}
	})
}
