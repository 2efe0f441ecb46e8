package storetest

import (
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/privilege"
)

func testRecords(t *testing.T, open func(t *testing.T) privilege.Store) {
	t.Run("roles read back as written, the platform's first", func(t *testing.T) {
		s := open(t)
		ops := role("", "operator")
		write(t, s, "", func(tx privilege.Tx) error { return tx.PutRole(t.Context(), ops) })
		reader, lead := role("acme", "reader"), role("acme", "lead", "reader", "operator")
		reader.Inherits, reader.Description = nil, ""
		write(t, s, "acme", func(tx privilege.Tx) error {
			must(t, tx.PutRole(t.Context(), reader), "put reader")
			return tx.PutRole(t.Context(), lead)
		})
		sameJSON(t, "roles of acme", snapshot(t, s, "acme").Roles, []privilege.Role{ops, lead, reader})
		sameJSON(t, "platform roles", snapshot(t, s, "").Roles, []privilege.Role{ops})
	})
	t.Run("a put replaces a role and a delete removes it", func(t *testing.T) {
		s := open(t)
		write(t, s, "acme", func(tx privilege.Tx) error {
			must(t, tx.PutRole(t.Context(), role("acme", "a")), "put a")
			return tx.PutRole(t.Context(), role("acme", "b"))
		})
		changed := role("acme", "a", "b")
		changed.Permissions = changed.Permissions[:1]
		write(t, s, "acme", func(tx privilege.Tx) error {
			must(t, tx.PutRole(t.Context(), changed), "replace a")
			return tx.DeleteRole(t.Context(), "b")
		})
		sameJSON(t, "roles", snapshot(t, s, "acme").Roles, []privilege.Role{changed})
		_, err := s.InTx(t.Context(), "acme", func(tx privilege.Tx) error { return tx.DeleteRole(t.Context(), "b") })
		wantCode(t, err, apperr.NotFound, "delete a deleted role")
	})
	t.Run("assignments keep their expiry to the microsecond, in UTC", func(t *testing.T) {
		s := open(t)
		platform := assignment("", "root", "operator", time.Time{})
		write(t, s, "", func(tx privilege.Tx) error { return tx.PutAssignment(t.Context(), platform) })
		forever := assignment("acme", "alice@example.com", "reader", time.Time{})
		expiring := assignment("acme", "alice@example.com", "lead", at(90))
		other := assignment("acme", "bob", "reader", at(-30))
		write(t, s, "acme", func(tx privilege.Tx) error {
			for _, a := range []privilege.Assignment{other, forever, expiring} {
				must(t, tx.PutAssignment(t.Context(), a), "put assignment "+a.Subject+" "+a.Role)
			}
			return nil
		})
		got := snapshot(t, s, "acme").Assignments
		want := []privilege.Assignment{platform, normAssignment(expiring), forever, normAssignment(other)}
		sameJSON(t, "assignments", got, want)
		for _, a := range got {
			if !a.ExpiresAt.IsZero() && a.ExpiresAt.Location() != time.UTC {
				t.Errorf("assignment %s/%s expires in zone %v, want UTC", a.Subject, a.Role, a.ExpiresAt.Location())
			}
		}
		// A put replaces the expiry; a delete removes the assignment.
		extended := assignment("acme", "bob", "reader", at(600))
		write(t, s, "acme", func(tx privilege.Tx) error {
			must(t, tx.PutAssignment(t.Context(), extended), "extend bob")
			return tx.DeleteAssignment(t.Context(), "alice@example.com", "lead")
		})
		sameJSON(t, "assignments after changes", snapshot(t, s, "acme").Assignments,
			[]privilege.Assignment{platform, forever, normAssignment(extended)})
		_, err := s.InTx(t.Context(), "acme", func(tx privilege.Tx) error {
			return tx.DeleteAssignment(t.Context(), "alice@example.com", "lead")
		})
		wantCode(t, err, apperr.NotFound, "delete a deleted assignment")
	})
	t.Run("policies keep their documents and take the tenant", func(t *testing.T) {
		s := open(t)
		p1, p2 := policy("", "p1"), policy("acme", "p2")
		write(t, s, "acme", func(tx privilege.Tx) error {
			must(t, tx.PutPolicy(t.Context(), p2), "put p2")
			return tx.PutPolicy(t.Context(), p1)
		})
		p1.Tenant = "acme"
		sameJSON(t, "policies", snapshot(t, s, "acme").Policies, []privilege.Policy{p1, p2})
		write(t, s, "acme", func(tx privilege.Tx) error { return tx.DeletePolicy(t.Context(), "p1") })
		sameJSON(t, "policies after delete", snapshot(t, s, "acme").Policies, []privilege.Policy{p2})
		_, err := s.InTx(t.Context(), "acme", func(tx privilege.Tx) error { return tx.DeletePolicy(t.Context(), "p1") })
		wantCode(t, err, apperr.NotFound, "delete a deleted policy")
	})
	t.Run("settings are the defaults until stored", func(t *testing.T) {
		s := open(t)
		sameJSON(t, "default settings", snapshot(t, s, "acme").Settings, privilege.DefaultSettings("acme"))
		want := settings("acme")
		write(t, s, "acme", func(tx privilege.Tx) error { return tx.PutSettings(t.Context(), want) })
		sameJSON(t, "settings", snapshot(t, s, "acme").Settings, want)
		if _, err := snapshot(t, s, "acme").Settings.AttributeSchema(); err != nil {
			t.Errorf("stored schema does not declare: %v", err)
		}
		plain := privilege.Settings{Tenant: "acme"}
		write(t, s, "acme", func(tx privilege.Tx) error { return tx.PutSettings(t.Context(), plain) })
		sameJSON(t, "settings with the default algorithm", snapshot(t, s, "acme").Settings, privilege.DefaultSettings("acme"))
	})
	t.Run("a transaction sees its own writes", func(t *testing.T) {
		s := open(t)
		write(t, s, "acme", func(tx privilege.Tx) error {
			must(t, tx.PutRole(t.Context(), role("acme", "reader")), "put reader")
			must(t, tx.PutAssignment(t.Context(), assignment("acme", "alice", "reader", time.Time{})), "assign")
			snap, err := tx.Snapshot(t.Context())
			must(t, err, "snapshot in the transaction")
			if len(snap.Roles) != 1 || len(snap.Assignments) != 1 || snap.Version != 0 {
				t.Errorf("snapshot in the transaction = %+v, want one role and assignment at version 0", snap)
			}
			if _, err := privilege.CompileRBAC("acme", snap.Roles, snap.Assignments); err != nil {
				t.Errorf("compile the transaction's snapshot: %v", err)
			}
			return nil
		})
	})
}

