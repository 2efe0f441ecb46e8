package router_test

import (
	"context"
	"sync"
	"testing"

	"github.com/greyrouter/greyrouter/router"
)

func regInstance(id, version, addr string, weight int) router.Instance {
	return router.Instance{ID: id, Version: version, Address: addr, Weight: weight, Enabled: true,
		Metadata: map[string]string{"zone": "a"}}
}

// registryIDs returns the service's registry instances that take new
// decisions (not draining), by id.
func registryIDs(t *testing.T, m *router.Manager) map[string]router.Instance {
	t.Helper()
	all, err := m.Store().ListInstances(context.Background(), "orders")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]router.Instance{}
	for _, in := range all {
		if in.Source == router.SourceRegistry && !in.Draining {
			out[in.ID] = in
		}
	}
	return out
}

func TestSyncInstances(t *testing.T) {
	ctx := context.Background()
	m := newManager(t)
	seed(t, m) // orders v1, v2 with API instances i-v1, i-v2; acme defaults to v1

	t.Run("a snapshot adds, then the same snapshot changes nothing", func(t *testing.T) {
		snap := router.RegistrySnapshot{Service: "orders", Ref: 10, Instances: []router.Instance{
			regInstance("n1", "v1", "10.0.0.1:80", 100), regInstance("n2", "v2", "10.0.0.2:80", 50),
		}}
		res, err := m.SyncInstances(ctx, snap)
		if err != nil || res.Added != 2 || res.Updated+res.Removed != 0 {
			t.Fatalf("first sync: %+v, %v", res, err)
		}
		before, _ := m.Store().LatestRevision(ctx)
		first := registryIDs(t, m)["n1"]
		snap.Ref = 11
		res, err = m.SyncInstances(ctx, snap)
		if err != nil || res.Changed() {
			t.Fatalf("repeated sync changed something: %+v, %v", res, err)
		}
		after, _ := m.Store().LatestRevision(ctx)
		if after != before {
			t.Fatalf("a sync of instances wrote revision %d", after)
		}
		if again := registryIDs(t, m)["n1"]; !again.UpdatedAt.Equal(first.UpdatedAt) {
			t.Fatalf("an unchanged instance was rewritten (%s -> %s)", first.UpdatedAt, again.UpdatedAt)
		}
	})

	t.Run("changes replace, absences drain, API instances stay", func(t *testing.T) {
		res, err := m.SyncInstances(ctx, router.RegistrySnapshot{Service: "orders", Ref: 12, Instances: []router.Instance{
			regInstance("n1", "v1", "10.0.0.1:80", 70),
		}})
		if err != nil || res.Updated != 1 || res.Removed != 1 || res.Added != 0 {
			t.Fatalf("sync: %+v, %v", res, err)
		}
		got := registryIDs(t, m)
		if len(got) != 1 || got["n1"].Weight != 70 {
			t.Fatalf("registry instances now %+v", got)
		}
		if _, err := m.Store().GetInstance(ctx, "orders", "i-v1"); err != nil {
			t.Fatalf("the API instance went with the sync: %v", err)
		}
		gone, err := m.Store().GetInstance(ctx, "orders", "n2")
		if err != nil || !gone.Draining || gone.DrainingSince.IsZero() {
			t.Fatalf("the instance gone from the registry is %+v, %v; want it draining", gone, err)
		}
	})
	t.Run("a disabled instance new to the table is not added", func(t *testing.T) {
		draining := regInstance("n9", "v1", "10.0.0.9:80", 10)
		draining.Draining = true
		res, err := m.SyncInstances(ctx, router.RegistrySnapshot{Service: "orders", Ref: 12, Instances: []router.Instance{
			regInstance("n1", "v1", "10.0.0.1:80", 70), draining,
		}})
		if err != nil || res.Changed() {
			t.Fatalf("sync: %+v, %v", res, err)
		}
		if _, err := m.Store().GetInstance(ctx, "orders", "n9"); err == nil {
			t.Fatal("a draining instance was added")
		}
	})

	t.Run("an older snapshot is skipped", func(t *testing.T) {
		res, err := m.SyncInstances(ctx, router.RegistrySnapshot{Service: "orders", Ref: 11})
		if err != nil || !res.Stale || res.Changed() {
			t.Fatalf("stale sync: %+v, %v", res, err)
		}
		if len(registryIDs(t, m)) != 1 {
			t.Fatal("a stale empty snapshot removed instances")
		}
	})

	t.Run("unknown versions are left out or created", func(t *testing.T) {
		snap := router.RegistrySnapshot{Service: "orders", Ref: 13, Instances: []router.Instance{
			regInstance("n1", "v1", "10.0.0.1:80", 70), regInstance("n3", "1.3", "10.0.0.3:80", 100),
		}}
		res, err := m.SyncInstances(ctx, snap)
		if err != nil || res.Invalid["n3"] == "" || len(registryIDs(t, m)) != 1 {
			t.Fatalf("unknown version: %+v, %v", res, err)
		}
		snap.Ref, snap.CreateVersions, snap.Actor = 14, true, "nacos"
		res, err = m.SyncInstances(ctx, snap)
		if err != nil || res.Added != 1 || len(res.CreatedVersions) != 1 {
			t.Fatalf("create versions: %+v, %v", res, err)
		}
		if _, err := m.Store().GetVersion(ctx, "orders", "1.3"); err != nil {
			t.Fatalf("version not created: %v", err)
		}
		rev, _ := m.Store().ListRevisions(ctx, 0, 1)
		if len(rev) != 1 || rev[0].Actor != "nacos" {
			t.Fatalf("version creation not revisioned by the registry: %+v", rev)
		}
	})

	t.Run("an instance in the snapshot receives decisions, a removed one none", func(t *testing.T) {
		pin := router.Binding{Tenant: "acme", Service: "orders", Mode: router.ModePin, Version: "1.3"}
		if _, _, err := m.PutBinding(ctx, "alice", pin); err != nil {
			t.Fatal(err)
		}
		d, err := m.Resolve(ctx, router.Request{Tenant: "acme", Service: "orders", Key: "k"}, router.DecideOptions{})
		if err != nil || d.Instance.ID != "n3" {
			t.Fatalf("resolve: %+v, %v", d, err)
		}
		if _, err := m.SyncInstances(ctx, router.RegistrySnapshot{Service: "orders", Ref: 15, Instances: []router.Instance{
			regInstance("n1", "v1", "10.0.0.1:80", 70),
		}}); err != nil {
			t.Fatal(err)
		}
		if d, err := m.Resolve(ctx, router.Request{Tenant: "acme", Service: "orders", Key: "k"}, router.DecideOptions{}); err == nil {
			t.Fatalf("resolved to %+v after its only instance left the registry", d)
		}
	})

	t.Run("replicas syncing the same snapshot concurrently agree", func(t *testing.T) {
		snap := router.RegistrySnapshot{Service: "orders", Ref: 20, Instances: []router.Instance{
			regInstance("n1", "v1", "10.0.0.1:80", 70), regInstance("n4", "v2", "10.0.0.4:80", 30),
		}}
		var wg sync.WaitGroup
		var mu sync.Mutex
		added := 0
		for range 4 {
			wg.Go(func() {
				res, err := m.SyncInstances(ctx, snap)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				added += res.Added
				mu.Unlock()
			})
		}
		wg.Wait()
		if added != 1 || len(registryIDs(t, m)) != 2 {
			t.Fatalf("4 concurrent syncs added %d instances (want 1 in total), table %v", added, registryIDs(t, m))
		}
	})

	t.Run("invalid instances are reported, the rest applied", func(t *testing.T) {
		res, err := m.SyncInstances(ctx, router.RegistrySnapshot{Service: "orders", Ref: 21, Instances: []router.Instance{
			regInstance("n1", "v1", "10.0.0.1:80", 70), regInstance("n4", "v2", "10.0.0.4:80", 30),
			regInstance("Bad Id", "v1", "10.0.0.5:80", 1), regInstance("n6", "v1", "no-port", 1),
			regInstance("i-v1", "v1", "10.0.0.7:80", 1),
		}})
		if err != nil || len(res.Invalid) != 3 || res.Changed() {
			t.Fatalf("sync: %+v, %v", res, err)
		}
	})
}
