package sqlstore_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/internal/testutil"
	"github.com/greyrouter/greyrouter/privilege"
	"github.com/greyrouter/greyrouter/privilege/sqlstore"
)

func TestRollbackOnSQLite(t *testing.T) {
	testRollback(t, func(t *testing.T) privilege.Store {
		return sqlstore.New(testutil.MigratedDB(t, "").Gorm)
	})
}

func TestRollbackOnPostgreSQL(t *testing.T) {
	testRollback(t, func(t *testing.T) privilege.Store {
		return sqlstore.New(testutil.MigratedDB(t, testutil.Postgres(t)).Gorm)
	})
}

// The writes of tenant acme the rollback tests commit, one revision each:
// a policy set (with settings), a change touching every kind, and a
// change of an unrelated record.
var (
	rbExpiry = time.Date(2027, 3, 4, 5, 6, 7, 123456000, time.UTC)

	rbFirst = func(ctx context.Context, tx privilege.Tx) error {
		return firstErr(
			tx.PutRole(ctx, privilege.Role{Tenant: "acme", Name: "reader", Permissions: []privilege.Permission{{Resource: "orders/*", Action: "read"}}}),
			tx.PutRole(ctx, privilege.Role{Tenant: "acme", Name: "writer", Inherits: []string{"reader"}, Permissions: []privilege.Permission{{Resource: "orders/*", Action: "write"}}}),
			tx.PutAssignment(ctx, privilege.Assignment{Tenant: "acme", Subject: "alice", Role: "writer"}),
			tx.PutAssignment(ctx, privilege.Assignment{Tenant: "acme", Subject: "bob", Role: "reader", ExpiresAt: rbExpiry}),
			tx.PutPolicy(ctx, privilege.Policy{ID: "frozen", Target: privilege.Target{Resources: []string{"orders/*"}, Actions: []string{"*"}},
				Rules: []privilege.Rule{{ID: "frozen-orders", Effect: privilege.Deny,
					Condition: &privilege.Condition{Attr: "resource.frozen", Op: privilege.OpEq, Value: true}}}}),
			tx.PutSettings(ctx, privilege.Settings{Tenant: "acme", AuditSampleRate: 0.1, Schema: map[string]string{"resource.frozen": "bool"}}),
		)
	}
	rbSecond = func(ctx context.Context, tx privilege.Tx) error {
		return firstErr(
			tx.PutRole(ctx, privilege.Role{Tenant: "acme", Name: "reader", Permissions: []privilege.Permission{
				{Resource: "orders/*", Action: "read"}, {Resource: "reports/*", Action: "read"}}}),
			tx.DeleteAssignment(ctx, "bob", "reader"),
			tx.PutAssignment(ctx, privilege.Assignment{Tenant: "acme", Subject: "svc:billing", Role: "reader"}),
			tx.PutPolicy(ctx, privilege.Policy{ID: "archive", Target: privilege.Target{Resources: []string{"archive/*"}, Actions: []string{"write"}},
				Rules: []privilege.Rule{{ID: "read-only", Effect: privilege.Deny}}}),
			tx.PutSettings(ctx, privilege.Settings{Tenant: "acme", Algorithm: privilege.PermitOverrides, Schema: map[string]string{"resource.frozen": "bool"}}),
		)
	}
	rbThird = func(ctx context.Context, tx privilege.Tx) error {
		return tx.PutRole(ctx, privilege.Role{Tenant: "acme", Name: "auditor", Inherits: []string{"reader"}})
	}
)

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func testRollback(t *testing.T, open func(t *testing.T) privilege.Store) {
	t.Run("undoing a revision restores its records, keeps later ones and records the inverse diff", func(t *testing.T) {
		ctx := t.Context()
		s := open(t)
		rbWrite(t, s, "", func(tx privilege.Tx) error {
			return tx.PutRole(ctx, privilege.Role{Name: "operator", Platform: true, Permissions: []privilege.Permission{{Resource: "*", Action: "*"}}})
		})
		rbWrite(t, s, "globex", func(tx privilege.Tx) error {
			return tx.PutRole(ctx, privilege.Role{Tenant: "globex", Name: "reader"})
		})
		for i, fn := range []func(context.Context, privilege.Tx) error{rbFirst, rbSecond, rbThird} {
			if v := rbWrite(t, s, "acme", func(tx privilege.Tx) error { return fn(ctx, tx) }); v != int64(i+1) {
				t.Fatalf("write %d made version %d", i+1, v)
			}
		}
		rev, err := s.GetRevision(ctx, "acme", 2)
		if err != nil {
			t.Fatal(err)
		}

		// Roll revision 2 back by hand: check, apply the inverse changes,
		// and compile what results before committing.
		v, err := s.InTx(ctx, "acme", func(tx privilege.Tx) error {
			snap, err := tx.Snapshot(ctx)
			if err != nil {
				return err
			}
			if err := privilege.CheckRollback(snap, rev); err != nil {
				return err
			}
			for _, c := range privilege.RollbackChanges(rev) {
				if err := privilege.ApplyChange(ctx, tx, c); err != nil {
					return err
				}
			}
			tx.Describe("carol", "roll back revision 2")
			if snap, err = tx.Snapshot(ctx); err != nil {
				return err
			}
			_, err = privilege.CompileSnapshot(snap)
			return err
		})
		if err != nil || v != 4 {
			t.Fatalf("rollback made version %d: %v", v, err)
		}

		// The records are as if revision 2 had never been written.
		want := open(t)
		rbWrite(t, want, "", func(tx privilege.Tx) error {
			return tx.PutRole(ctx, privilege.Role{Name: "operator", Platform: true, Permissions: []privilege.Permission{{Resource: "*", Action: "*"}}})
		})
		rbWrite(t, want, "acme", func(tx privilege.Tx) error { return rbFirst(ctx, tx) })
		rbWrite(t, want, "acme", func(tx privilege.Tx) error { return rbThird(ctx, tx) })
		got := rbSnapshot(t, s, "acme")
		sameRecords(t, got, rbSnapshot(t, want, "acme"))
		if got.Version != 4 {
			t.Errorf("version %d after the rollback, want 4", got.Version)
		}

		undo, err := s.GetRevision(ctx, "acme", 4)
		if err != nil {
			t.Fatal(err)
		}
		if undo.Actor != "carol" || undo.Summary != "roll back revision 2" {
			t.Errorf("revision 4 by %q: %q", undo.Actor, undo.Summary)
		}
		sameChanges(t, undo.Changes, privilege.RollbackChanges(rev))

		// Undoing revision 2 again conflicts on every record it touched,
		// and changes nothing.
		_, err = s.InTx(ctx, "acme", func(tx privilege.Tx) error { return privilege.Rollback(ctx, tx, rev, "carol") })
		if !apperr.Is(err, apperr.Conflict) || len(apperr.DetailsOf(err)) != len(rev.Changes) {
			t.Fatalf("second rollback: %v (details %v), want a conflict on each of the %d records", err, apperr.DetailsOf(err), len(rev.Changes))
		}
		if v, err := s.Version(ctx, "acme"); err != nil || v != 4 {
			t.Fatalf("version %d after a refused rollback (%v), want 4", v, err)
		}
		if v, err := s.Version(ctx, "globex"); err != nil || v != 1 {
			t.Fatalf("another tenant's version moved to %d (%v)", v, err)
		}
	})

	t.Run("undoing the first revision empties the policy set, settings back to the defaults", func(t *testing.T) {
		ctx := t.Context()
		s := open(t)
		empty := rbSnapshot(t, s, "acme")
		rbWrite(t, s, "acme", func(tx privilege.Tx) error { return rbFirst(ctx, tx) })
		rev, err := s.GetRevision(ctx, "acme", 1)
		if err != nil {
			t.Fatal(err)
		}
		if v := rbWrite(t, s, "acme", func(tx privilege.Tx) error { return privilege.Rollback(ctx, tx, rev, "carol") }); v != 2 {
			t.Fatalf("rollback made version %d, want 2", v)
		}
		got := rbSnapshot(t, s, "acme")
		sameRecords(t, got, empty)
		if !reflect.DeepEqual(got.Settings, privilege.DefaultSettings("acme")) {
			t.Errorf("settings %+v, want the defaults", got.Settings)
		}
		undo, err := s.GetRevision(ctx, "acme", 2)
		if err != nil {
			t.Fatal(err)
		}
		sameChanges(t, undo.Changes, privilege.RollbackChanges(rev))
	})

	t.Run("an undo that would leave a later assignment without its role is refused", func(t *testing.T) {
		ctx := t.Context()
		s := open(t)
		rbWrite(t, s, "acme", func(tx privilege.Tx) error { return rbFirst(ctx, tx) })
		rbWrite(t, s, "acme", func(tx privilege.Tx) error { return rbThird(ctx, tx) })
		rbWrite(t, s, "acme", func(tx privilege.Tx) error {
			return tx.PutAssignment(ctx, privilege.Assignment{Tenant: "acme", Subject: "dave", Role: "auditor"})
		})
		rev, err := s.GetRevision(ctx, "acme", 2)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.InTx(ctx, "acme", func(tx privilege.Tx) error { return privilege.Rollback(ctx, tx, rev, "carol") })
		if !apperr.Is(err, apperr.Unprocessable) {
			t.Fatalf("got %v, want unprocessable", err)
		}
		if snap := rbSnapshot(t, s, "acme"); snap.Version != 3 || len(snap.Roles) != 3 {
			t.Fatalf("a refused rollback changed the policy set: %+v", snap)
		}
	})
}

