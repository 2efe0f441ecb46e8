package router_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/internal/testutil"
	"github.com/greyrouter/greyrouter/router"
	"github.com/greyrouter/greyrouter/router/redisstore"
	"github.com/greyrouter/greyrouter/router/sqlstore"
)

func TestMain(m *testing.M) { os.Exit(testutil.RunMain(m)) }

// newManager wires a Manager over SQLite and a real Redis.
func newManager(t *testing.T) *router.Manager {
	t.Helper()
	m, _ := newManagerAndRedis(t)
	return m
}

// newManagerAndRedis is newManager that also returns a client of its Redis.
func newManagerAndRedis(t *testing.T) (*router.Manager, *redis.Client) {
	t.Helper()
	db := testutil.MigratedDB(t, "")
	rdb := testutil.Redis(t).Client(t)
	rs := redisstore.New(rdb)
	return router.NewManager(sqlstore.New(db.Gorm, db.Dialect()), rs, rs, slog.New(slog.DiscardHandler), nil), rdb
}

func must[T any](t *testing.T) func(T, router.Revision, error) T {
	return func(v T, _ router.Revision, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func seed(t *testing.T, m *router.Manager) {
	t.Helper()
	ctx := context.Background()
	must[router.Tenant](t)(m.CreateTenant(ctx, "alice", router.Tenant{Name: "acme"}))
	svc := router.Service{Name: "orders", Strategy: router.RoundRobin, LeaseSeconds: 30, Circuit: router.DefaultCircuitPolicy()}
	must[router.Service](t)(m.CreateService(ctx, "alice", svc))
	for _, v := range []string{"v1", "v2"} {
		must[router.Version](t)(m.CreateVersion(ctx, "alice", router.Version{Service: "orders", Name: v}))
		if _, err := m.RegisterInstance(ctx, router.Instance{ID: "i-" + v, Service: "orders", Version: v, Address: v + ":80", Enabled: true}); err != nil {
			t.Fatal(err)
		}
	}
	svc.DefaultVersion = "v1"
	must[router.Service](t)(m.UpdateService(ctx, "alice", svc))
}

func resolve(t *testing.T, m *router.Manager, tenant string) string {
	t.Helper()
	d, err := m.Resolve(context.Background(), router.Request{Tenant: tenant, Service: "orders", Key: "k"}, router.DecideOptions{})
	if err != nil {
		t.Fatalf("resolve: %v", err)
	}
	return d.Version
}

func TestRevisionsRecordWhoWhenAndWhat(t *testing.T) {
	m := newManager(t)
	seed(t, m)
	ctx := context.Background()
	b := must[router.Binding](t)(m.PutBinding(ctx, "bob", router.Binding{Tenant: "acme", Service: "orders", Mode: router.ModePin, Version: "v2"}))
	revs, err := m.Store().ListRevisions(ctx, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	r := revs[0]
	if r.Actor != "bob" || r.At.IsZero() || len(r.Changes) != 1 || r.Changes[0].Kind != router.KindBinding || r.Changes[0].Before != nil {
		t.Fatalf("revision %+v", r)
	}
	var after router.Binding
	if err := json.Unmarshal(r.Changes[0].After, &after); err != nil || after.Version != "v2" || after.Salt != b.Salt {
		t.Fatalf("after = %+v (%v)", after, err)
	}

	t.Run("a binding keeps its salt when the percentage changes", func(t *testing.T) {
		s1 := must[router.Binding](t)(m.PutBinding(ctx, "bob", router.Binding{Tenant: "acme", Service: "orders", Mode: router.ModeSplit, Baseline: "v1", Candidate: "v2", Percent: 1000}))
		s2 := must[router.Binding](t)(m.PutBinding(ctx, "bob", router.Binding{Tenant: "acme", Service: "orders", Mode: router.ModeSplit, Baseline: "v1", Candidate: "v2", Percent: 2000}))
		if s1.Salt == "" || s1.Salt != s2.Salt || s1.Salt != b.Salt {
			t.Fatalf("salts %q %q %q", b.Salt, s1.Salt, s2.Salt)
		}
	})
	t.Run("an update names the fields it changed", func(t *testing.T) {
		revs, err := m.Store().ListRevisions(ctx, 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		if got := revs[0].Changes[0].Fields; len(got) != 1 || got[0] != "percent" {
			t.Fatalf("fields %v, want [percent]", got)
		}
	})
}

func TestRollback(t *testing.T) {
	m := newManager(t)
	seed(t, m)
	ctx := context.Background()
	base, _ := m.Store().LatestRevision(ctx)

	must[router.Tenant](t)(m.CreateTenant(ctx, "bob", router.Tenant{Name: "globex"}))
	must[router.Binding](t)(m.PutBinding(ctx, "bob", router.Binding{Tenant: "acme", Service: "orders", Mode: router.ModePin, Version: "v2"}))
	svc, _ := m.Store().GetService(ctx, "orders")
	svc.DefaultVersion = "v2"
	must[router.Service](t)(m.UpdateService(ctx, "bob", svc))
	if resolve(t, m, "acme") != "v2" || resolve(t, m, "globex") != "v2" {
		t.Fatal("changes not applied")
	}

	rb, err := m.Rollback(ctx, "carol", base)
	if err != nil {
		t.Fatal(err)
	}
	if rb.Actor != "carol" || len(rb.Changes) != 3 {
		t.Fatalf("rollback revision %+v", rb)
	}
	t.Run("every record changed after the target is back", func(t *testing.T) {
		if _, err := m.Store().GetTenant(ctx, "globex"); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("tenant created after the target survived: %v", err)
		}
		if _, err := m.Store().GetBinding(ctx, "acme", "orders"); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("binding created after the target survived: %v", err)
		}
		if resolve(t, m, "acme") != "v1" {
			t.Fatal("default version not restored")
		}
	})
	t.Run("a rollback can itself be rolled back", func(t *testing.T) {
		if _, err := m.Rollback(ctx, "carol", rb.Number-1); err != nil {
			t.Fatal(err)
		}
		if resolve(t, m, "acme") != "v2" || resolve(t, m, "globex") != "v2" {
			t.Fatal("undo of the rollback did not restore the changes")
		}
	})
}

func TestIntegrityIsCheckedOnEveryWrite(t *testing.T) {
	m := newManager(t)
	seed(t, m)
	ctx := context.Background()
	must[router.Binding](t)(m.PutBinding(ctx, "bob", router.Binding{Tenant: "acme", Service: "orders", Mode: router.ModePin, Version: "v2"}))
	before, _ := m.Store().LatestRevision(ctx)
	cases := map[string]error{}
	_, cases["deleting a service with versions"] = m.DeleteService(ctx, "x", "orders")
	_, cases["deleting a tenant with bindings"] = m.DeleteTenant(ctx, "x", "acme")
	_, cases["deleting a version with instances"] = m.DeleteVersion(ctx, "x", "orders", "v2")
	_, _, cases["retiring a pinned version"] = m.UpdateVersion(ctx, "x", router.Version{Service: "orders", Name: "v2", State: router.VersionRetired})
	_, _, cases["pinning a missing version"] = m.PutBinding(ctx, "x", router.Binding{Tenant: "acme", Service: "orders", Mode: router.ModePin, Version: "v9"})
	for name, err := range cases {
		if !apperr.Is(err, apperr.Conflict) {
			t.Errorf("%s: want conflict, got %v", name, err)
		}
	}
	if after, _ := m.Store().LatestRevision(ctx); after != before {
		t.Fatalf("refused writes recorded revisions %d..%d", before, after)
	}
	if resolve(t, m, "acme") != "v2" {
		t.Fatal("a refused write changed routing")
	}
}

func TestTenantsAppearAndDisappearAtOnce(t *testing.T) {
	m := newManager(t)
	seed(t, m)
	ctx := context.Background()
	must[router.Tenant](t)(m.CreateTenant(ctx, "bob", router.Tenant{Name: "newco"}))
	if resolve(t, m, "newco") != "v1" {
		t.Fatal("new tenant not routed to the default version")
	}
	if _, err := m.DeleteTenant(ctx, "bob", "newco"); err != nil {
		t.Fatal(err)
	}
	_, err := m.Resolve(ctx, router.Request{Tenant: "newco", Service: "orders"}, router.DecideOptions{})
	if !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("deleted tenant still routed: %v", err)
	}
	if m.Pending() != 0 {
		t.Fatalf("%d services pending", m.Pending())
	}
}

// TestAMissingTenantFieldHeals checks that a table lacking a tenant the
// database has (a full projection that raced with the tenant's creation)
// is repaired by the first decision for that tenant.
func TestAMissingTenantFieldHeals(t *testing.T) {
	ctx := context.Background()
	m, rdb := newManagerAndRedis(t)
	seed(t, m)
	rdb.HDel(ctx, "gr:{orders}:cfg", "t:acme")
	if resolve(t, m, "acme") != "v1" {
		t.Fatal("not healed")
	}
	if _, err := m.Resolve(ctx, router.Request{Tenant: "ghost", Service: "orders"}, router.DecideOptions{}); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("unknown tenant: %v", err)
	}
}