func testValidation(t *testing.T, open func(t *testing.T) privilege.Store) {
	bad := map[string]func(tx privilege.Tx) error{}
	ctx := t.Context()
	badRole := role("acme", "Bad Name")
	bad["a role with an invalid name"] = func(tx privilege.Tx) error { return tx.PutRole(ctx, badRole) }
	bad["a role of another tenant"] = func(tx privilege.Tx) error { return tx.PutRole(ctx, role("globex", "reader")) }
	bad["a platform role in a tenant"] = func(tx privilege.Tx) error { return tx.PutRole(ctx, role("", "ops")) }
	bad["an assignment without a subject"] = func(tx privilege.Tx) error {
		return tx.PutAssignment(ctx, assignment("acme", "", "reader", time.Time{}))
	}
	bad["an assignment of another tenant"] = func(tx privilege.Tx) error {
		return tx.PutAssignment(ctx, assignment("globex", "alice", "reader", time.Time{}))
	}
	bad["a policy with an invalid id"] = func(tx privilege.Tx) error { return tx.PutPolicy(ctx, policy("acme", "-no")) }
	bad["a policy of another tenant"] = func(tx privilege.Tx) error { return tx.PutPolicy(ctx, policy("globex", "p")) }
	bad["settings with a sample rate above 1"] = func(tx privilege.Tx) error {
		st := settings("acme")
		st.AuditSampleRate = 1.5
		return tx.PutSettings(ctx, st)
	}
	bad["settings with an unknown algorithm"] = func(tx privilege.Tx) error {
		st := settings("acme")
		st.Algorithm = "majority"
		return tx.PutSettings(ctx, st)
	}
	bad["settings with an unknown attribute type"] = func(tx privilege.Tx) error {
		st := settings("acme")
		st.Schema["subject.age"] = "integer"
		return tx.PutSettings(ctx, st)
	}
	for name, fn := range bad {
		t.Run(name+" is unprocessable and changes nothing", func(t *testing.T) {
			s := open(t)
			v, err := s.InTx(t.Context(), "acme", fn)
			wantCode(t, err, apperr.Unprocessable, name)
			if v != 0 {
				t.Errorf("failed transaction returned version %d", v)
			}
			if got, _ := s.Version(t.Context(), "acme"); got != 0 {
				t.Errorf("version after a failed transaction = %d, want 0", got)
			}
		})
	}
	t.Run("the platform has no policies or settings", func(t *testing.T) {
		s := open(t)
		_, err := s.InTx(t.Context(), "", func(tx privilege.Tx) error { return tx.PutPolicy(t.Context(), policy("", "p")) })
		wantCode(t, err, apperr.Unprocessable, "platform policy")
		_, err = s.InTx(t.Context(), "", func(tx privilege.Tx) error { return tx.PutSettings(t.Context(), settings("")) })
		wantCode(t, err, apperr.Unprocessable, "platform settings")
	})
	t.Run("an invalid tenant is unprocessable", func(t *testing.T) {
		s := open(t)
		_, err := s.InTx(t.Context(), "no/such", func(privilege.Tx) error { return nil })
		wantCode(t, err, apperr.Unprocessable, "write to tenant no/such")
	})
	t.Run("a tenant role cannot shadow a platform role", func(t *testing.T) {
		s := open(t)
		write(t, s, "", func(tx privilege.Tx) error { return tx.PutRole(t.Context(), role("", "operator")) })
		_, err := s.InTx(t.Context(), "acme", func(tx privilege.Tx) error {
			return tx.PutRole(t.Context(), role("acme", "operator"))
		})
		wantCode(t, err, apperr.Conflict, "tenant role named like a platform role")
	})
}