func rbWrite(t *testing.T, s privilege.Store, tenant string, fn func(privilege.Tx) error) int64 {
	t.Helper()
	v, err := s.InTx(t.Context(), tenant, fn)
	if err != nil {
		t.Fatalf("transaction of tenant %q: %v", tenant, err)
	}
	return v
}

func rbSnapshot(t *testing.T, s privilege.Store, tenant string) privilege.Snapshot {
	t.Helper()
	snap, err := s.Snapshot(t.Context(), tenant)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// sameRecords compares two snapshots' records, not their versions.
func sameRecords(t *testing.T, got, want privilege.Snapshot) {
	t.Helper()
	parts := []struct {
		name      string
		got, want any
	}{
		{"roles", got.Roles, want.Roles},
		{"assignments", got.Assignments, want.Assignments},
		{"policies", got.Policies, want.Policies},
		{"settings", got.Settings, want.Settings},
	}
	for _, p := range parts {
		g, _ := json.Marshal(p.got)
		w, _ := json.Marshal(p.want)
		if string(g) != string(w) {
			t.Errorf("%s:\n got %s\nwant %s", p.name, g, w)
		}
	}
}

// sameChanges compares changes' kinds, keys and order exactly and their
// documents as JSON values.
func sameChanges(t *testing.T, got, want []privilege.Change) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d changes recorded, want %d:\n%+v", len(got), len(want), got)
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Kind != w.Kind || g.Key != w.Key || !sameDoc(g.Before, w.Before) || !sameDoc(g.After, w.After) {
			t.Errorf("change %d is %s %s %s -> %s;\nwant %s %s %s -> %s", i, g.Kind, g.Key, g.Before, g.After, w.Kind, w.Key, w.Before, w.After)
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
