package storetest

import (
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/privilege"
)

func testIsolation(t *testing.T, open func(t *testing.T) privilege.Store) {
	t.Run("tenants see only their own records and the platform's", func(t *testing.T) {
		s := open(t)
		ops := role("", "operator")
		root := assignment("", "root", "operator", time.Time{})
		write(t, s, "", func(tx privilege.Tx) error {
			must(t, tx.PutRole(t.Context(), ops), "put platform role")
			return tx.PutAssignment(t.Context(), root)
		})
		// Both tenants use the same names for different records.
		fill := func(tenant, subject string, n int) {
			for i := range n {
				write(t, s, tenant, func(tx privilege.Tx) error {
					r := role(tenant, "reader")
					r.Description = tenant + " reader " + string(rune('0'+i))
					must(t, tx.PutRole(t.Context(), r), "put role")
					must(t, tx.PutAssignment(t.Context(), assignment(tenant, subject, "reader", time.Time{})), "assign")
					p := policy(tenant, "p")
					p.Description = tenant
					must(t, tx.PutPolicy(t.Context(), p), "put policy")
					st := settings(tenant)
					st.AuditSampleRate = float64(len(tenant)) / 10
					return tx.PutSettings(t.Context(), st)
				})
			}
		}
		fill("acme", "alice", 1)
		fill("globex", "gina", 3)

		for _, c := range []struct {
			tenant, subject string
			version         int64
		}{{"acme", "alice", 1}, {"globex", "gina", 3}} {
			snap := snapshot(t, s, c.tenant)
			if snap.Tenant != c.tenant || snap.Version != c.version || snap.PlatformVersion != 1 {
				t.Errorf("snapshot of %s: tenant %q version %d platform %d, want %s %d 1",
					c.tenant, snap.Tenant, snap.Version, snap.PlatformVersion, c.tenant, c.version)
			}
			for _, r := range snap.Roles {
				if r.Tenant != c.tenant && r.Tenant != "" {
					t.Errorf("snapshot of %s holds role %s of tenant %q", c.tenant, r.Name, r.Tenant)
				}
			}
			if len(snap.Roles) != 2 || snap.Roles[0].Name != "operator" {
				t.Errorf("roles of %s = %s, want operator and the tenant's reader", c.tenant, canon(t, snap.Roles))
			}
			wantAssignments := []privilege.Assignment{root, assignment(c.tenant, c.subject, "reader", time.Time{})}
			sameJSON(t, "assignments of "+c.tenant, snap.Assignments, wantAssignments)
			if len(snap.Policies) != 1 || snap.Policies[0].Tenant != c.tenant || snap.Policies[0].Description != c.tenant {
				t.Errorf("policies of %s = %s", c.tenant, canon(t, snap.Policies))
			}
			if snap.Settings.Tenant != c.tenant || snap.Settings.AuditSampleRate != float64(len(c.tenant))/10 {
				t.Errorf("settings of %s = %+v", c.tenant, snap.Settings)
			}
			for _, rev := range revisions(t, s, c.tenant) {
				if rev.Tenant != c.tenant {
					t.Errorf("revisions of %s include one of tenant %q", c.tenant, rev.Tenant)
				}
			}
			if v := version(t, s, c.tenant); v != c.version {
				t.Errorf("version of %s = %d, want %d", c.tenant, v, c.version)
			}
		}
		if n := len(revisions(t, s, "acme")); n != 1 {
			t.Errorf("acme has %d revisions, want 1", n)
		}
		_, err := s.GetRevision(t.Context(), "acme", 2)
		wantCode(t, err, apperr.NotFound, "acme reading a version only globex has")

		platform := snapshot(t, s, "")
		sameJSON(t, "platform roles", platform.Roles, []privilege.Role{ops})
		sameJSON(t, "platform assignments", platform.Assignments, []privilege.Assignment{root})
		if platform.Policies != nil || platform.Version != 1 {
			t.Errorf("platform snapshot = %+v", platform)
		}
	})
	t.Run("a tenant cannot change another tenant's records", func(t *testing.T) {
		s := open(t)
		write(t, s, "acme", func(tx privilege.Tx) error {
			must(t, tx.PutRole(t.Context(), role("acme", "reader")), "put role")
			must(t, tx.PutAssignment(t.Context(), assignment("acme", "alice", "reader", time.Time{})), "assign")
			return tx.PutPolicy(t.Context(), policy("acme", "p"))
		})
		for name, fn := range map[string]func(tx privilege.Tx) error{
			"delete its role":       func(tx privilege.Tx) error { return tx.DeleteRole(t.Context(), "reader") },
			"delete its assignment": func(tx privilege.Tx) error { return tx.DeleteAssignment(t.Context(), "alice", "reader") },
			"delete its policy":     func(tx privilege.Tx) error { return tx.DeletePolicy(t.Context(), "p") },
		} {
			_, err := s.InTx(t.Context(), "globex", fn)
			wantCode(t, err, apperr.NotFound, "globex trying to "+name)
		}
		for name, fn := range map[string]func(tx privilege.Tx) error{
			"put its role": func(tx privilege.Tx) error { return tx.PutRole(t.Context(), role("acme", "reader")) },
			"put its assignment": func(tx privilege.Tx) error {
				return tx.PutAssignment(t.Context(), assignment("acme", "eve", "reader", time.Time{}))
			},
			"put its policy":   func(tx privilege.Tx) error { return tx.PutPolicy(t.Context(), policy("acme", "p")) },
			"put its settings": func(tx privilege.Tx) error { return tx.PutSettings(t.Context(), settings("acme")) },
		} {
			_, err := s.InTx(t.Context(), "globex", fn)
			wantCode(t, err, apperr.Unprocessable, "globex trying to "+name)
		}
		// Platform writes do not touch a tenant's version.
		write(t, s, "", func(tx privilege.Tx) error { return tx.PutRole(t.Context(), role("", "operator")) })
		if v := version(t, s, "acme"); v != 1 {
			t.Errorf("acme version = %d, want 1", v)
		}
		if v := version(t, s, "globex"); v != 0 {
			t.Errorf("globex version = %d, want 0", v)
		}
		if snap := snapshot(t, s, "globex"); len(snap.Roles) != 1 || snap.Roles[0].Name != "operator" || snap.Assignments != nil || snap.Policies != nil {
			t.Errorf("globex snapshot = %s", canon(t, snap))
		}
	})
}
