package redisstore_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/greyrouter/greyrouter/internal/testutil"
	"github.com/greyrouter/greyrouter/router"
	"github.com/greyrouter/greyrouter/router/redisstore"
)

// backends runs fn against a standalone Redis and a 3-master Cluster.
func backends(t *testing.T, fn func(t *testing.T, rdb redis.UniversalClient)) {
	testutil.RedisBackends(t, fn)
}

// revisions numbers snapshots so that each one projected supersedes the
// one before it (a lower revision is refused as stale).
var revisions atomic.Int64

// snapshot builds a service with versions v1 and v2 and the given
// instances ("id@version" weight w), tenants acme and globex.
func snapshot(strategy router.Strategy, insts ...router.Instance) router.Snapshot {
	svc := router.Service{Name: "orders", DefaultVersion: "v1", Strategy: strategy, LeaseSeconds: 30,
		Circuit: router.CircuitPolicy{WindowSeconds: 30, BaseEjectionSeconds: 10, MaxEjectionSeconds: 300, ProbeTimeoutSeconds: 10}}
	return router.Snapshot{
		Revision:  revisions.Add(1),
		Service:   svc,
		Versions:  []router.Version{{Service: "orders", Name: "v1", State: router.VersionActive}, {Service: "orders", Name: "v2", State: router.VersionActive}},
		Instances: insts,
		Tenants:   []string{"acme", "globex"},
	}
}

func inst(id, version string, weight int) router.Instance {
	return router.Instance{ID: id, Service: "orders", Version: version, Address: fmt.Sprintf("%s.local:80", id),
		Weight: weight, Enabled: true, Source: router.SourceAPI, Metadata: map[string]string{"zone": "a"}}
}

func project(t *testing.T, st *redisstore.Store, s router.Snapshot) {
	t.Helper()
	if err := st.Project(context.Background(), s); err != nil {
		t.Fatalf("project: %v", err)
	}
}

func decide(t *testing.T, st *redisstore.Store, req router.Request) router.Decision {
	t.Helper()
	if req.Service == "" {
		req.Service = "orders"
	}
	d, err := st.Decide(context.Background(), req, router.DecideOptions{Explain: true})
	if err != nil {
		t.Fatalf("decide %+v: %v", req, err)
	}
	return d
}

// count makes n decisions and counts instance ids.
func count(t *testing.T, st *redisstore.Store, req router.Request, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for range n {
		got[decide(t, st, req).Instance.ID]++
	}
	return got
}
