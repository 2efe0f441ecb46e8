package nacos

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/nacos-group/nacos-sdk-go/v2/model"
	"github.com/nacos-group/nacos-sdk-go/v2/vo"

	"github.com/greyrouter/greyrouter/internal/testutil"
	"github.com/greyrouter/greyrouter/router"
	"github.com/greyrouter/greyrouter/router/redisstore"
	"github.com/greyrouter/greyrouter/router/sqlstore"
)

func TestMain(m *testing.M) { os.Exit(testutil.RunMain(m)) }

// fakeNaming is a Nacos naming client in memory: tests change a service's
// instances and push, as the server would.
type fakeNaming struct {
	mu       sync.Mutex
	healthy  bool
	services map[string]model.Service
	subs     map[string]func([]model.Instance, error)
	ref      uint64
}

func newFakeNaming() *fakeNaming {
	return &fakeNaming{healthy: true, services: map[string]model.Service{}, subs: map[string]func([]model.Instance, error){}}
}

func (f *fakeNaming) RegisterInstance(vo.RegisterInstanceParam) (bool, error)     { return true, nil }
func (f *fakeNaming) UpdateInstance(vo.UpdateInstanceParam) (bool, error)         { return true, nil }
func (f *fakeNaming) DeregisterInstance(vo.DeregisterInstanceParam) (bool, error) { return true, nil }
func (f *fakeNaming) CloseClient()                                                {}

func (f *fakeNaming) Subscribe(p *vo.SubscribeParam) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subs[p.ServiceName] = p.SubscribeCallback
	return nil
}

func (f *fakeNaming) Unsubscribe(p *vo.SubscribeParam) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.subs, p.ServiceName)
	return nil
}

func (f *fakeNaming) GetService(p vo.GetServiceParam) (model.Service, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.services[p.ServiceName], nil
}

func (f *fakeNaming) ServerHealthy() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.healthy
}

func (f *fakeNaming) setHealthy(h bool) {
	f.mu.Lock()
	f.healthy = h
	f.mu.Unlock()
}

// push replaces a service's instances and calls its subscriber.
func (f *fakeNaming) push(service string, hosts ...model.Instance) {
	f.mu.Lock()
	f.ref++
	f.services[service] = model.Service{Name: service, Hosts: hosts, LastRefTime: f.ref}
	cb := f.subs[service]
	f.mu.Unlock()
	if cb != nil {
		cb(hosts, nil)
	}
}

func (f *fakeNaming) subscribed(service string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.subs[service] != nil
}

func host(ip, version string) model.Instance {
	return model.Instance{Ip: ip, Port: 8080, Weight: 1, Healthy: true, Enable: true, Ephemeral: true,
		Metadata: map[string]string{"version": version}}
}

// newSyncTarget is a Manager over SQLite and a real Redis with service
// orders (versions 1.1 and 1.2, default 1.1) and tenant acme.
func newSyncTarget(t *testing.T) *router.Manager {
	t.Helper()
	db := testutil.MigratedDB(t, "")
	rs := redisstore.New(testutil.Redis(t).Client(t))
	m := router.NewManager(sqlstore.New(db.Gorm, db.Dialect()), rs, rs, slog.New(slog.DiscardHandler), nil)
	ctx := context.Background()
	if _, _, err := m.CreateTenant(ctx, "t", router.Tenant{Name: "acme"}); err != nil {
		t.Fatal(err)
	}
	svc := router.Service{Name: "orders", Strategy: router.RoundRobin, LeaseSeconds: 30, Circuit: router.DefaultCircuitPolicy()}
	if _, _, err := m.CreateService(ctx, "t", svc); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"1.1", "1.2"} {
		if _, _, err := m.CreateVersion(ctx, "t", router.Version{Service: "orders", Name: v}); err != nil {
			t.Fatal(err)
		}
	}
	svc.DefaultVersion = "1.1"
	if _, _, err := m.UpdateService(ctx, "t", svc); err != nil {
		t.Fatal(err)
	}
	return m
}

// registryTable returns the service's registry instances that take new
// decisions (instances gone from Nacos drain first), by id.
func registryTable(t *testing.T, m *router.Manager, service string) map[string]router.Instance {
	t.Helper()
	ins, err := m.Store().ListInstances(context.Background(), service)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]router.Instance{}
	for _, in := range ins {
		if in.Source == router.SourceRegistry && !in.Draining {
			out[in.ID] = in
		}
	}
	return out
}

