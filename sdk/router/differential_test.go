package router

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/internal/apperr"
	routing "github.com/greyrouter/greyrouter/router"
)

// diffServices are the generated world's services, one per strategy (two
// with consistent hashing, the strategy whose instance is deterministic);
// "audit" has no default version, so tenants without a binding have no
// route there.
var diffServices = []struct {
	name     string
	strategy routing.Strategy
}{
	{"orders", routing.ConsistentHash},
	{"billing", routing.ConsistentHash},
	{"search", routing.RoundRobin},
	{"media", routing.WeightedRoundRobin},
	{"stock", routing.WeightedRandom},
	{"mail", routing.LeastConnections},
	{"audit", routing.Random},
}

var diffVersions = []string{"v1", "v2", "v3"}

const diffTenants = 12

// TestLocalDecisionsAgreeWithTheRouter is the differential test: a real
// router (Manager over SQLite, decide.lua on a real Redis, its HTTP API)
// and a local client fed by the router's snapshot endpoint decide the same
// generated requests, over rounds of generated configuration changes that
// reach the local client through the long poll. Every decision must give
// the same outcome class, version, reason and deprecation; the same
// instance under consistent hashing with a sticky key; and otherwise an
// instance both sides consider usable. A sample is also decided through
// the HTTP and Redis clients.
func TestLocalDecisionsAgreeWithTheRouter(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(2026, 6))
	seedWorld(t, h, rng)

	local := h.local(t, LocalConfig{PollWait: 2 * time.Second})
	viaHTTP := NewHTTP(h.srv.URL, StaticToken(platformToken), nil)
	viaRedis := NewRedis(h.rdb, 2)
	t.Cleanup(viaRedis.Close)

	rounds, perRound := 5, 1000
	if testing.Short() {
		rounds, perRound = 2, 300
	}
	compared, hashed, errs, laned, strict := 0, 0, 0, 0, 0
	for round := range rounds {
		if round > 0 {
			mutateWorld(t, h, rng)
			want, err := h.m.RoutingSnapshot(ctx)
			if err != nil {
				t.Fatal(err)
			}
			eventually(t, 10*time.Second, "the local client follows the long poll", func() bool {
				return local.local.table.Load().etag == want.ETag
			})
		}
		tbl := local.local.table.Load()
		for i := range perRound {
			c := genCase(rng)
			c.what = fmt.Sprintf("round %d case %d: %s/%s %+v", round, i, c.tenant, c.service, c.opts)
			got, gotErr := local.Resolve(ctx, c.tenant, c.service, c.opts)
			want, wantErr := c.viaManager(ctx, h.m)
			if compareDecisions(t, tbl, c, got, gotErr, want, wantErr) {
				hashed++
			}
			if gotErr != nil {
				errs++
			}
			if gotErr == nil && got.Reason == "lane" {
				laned++
			}
			if errors.Is(gotErr, routing.ErrNoLane) {
				strict++
			}
			compared++
			if i%10 != 0 {
				continue
			}
			other, otherErr := viaHTTP.Resolve(ctx, c.tenant, c.service, c.opts)
			compareDecisions(t, tbl, c.as("http"), got, gotErr, other, otherErr)
			if tbl.services[c.service] != nil {
				// An unknown service has no table in Redis, which the
				// Redis client cannot tell from a table being rebuilt.
				other, otherErr = viaRedis.Resolve(ctx, c.tenant, c.service, c.opts)
				compareDecisions(t, tbl, c.as("redis"), got, gotErr, other, otherErr)
			}
		}
	}
	t.Logf("%d decisions compared (%d required the same consistent-hash instance, %d errors on both sides, %d followed a lane, %d failed for a strict binding's missing lane)",
		compared, hashed, errs, laned, strict)
	if hashed < compared/10 || errs == 0 || errs > compared/2 || laned < compared/20 || strict == 0 {
		t.Fatalf("generated cases are lopsided: %d hashed, %d errors, %d in lanes, %d strict failures of %d", hashed, errs, laned, strict, compared)
	}
}

// unavailable is the error a decision for version gives, nil when it has
// usable instances.
func unavailable(st *serviceTable, version string) error {
	v := st.versions[version]
	if v == nil {
		return ErrUnavailable
	}
	return v.err
}

