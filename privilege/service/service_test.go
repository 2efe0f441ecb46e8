package service_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/internal/testutil"
	"github.com/greyrouter/greyrouter/privilege"
	"github.com/greyrouter/greyrouter/privilege/service"
)

// TestTiersAnswerAlikeAndSayWhoAnswered walks one decision through every
// tier: loaded and compiled (l3), then the in-process cache (l1); another
// replica sharing Redis finds it in L2, then compiles in the background
// and answers from its engine and L1.
func TestTiersAnswerAlikeAndSayWhoAnswered(t *testing.T) {
	testutil.RedisBackends(t, func(t *testing.T, rdb redisClient) {
		store := sqliteStore(t)
		a := newService(t, store, rdb, service.Options{})
		tok := grant(t, a, "acme", "alice", time.Time{})
		if tok.Tenant != "acme" || tok.Version != 1 {
			t.Fatalf("token %+v", tok)
		}
		r := req("acme", "alice", "read", "orders/7")
		d1 := check(t, a, r, service.CheckOptions{})
		if !d1.Allowed || d1.Tier != service.TierL3 || d1.PolicyVersion != 1 || d1.Deciding == nil {
			t.Fatalf("first check %+v", d1)
		}
		d2 := check(t, a, r, service.CheckOptions{})
		if !d2.Allowed || d2.Tier != service.TierL1 || d2.Reason != d1.Reason || d2.PolicyVersion != 1 {
			t.Fatalf("second check %+v", d2)
		}
		if d := check(t, a, req("acme", "alice", "read", "orders/8"), service.CheckOptions{}); d.Tier != service.TierEngine || !d.Allowed {
			t.Fatalf("another request on a compiled set %+v", d)
		}

		b := newService(t, store, rdb, service.Options{})
		var d3 privilege.Decision
		eventually(t, 5*time.Second, "replica b answers from L2", func() bool {
			// Until the L2 write lands, b loads the set itself; a new
			// replica per attempt keeps the engine out of the way.
			b = newService(t, store, rdb, service.Options{})
			d3 = check(t, b, r, service.CheckOptions{})
			return d3.Tier == service.TierL2
		})
		if !d3.Allowed || d3.Reason != d1.Reason || d3.PolicyVersion != 1 {
			t.Fatalf("L2 answer %+v, want %+v", d3, d1)
		}
		n := 100
		eventually(t, 5*time.Second, "replica b compiles in the background", func() bool {
			n++ // a request not seen before, so L1 cannot answer
			d := check(t, b, req("acme", "alice", "read", fmt.Sprintf("orders/%d", n)), service.CheckOptions{})
			return d.Tier == service.TierEngine && d.Allowed
		})
		if d := check(t, b, r, service.CheckOptions{}); d.Tier != service.TierL1 || !d.Allowed {
			t.Fatalf("b after its L2 hit %+v", d)
		}
		if d := check(t, b, r, service.CheckOptions{Explain: true}); d.Tier != service.TierEngine || len(d.Votes) != 1 {
			t.Fatalf("explained check %+v", d)
		}
	})
}

