package storetest

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/privilege"
)

// version reads a tenant's version, failing the test on error.
func version(t *testing.T, s privilege.Store, tenant string) int64 {
	t.Helper()
	v, err := s.Version(t.Context(), tenant)
	must(t, err, "version of tenant "+tenant)
	return v
}

// revisions lists every revision of a tenant, newest first.
func revisions(t *testing.T, s privilege.Store, tenant string) []privilege.PolicyRevision {
	t.Helper()
	revs, err := s.ListRevisions(t.Context(), tenant, 0, 0)
	must(t, err, "list revisions of tenant "+tenant)
	return revs
}

func testVersions(t *testing.T, open func(t *testing.T) privilege.Store) {
	t.Run("a tenant with nothing is at version 0", func(t *testing.T) {
		s := open(t)
		if v := version(t, s, "acme"); v != 0 {
			t.Errorf("version = %d, want 0", v)
		}
		snap := snapshot(t, s, "acme")
		if snap.Version != 0 || snap.PlatformVersion != 0 || snap.Roles != nil || snap.Assignments != nil || snap.Policies != nil {
			t.Errorf("empty snapshot = %+v", snap)
		}
	})
	t.Run("Versions lists every written tenant and the platform", func(t *testing.T) {
		s := open(t)
		vs, err := s.Versions(t.Context())
		must(t, err, "versions")
		if len(vs) != 0 {
			t.Fatalf("versions of an empty store = %v", vs)
		}
		write(t, s, "", func(tx privilege.Tx) error { return tx.PutRole(t.Context(), role("", "operator")) })
		write(t, s, "acme", func(tx privilege.Tx) error { return tx.PutRole(t.Context(), role("acme", "reader")) })
		write(t, s, "acme", func(tx privilege.Tx) error { return tx.PutRole(t.Context(), role("acme", "writer")) })
		write(t, s, "globex", func(tx privilege.Tx) error { return tx.PutRole(t.Context(), role("globex", "reader")) })
		vs, err = s.Versions(t.Context())
		must(t, err, "versions")
		if len(vs) != 3 || vs[""] != 1 || vs["acme"] != 2 || vs["globex"] != 1 {
			t.Fatalf("versions = %v, want platform 1, acme 2, globex 1", vs)
		}
	})
	t.Run("every changing transaction bumps the version by one", func(t *testing.T) {
		s := open(t)
		for i, fn := range []func(tx privilege.Tx) error{
			func(tx privilege.Tx) error { return tx.PutRole(t.Context(), role("acme", "reader")) },
			func(tx privilege.Tx) error {
				must(t, tx.PutAssignment(t.Context(), assignment("acme", "alice", "reader", at(5))), "assign")
				return tx.PutPolicy(t.Context(), policy("acme", "p"))
			},
			func(tx privilege.Tx) error { return tx.PutSettings(t.Context(), settings("acme")) },
			func(tx privilege.Tx) error { return tx.DeleteAssignment(t.Context(), "alice", "reader") },
		} {
			if v := write(t, s, "acme", fn); v != int64(i+1) {
				t.Fatalf("transaction %d returned version %d, want %d", i+1, v, i+1)
			}
		}
		if v := version(t, s, "acme"); v != 4 {
			t.Errorf("version = %d, want 4", v)
		}
		if v := snapshot(t, s, "acme").Version; v != 4 {
			t.Errorf("snapshot version = %d, want 4", v)
		}
	})
	t.Run("a transaction that changes nothing keeps the version", func(t *testing.T) {
		s := open(t)
		a := assignment("acme", "alice", "reader", at(5))
		write(t, s, "acme", func(tx privilege.Tx) error {
			must(t, tx.PutRole(t.Context(), role("acme", "reader")), "put role")
			must(t, tx.PutAssignment(t.Context(), a), "assign")
			must(t, tx.PutPolicy(t.Context(), policy("", "p")), "put policy")
			return tx.PutSettings(t.Context(), settings("acme"))
		})
		same := a
		same.ExpiresAt = a.ExpiresAt.In(time.UTC).Add(100) // the same microsecond
		for name, fn := range map[string]func(tx privilege.Tx) error{
			"nothing":         func(privilege.Tx) error { return nil },
			"the same role":   func(tx privilege.Tx) error { return tx.PutRole(t.Context(), role("acme", "reader")) },
			"the same policy": func(tx privilege.Tx) error { return tx.PutPolicy(t.Context(), policy("acme", "p")) },
			"the same assignment in another zone": func(tx privilege.Tx) error {
				return tx.PutAssignment(t.Context(), same)
			},
			"the same settings": func(tx privilege.Tx) error { return tx.PutSettings(t.Context(), settings("acme")) },
			"a role put and deleted": func(tx privilege.Tx) error {
				must(t, tx.PutRole(t.Context(), role("acme", "temp")), "put temp")
				return tx.DeleteRole(t.Context(), "temp")
			},
			"a role changed and changed back": func(tx privilege.Tx) error {
				changed := role("acme", "reader")
				changed.Description = "changed"
				must(t, tx.PutRole(t.Context(), changed), "change reader")
				return tx.PutRole(t.Context(), role("acme", "reader"))
			},
		} {
			if v := write(t, s, "acme", fn); v != 1 {
				t.Errorf("writing %s returned version %d, want 1", name, v)
			}
		}
		if v := version(t, s, "acme"); v != 1 {
			t.Errorf("version = %d, want 1", v)
		}
		if n := len(revisions(t, s, "acme")); n != 1 {
			t.Errorf("%d revisions, want 1", n)
		}
	})
	t.Run("a failing transaction changes nothing and returns its error", func(t *testing.T) {
		s := open(t)
		write(t, s, "acme", func(tx privilege.Tx) error { return tx.PutRole(t.Context(), role("acme", "reader")) })
		boom := errors.New("boom")
		v, err := s.InTx(t.Context(), "acme", func(tx privilege.Tx) error {
			must(t, tx.PutRole(t.Context(), role("acme", "writer")), "put writer")
			must(t, tx.DeleteRole(t.Context(), "reader"), "delete reader")
			return boom
		})
		if !errors.Is(err, boom) || v != 0 {
			t.Fatalf("InTx = %d, %v; want 0, %v", v, err, boom)
		}
		sameJSON(t, "roles", snapshot(t, s, "acme").Roles, []privilege.Role{role("acme", "reader")})
		if v := version(t, s, "acme"); v != 1 {
			t.Errorf("version = %d, want 1", v)
		}
	})
}