// eventually polls cond until it holds, failing after 5 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5 s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func startSyncer(t *testing.T, m *router.Manager, n Naming, cfg SyncConfig) *Syncer {
	t.Helper()
	if cfg.ServiceRefresh == 0 {
		cfg.ServiceRefresh = 50 * time.Millisecond
	}
	s := NewSyncer(m, n, cfg, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return s
}

func TestSyncerFollowsPushes(t *testing.T) {
	m := newSyncTarget(t)
	n := newFakeNaming()
	s := startSyncer(t, m, n, SyncConfig{EmptyGrace: -1})
	eventually(t, "orders subscribed", func() bool { return n.subscribed("orders") })

	n.push("orders", host("10.0.0.1", "1.1"), host("10.0.0.2", "1.2"))
	eventually(t, "two instances synced", func() bool { return len(registryTable(t, m, "orders")) == 2 })

	t.Run("metadata and weight changes are applied", func(t *testing.T) {
		h := host("10.0.0.2", "1.2")
		h.Weight = 3
		n.push("orders", host("10.0.0.1", "1.1"), h)
		eventually(t, "weight 300", func() bool { return registryTable(t, m, "orders")["10.0.0.2-8080"].Weight == 300 })
	})
	t.Run("a deregistered instance goes", func(t *testing.T) {
		n.push("orders", host("10.0.0.1", "1.1"))
		eventually(t, "one instance left", func() bool { return len(registryTable(t, m, "orders")) == 1 })
	})
	t.Run("nacos down: the table stays, resyncs pause", func(t *testing.T) {
		n.setHealthy(false)
		eventually(t, "status stale", func() bool { return s.Status().Stale })
		s.enqueueAll()
		time.Sleep(200 * time.Millisecond) // give a wrong apply the chance to happen
		if len(registryTable(t, m, "orders")) != 1 {
			t.Fatal("the table changed while nacos was down")
		}
		n.setHealthy(true)
		eventually(t, "status connected", func() bool { return !s.Status().Stale })
	})
	t.Run("an emptied service empties its registry instances", func(t *testing.T) {
		n.push("orders")
		eventually(t, "no registry instance", func() bool { return len(registryTable(t, m, "orders")) == 0 })
	})
	t.Run("a new router service is subscribed without a restart", func(t *testing.T) {
		svc := router.Service{Name: "billing", Strategy: router.RoundRobin, LeaseSeconds: 30, Circuit: router.DefaultCircuitPolicy()}
		if _, _, err := m.CreateService(context.Background(), "t", svc); err != nil {
			t.Fatal(err)
		}
		eventually(t, "billing subscribed", func() bool { return n.subscribed("billing") })
	})
}

func TestEmptyListsAfterAReconnectAreHeldBack(t *testing.T) {
	m := newSyncTarget(t)
	n := newFakeNaming()
	s := startSyncer(t, m, n, SyncConfig{EmptyGrace: 700 * time.Millisecond})
	eventually(t, "orders subscribed", func() bool { return n.subscribed("orders") })
	// Let the connection be up longer than the grace, then sync.
	time.Sleep(800 * time.Millisecond)
	n.push("orders", host("10.0.0.1", "1.1"))
	eventually(t, "instance synced", func() bool { return len(registryTable(t, m, "orders")) == 1 })

	// The server restarts empty: the connection drops and comes back, and
	// the first push is empty.
	n.setHealthy(false)
	eventually(t, "down", func() bool { return s.Status().Stale })
	n.setHealthy(true)
	eventually(t, "up", func() bool { return !s.Status().Stale })
	n.push("orders")
	time.Sleep(300 * time.Millisecond)
	if len(registryTable(t, m, "orders")) != 1 {
		t.Fatal("an empty list right after a reconnect emptied the table")
	}
	// The client re-registers within the grace: nothing was lost.
	n.push("orders", host("10.0.0.1", "1.1"))
	time.Sleep(700 * time.Millisecond)
	if len(registryTable(t, m, "orders")) != 1 {
		t.Fatal("the re-registered instance is missing")
	}
	// An empty list that persists past the grace is applied.
	n.push("orders")
	eventually(t, "emptied after the grace", func() bool { return len(registryTable(t, m, "orders")) == 0 })
}

func TestUnversionedInstancesAreCreatedWhenAsked(t *testing.T) {
	m := newSyncTarget(t)
	n := newFakeNaming()
	startSyncer(t, m, n, SyncConfig{EmptyGrace: -1, CreateVersions: true})
	eventually(t, "orders subscribed", func() bool { return n.subscribed("orders") })
	n.push("orders", host("10.0.0.3", "1.3"))
	eventually(t, "version 1.3 instance synced", func() bool { return registryTable(t, m, "orders")["10.0.0.3-8080"].Version == "1.3" })
}