// TestWritesReachOtherReplicasAndTokensNeverSeeOlder checks both paths a
// change takes to a replica: the announcement (milliseconds) and, for a
// replica that hears none, the revision token.
func TestWritesReachOtherReplicasAndTokensNeverSeeOlder(t *testing.T) {
	rdb := testutil.Redis(t).Client(t)
	store := sqliteStore(t)
	writer := newService(t, store, rdb, service.Options{})
	listener := newService(t, store, rdb, service.Options{})
	deaf := newService(t, store, nil, service.Options{PollInterval: time.Hour})
	grant(t, writer, "acme", "alice", time.Time{})
	r := req("acme", "alice", "read", "orders/1")
	for _, s := range []*service.Service{listener, deaf} {
		eventually(t, 3*time.Second, "grant reaches a replica", func() bool { return check(t, s, r, service.CheckOptions{}).Allowed })
		check(t, s, r, service.CheckOptions{}) // now cached in L1
	}
	tok := revoke(t, writer, "acme", "alice")
	eventually(t, time.Second, "revocation announced to the listener", func() bool { return !check(t, listener, r, service.CheckOptions{}).Allowed })
	if d := check(t, deaf, r, service.CheckOptions{}); !d.Allowed || d.Tier != service.TierL1 {
		t.Fatalf("a replica without announcements or polls answers from its cache (bounded staleness), got %+v", d)
	}
	d := check(t, deaf, r, service.CheckOptions{AtLeast: &tok})
	if d.Allowed || d.PolicyVersion < tok.Version {
		t.Fatalf("with the token: %+v, token %+v", d, tok)
	}
	if d := check(t, deaf, r, service.CheckOptions{}); d.Allowed {
		t.Fatalf("after a token the replica never goes back: %+v", d)
	}

	t.Run("a token of another tenant is refused", func(t *testing.T) {
		_, err := deaf.Check(t.Context(), req("globex", "alice", "read", "orders/1"), service.CheckOptions{AtLeast: &tok})
		if !apperr.Is(err, apperr.Unprocessable) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("a token ahead of the store fails closed", func(t *testing.T) {
		ahead := service.Token{Tenant: "acme", Version: tok.Version + 100}
		_, err := deaf.Check(t.Context(), r, service.CheckOptions{AtLeast: &ahead})
		if !apperr.Is(err, apperr.Unavailable) {
			t.Fatalf("err %v", err)
		}
		if d := check(t, deaf, r, service.CheckOptions{}); d.Allowed || d.PolicyVersion != tok.Version {
			t.Fatalf("a forged token must not poison later checks: %+v", d)
		}
	})
	t.Run("a platform token raises the platform floor", func(t *testing.T) {
		ptok, err := writer.Write(t.Context(), "", "test", "", func(tx privilege.Tx) error {
			return tx.PutRole(context.Background(), privilege.Role{Name: "operator", Platform: true,
				Permissions: []privilege.Permission{{Resource: "*", Action: "read"}}})
		})
		must(t, err, "platform write")
		_, err = writer.Write(t.Context(), "", "test", "", func(tx privilege.Tx) error {
			return tx.PutAssignment(context.Background(), privilege.Assignment{Subject: "op", Role: "operator"})
		})
		must(t, err, "platform assignment")
		ptok2, _ := writer.Write(t.Context(), "", "test", "", func(privilege.Tx) error { return nil })
		if ptok.Tenant != "" || ptok2.Version != ptok.Version+1 {
			t.Fatalf("platform tokens %+v %+v", ptok, ptok2)
		}
		d := check(t, deaf, req("acme", "op", "read", "anything"), service.CheckOptions{AtLeast: &ptok2})
		if !d.Allowed || d.PlatformVersion != ptok2.Version {
			t.Fatalf("platform operator in acme: %+v", d)
		}
	})
}

// TestNoCachedAnswerOutlivesTheRoleExpiryItRestsOn uses a controllable
// clock: an allowed decision cached a second before the assignment
// expires is not served at the expiry.
func TestNoCachedAnswerOutlivesTheRoleExpiryItRestsOn(t *testing.T) {
	rdb := testutil.Redis(t).Client(t)
	clk := newClock()
	store := sqliteStore(t)
	s := newService(t, store, rdb, service.Options{Now: clk.Now})
	expiry := clk.Now().Add(time.Minute)
	grant(t, s, "acme", "alice", expiry)
	r := req("acme", "alice", "read", "orders/1")
	clk.Advance(59 * time.Second)
	if d := check(t, s, r, service.CheckOptions{}); !d.Allowed || !d.ValidUntil.Equal(expiry) {
		t.Fatalf("before expiry %+v", d)
	}
	if d := check(t, s, r, service.CheckOptions{}); d.Tier != service.TierL1 {
		t.Fatalf("cached before expiry %+v", d)
	}
	clk.Advance(time.Second)
	if d := check(t, s, r, service.CheckOptions{}); d.Allowed {
		t.Fatalf("at the expiry %+v", d)
	}
	// A replica that finds the decision in L2 honours the expiry too.
	b := newService(t, store, rdb, service.Options{Now: clk.Now})
	if d := check(t, b, r, service.CheckOptions{}); d.Allowed {
		t.Fatalf("another replica at the expiry %+v", d)
	}
}

// TestInvalidWritesCommitNothing checks that a write leaving the set
// uncompilable is refused with every problem and changes no version.
func TestInvalidWritesCommitNothing(t *testing.T) {
	s := newService(t, sqliteStore(t), nil, service.Options{})
	grant(t, s, "acme", "alice", time.Time{})
	_, err := s.Write(t.Context(), "acme", "test", "", func(tx privilege.Tx) error {
		if err := tx.PutRole(context.Background(), privilege.Role{Tenant: "acme", Name: "a", Inherits: []string{"b"}}); err != nil {
			return err
		}
		return tx.PutRole(context.Background(), privilege.Role{Tenant: "acme", Name: "b", Inherits: []string{"a"}})
	})
	if !apperr.Is(err, apperr.Unprocessable) {
		t.Fatalf("cycle: %v", err)
	}
	v, err := s.Store().Version(t.Context(), "acme")
	must(t, err, "version")
	if v != 1 {
		t.Fatalf("version after a refused write = %d, want 1", v)
	}
	if _, err := s.Check(t.Context(), req("", "alice", "read", "orders/1"), service.CheckOptions{}); !apperr.Is(err, apperr.Unprocessable) {
		t.Fatalf("check without a tenant: %v", err)
	}
}

// TestPlatformRolesInUseCannotBeRemoved checks that deleting a platform
// role a tenant still assigns or inherits is refused (409 naming the
// tenants), and goes through once nothing uses it.
func TestPlatformRolesInUseCannotBeRemoved(t *testing.T) {
	s := newService(t, sqliteStore(t), nil, service.Options{})
	_, err := s.Write(t.Context(), "", "test", "", func(tx privilege.Tx) error {
		return tx.PutRole(context.Background(), privilege.Role{Name: "operator", Platform: true,
			Permissions: []privilege.Permission{{Resource: "*", Action: "read"}}})
	})
	must(t, err, "platform role")
	_, err = s.Write(t.Context(), "acme", "test", "", func(tx privilege.Tx) error {
		return tx.PutAssignment(context.Background(), privilege.Assignment{Tenant: "acme", Subject: "alice", Role: "operator"})
	})
	must(t, err, "assign in acme")
	_, err = s.Write(t.Context(), "globex", "test", "", func(tx privilege.Tx) error {
		return tx.PutRole(context.Background(), privilege.Role{Tenant: "globex", Name: "lead", Inherits: []string{"operator"}})
	})
	must(t, err, "inherit in globex")
	remove := func() error {
		_, err := s.Write(t.Context(), "", "test", "", func(tx privilege.Tx) error {
			return tx.DeleteRole(context.Background(), "operator")
		})
		return err
	}
	err = remove()
	if !apperr.Is(err, apperr.Conflict) || apperr.DetailsOf(err)["roles.operator"] != "is still inherited or assigned in tenant(s) acme, globex" {
		t.Fatalf("removing a used platform role: %v %v", err, apperr.DetailsOf(err))
	}
	if d := check(t, s, req("acme", "alice", "read", "x"), service.CheckOptions{}); !d.Allowed {
		t.Fatalf("the refused removal changed acme: %+v", d)
	}
	_, err = s.Write(t.Context(), "acme", "test", "", func(tx privilege.Tx) error {
		return tx.DeleteAssignment(context.Background(), "alice", "operator")
	})
	must(t, err, "unassign")
	_, err = s.Write(t.Context(), "globex", "test", "", func(tx privilege.Tx) error {
		return tx.DeleteRole(context.Background(), "lead")
	})
	must(t, err, "drop the inheriting role")
	must(t, remove(), "remove the unused platform role")
}