func testRevisions(t *testing.T, open func(t *testing.T) privilege.Store) {
	t.Run("a revision records who, when, and every record's before and after", func(t *testing.T) {
		s := open(t)
		reader := role("acme", "reader")
		a := assignment("acme", "alice", "reader", at(5))
		start := time.Now().Add(-time.Second)
		write(t, s, "acme", func(tx privilege.Tx) error {
			tx.Describe("admin@acme", "grant alice reading")
			must(t, tx.PutRole(t.Context(), reader), "put role")
			return tx.PutAssignment(t.Context(), a)
		})
		changed := reader
		changed.Description = "reads orders"
		write(t, s, "acme", func(tx privilege.Tx) error {
			tx.Describe("bob", "")
			must(t, tx.PutRole(t.Context(), changed), "change role")
			must(t, tx.PutSettings(t.Context(), settings("acme")), "put settings")
			return tx.DeleteAssignment(t.Context(), "alice", "reader")
		})
		end := time.Now().Add(time.Second)

		first, err := s.GetRevision(t.Context(), "acme", 1)
		must(t, err, "get revision 1")
		if first.Tenant != "acme" || first.Version != 1 || first.Actor != "admin@acme" || first.Summary != "grant alice reading" {
			t.Errorf("revision 1 = %+v", first)
		}
		if first.At.Before(start) || first.At.After(end) || first.At.Location() != time.UTC {
			t.Errorf("revision 1 at %v, want a UTC time between %v and %v", first.At, start, end)
		}
		wantChanges(t, "revision 1", first.Changes, []privilege.Change{
			change(t, privilege.KindRole, "reader", nil, reader),
			change(t, privilege.KindAssignment, privilege.AssignmentKey("alice", "reader"), nil, normAssignment(a)),
		})

		second, err := s.GetRevision(t.Context(), "acme", 2)
		must(t, err, "get revision 2")
		if second.Actor != "bob" || second.Summary == "" {
			t.Errorf("revision 2 = %+v, want actor bob and a generated summary", second)
		}
		wantChanges(t, "revision 2", second.Changes, []privilege.Change{
			change(t, privilege.KindRole, "reader", reader, changed),
			change(t, privilege.KindSettings, "settings", nil, settings("acme")),
			change(t, privilege.KindAssignment, privilege.AssignmentKey("alice", "reader"), normAssignment(a), nil),
		})
	})
	t.Run("revisions list newest first and page by version", func(t *testing.T) {
		s := open(t)
		for i := range 5 {
			write(t, s, "acme", func(tx privilege.Tx) error {
				r := role("acme", "reader")
				r.Description = string(rune('a' + i))
				return tx.PutRole(t.Context(), r)
			})
		}
		wantVersions(t, "all", revisions(t, s, "acme"), 5, 4, 3, 2, 1)
		page, err := s.ListRevisions(t.Context(), "acme", 4, 2)
		must(t, err, "list a page")
		wantVersions(t, "below 4, at most 2", page, 3, 2)
		_, err = s.GetRevision(t.Context(), "acme", 6)
		wantCode(t, err, apperr.NotFound, "get a revision not yet made")
	})
}

// change builds the Change a store should record.
func change(t *testing.T, kind privilege.ChangeKind, key string, before, after any) privilege.Change {
	t.Helper()
	c := privilege.Change{Kind: kind, Key: key}
	if before != nil {
		c.Before = json.RawMessage(canon(t, before))
	}
	if after != nil {
		c.After = json.RawMessage(canon(t, after))
	}
	return c
}

// wantChanges compares changes in order, their documents as JSON.
func wantChanges(t *testing.T, what string, got, want []privilege.Change) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d changes %s, want %d %s", what, len(got), canon(t, got), len(want), canon(t, want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Kind != w.Kind || g.Key != w.Key || canonRaw(t, g.Before) != canonRaw(t, w.Before) || canonRaw(t, g.After) != canonRaw(t, w.After) {
			t.Errorf("%s: change %d\n got %s\nwant %s", what, i, canon(t, g), canon(t, w))
		}
	}
}

func canonRaw(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	if raw == nil {
		return ""
	}
	var v any
	must(t, json.Unmarshal(raw, &v), "decode change document")
	return canon(t, v)
}

func wantVersions(t *testing.T, what string, revs []privilege.PolicyRevision, want ...int64) {
	t.Helper()
	got := make([]int64, len(revs))
	for i, r := range revs {
		got[i] = r.Version
	}
	if canon(t, got) != canon(t, want) {
		t.Errorf("%s: revision versions %v, want %v", what, got, want)
	}
}
