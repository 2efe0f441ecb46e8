package storetest

import (
	"slices"
	"testing"

	"github.com/greyrouter/greyrouter/privilege"
)

func testPlatformRoleUsers(t *testing.T, open func(t *testing.T) privilege.Store) {
	s := open(t)
	write(t, s, "", func(tx privilege.Tx) error {
		must(t, tx.PutRole(t.Context(), role("", "operator")), "put operator")
		return tx.PutRole(t.Context(), role("", "op_x"))
	})
	// acme inherits operator, globex assigns it, initech only has a role
	// whose description names it, umbrella inherits "opax" (which a LIKE
	// on "op_x" would match).
	write(t, s, "acme", func(tx privilege.Tx) error { return tx.PutRole(t.Context(), role("acme", "lead", "operator")) })
	write(t, s, "globex", func(tx privilege.Tx) error {
		return tx.PutAssignment(t.Context(), assignment("globex", "alice", "operator", at(60)))
	})
	write(t, s, "initech", func(tx privilege.Tx) error {
		r := role("initech", "reader")
		r.Description = `not "operator" at all`
		return tx.PutRole(t.Context(), r)
	})
	write(t, s, "umbrella", func(tx privilege.Tx) error {
		must(t, tx.PutRole(t.Context(), role("umbrella", "opax")), "put opax")
		return tx.PutRole(t.Context(), role("umbrella", "lead", "opax"))
	})
	var users, xUsers []string
	write(t, s, "", func(tx privilege.Tx) error {
		var err error
		users, err = tx.PlatformRoleUsers(t.Context(), "operator")
		must(t, err, "users of operator")
		xUsers, err = tx.PlatformRoleUsers(t.Context(), "op_x")
		return err
	})
	if !slices.Equal(users, []string{"acme", "globex"}) {
		t.Errorf("users of operator = %v, want [acme globex]", users)
	}
	if len(xUsers) != 0 {
		t.Errorf("users of op_x = %v, want none", xUsers)
	}
}
