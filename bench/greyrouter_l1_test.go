package bench

import (
	"context"
	"errors"
	"time"

	"github.com/greyrouter/greyrouter/privilege"
	"github.com/greyrouter/greyrouter/privilege/service"
)

// engGreyrouterL1 is the product's whole check path, privilege/service's
// Check, timed on L1 hits: the counterpart of Casbin's CachedEnforcer hit.
const engGreyrouterL1 = "greyrouter-l1"

// fixedStore serves a generated workload as every tenant's policy set at
// version 1: the service loads and compiles from it exactly as from the
// database, without a database in the benchmark. It cannot be written.
type fixedStore struct {
	snaps map[string]privilege.Snapshot
}

var errReadOnly = errors.New("bench: the fixed store is read-only")

func newFixedStore(w *workload) *fixedStore {
	s := &fixedStore{snaps: map[string]privilege.Snapshot{}}
	for _, p := range w.PerTenant() {
		s.snaps[p.Tenant] = privilege.Snapshot{Tenant: p.Tenant, Version: 1, PlatformVersion: 1,
			Settings: privilege.DefaultSettings(p.Tenant), Roles: p.Roles, Assignments: p.Assignments}
	}
	return s
}

func (s *fixedStore) Version(_ context.Context, tenant string) (int64, error) {
	if _, ok := s.snaps[tenant]; ok || tenant == "" {
		return 1, nil
	}
	return 0, nil
}

func (s *fixedStore) Versions(context.Context) (map[string]int64, error) {
	out := map[string]int64{"": 1}
	for t := range s.snaps {
		out[t] = 1
	}
	return out, nil
}

func (s *fixedStore) Snapshot(_ context.Context, tenant string) (privilege.Snapshot, error) {
	if snap, ok := s.snaps[tenant]; ok {
		return snap, nil
	}
	return privilege.Snapshot{Tenant: tenant, PlatformVersion: 1, Settings: privilege.DefaultSettings(tenant)}, nil
}

func (s *fixedStore) ListRevisions(context.Context, string, int64, int) ([]privilege.PolicyRevision, error) {
	return nil, nil
}

func (s *fixedStore) GetRevision(context.Context, string, int64) (privilege.PolicyRevision, error) {
	return privilege.PolicyRevision{}, errReadOnly
}

func (s *fixedStore) InTx(context.Context, string, func(privilege.Tx) error) (int64, error) {
	return 0, errReadOnly
}

// newGreyrouterL1 starts a service on the workload (no Redis, clock fixed
// at the workload's time, L1 large enough for every check) and returns
// its decision and a stop function. The first pass over the checks
// compiles and fills L1; after it every check is an L1 hit.
func newGreyrouterL1(w *workload) (func(i int) (bool, error), func(), error) {
	s, err := service.New(context.Background(), newFixedStore(w), service.Options{
		Now:    func() time.Time { return w.Now },
		L1Size: 4 * len(w.Checks),
	})
	if err != nil {
		return nil, nil, err
	}
	reqs := make([]privilege.Request, len(w.Checks))
	for i := range w.Checks {
		c := &w.Checks[i]
		reqs[i] = privilege.Request{Tenant: w.TenantOf(c), Subject: privilege.Subject{ID: c.Subject}, Action: c.Action, Resource: privilege.Resource{Name: c.Resource}}
	}
	ctx := context.Background()
	return func(i int) (bool, error) {
		d, err := s.Check(ctx, reqs[i], service.CheckOptions{})
		return d.Allowed, err
	}, s.Close, nil
}