// diffCase is one generated request.
type diffCase struct {
	tenant, service string
	opts            ResolveOptions
	what            string
}

func (c diffCase) as(via string) diffCase {
	c.what += " via " + via
	return c
}

// viaManager decides the case as the router's resolve API does.
func (c diffCase) viaManager(ctx context.Context, m *routing.Manager) (Instance, error) {
	d, err := m.Resolve(ctx, routing.Request{Tenant: c.tenant, Service: c.service, Key: c.opts.Key,
		Headers: c.opts.Headers, Attributes: c.opts.Attributes, Lane: c.opts.Lane, Avoid: c.opts.Avoid}, routing.DecideOptions{})
	if err != nil {
		return Instance{}, fmt.Errorf("%w: %w", sentinelFor(apperr.CodeOf(err)), err)
	}
	return fromDecision(c.tenant, c.service, d, SourceRedis), nil
}

// compareDecisions fails the test unless the local decision (got) agrees
// with the remote one (want); it reports whether the instance had to be
// the same one.
func compareDecisions(t *testing.T, tbl *table, c diffCase, got Instance, gotErr error, want Instance, wantErr error) bool {
	t.Helper()
	st := tbl.services[c.service]
	var b *routing.Binding
	req := routing.Request{Tenant: c.tenant, Service: c.service, Key: c.opts.Key, Headers: c.opts.Headers, Attributes: c.opts.Attributes, Lane: c.opts.Lane}
	if st != nil {
		b = st.bindings[c.tenant]
	}
	var vc routing.VersionChoice
	if b != nil {
		vc, _ = routing.ChooseVersion(&st.svc, b, &req, 0, st.laneSupply(req.Lane))
	}
	if strings.HasPrefix(vc.Reason, "split_") && b.StickyKey(req) == "" {
		// No sticky key: each side draws the bucket at random, so each
		// must give what the baseline or the candidate gives.
		for _, side := range []struct {
			in  Instance
			err error
		}{{got, gotErr}, {want, wantErr}} {
			if side.err != nil {
				if !errors.Is(side.err, ErrUnavailable) || unavailable(st, b.Baseline) == nil && unavailable(st, b.Candidate) == nil {
					t.Fatalf("%s: an unsticky split between usable versions failed: %v", c.what, side.err)
				}
				continue
			}
			if v := side.in.Version; v != b.Baseline && v != b.Candidate {
				t.Fatalf("%s: an unsticky split chose %s (local %s, remote %s)", c.what, v, got.Version, want.Version)
			}
		}
		return false
	}
	if errClass(gotErr) != errClass(wantErr) {
		t.Fatalf("%s: local %q (%v), remote %q (%v)", c.what, errClass(gotErr), gotErr, errClass(wantErr), wantErr)
	}
	if gotErr != nil {
		return false
	}
	if got.Version != want.Version || got.Reason != want.Reason || got.Deprecated != want.Deprecated || got.Lane != want.Lane {
		t.Fatalf("%s: local %s/%s deprecated=%v lane %q, remote %s/%s deprecated=%v lane %q", c.what, got.Version, got.Reason, got.Deprecated,
			got.Lane, want.Version, want.Reason, want.Deprecated, want.Lane)
	}
	v := st.versions[got.Version]
	usable := map[string]string{}
	for _, i := range v.pool {
		usable[v.insts[i].ID] = v.insts[i].Address
	}
	for _, in := range []Instance{got, want} {
		if addr, ok := usable[in.ID]; !ok || addr != in.Address {
			t.Fatalf("%s: local %s, remote %s; usable: %v", c.what, got.ID, want.ID, usable)
		}
		if in.ID == c.opts.Avoid && len(usable) > 1 {
			t.Fatalf("%s: chose the instance to avoid (local %s, remote %s); usable: %v", c.what, got.ID, want.ID, usable)
		}
	}
	if key := stickyKey(b, req); st.svc.Strategy == routing.ConsistentHash && key != "" {
		if got.ID != want.ID || !maps.Equal(got.Metadata, want.Metadata) {
			t.Fatalf("%s: consistent hash on %q: local %s %v, remote %s %v", c.what, key, got.ID, got.Metadata, want.ID, want.Metadata)
		}
		return true
	}
	return false
}
