package router

import (
	"fmt"
	"math/rand/v2"

	routing "github.com/greyrouter/greyrouter/router"
)

// decide makes one decision from a compiled table. The version step is
// router.ChooseVersion itself, and the instance step mirrors decide.lua
// with the same pure functions, so local and remote decisions agree; only
// state that lives in Redis differs (see the package doc).
func (t *table) decide(tenant, service string, opts ResolveOptions) (Instance, error) {
	st := t.services[service]
	if st == nil {
		return Instance{}, fmt.Errorf("%w: service %q", ErrNotFound, service)
	}
	// A bound tenant is a known one: only others are looked up.
	b := st.bindings[tenant]
	if b == nil {
		if _, ok := t.tenants[tenant]; !ok {
			return Instance{}, fmt.Errorf("%w: tenant %q", ErrNotFound, tenant)
		}
	}
	req := routing.Request{Tenant: tenant, Service: service, Key: opts.Key, Headers: opts.Headers, Attributes: opts.Attributes, Lane: opts.Lane, Avoid: opts.Avoid}
	rnd := rand.Float64()
	vc, err := routing.ChooseVersion(&st.svc, b, &req, rnd, st.laneSupply(opts.Lane))
	if err != nil {
		return Instance{}, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	if vc.Version == "" {
		return Instance{}, fmt.Errorf("%w: no route: tenant %q has no binding for %q and the service has no default version", ErrNotFound, tenant, service)
	}
	v := st.versions[vc.Version]
	if v == nil {
		return Instance{}, fmt.Errorf("%w: no live instance of %s/%s", ErrUnavailable, service, vc.Version)
	}
	if v.err != nil {
		return Instance{}, v.err
	}
	var pick int
	switch st.svc.Strategy {
	case routing.RoundRobin:
		pick = v.pool[(v.rr.Add(1)-1)%uint64(len(v.pool))]
	case routing.WeightedRoundRobin, routing.LeastConnections:
		// Connection counts live in Redis; locally, least connections
		// spreads by weight, which is what it converges to when instances
		// answer equally fast.
		pos := v.next[(v.rr.Add(1)-1)%uint64(len(v.cycle))]
		pick = v.cycle[pos]
	case routing.Random:
		pick = v.pool[int(rnd*float64(len(v.pool)))]
	case routing.WeightedRandom:
		pick = weightedPick(v, rnd)
	case routing.ConsistentHash:
		pick = hashPick(v, stickyKey(b, req), rnd)
	}
	if opts.Avoid != "" && v.insts[pick].ID == opts.Avoid && len(v.pool) > 1 {
		pick = v.another(pick, st.svc.Strategy, stickyKey(b, req))
	}
	in := &v.insts[pick]
	return Instance{Tenant: tenant, Service: service, Version: v.name, ID: in.ID, Address: in.Address, Metadata: in.Metadata,
		Reason: vc.Reason, Lane: vc.Lane, Revision: t.revision, Deprecated: v.deprecated, Rule: ruleOrNone(vc.Rule), Bucket: vc.Bucket,
		Source: SourceLocal}, nil
}

// laneSupply says what the service offers a lane: a version of that name
// with usable instances (up), without (down: none live, or all ejected),
// or none.
func (st *serviceTable) laneSupply(lane string) routing.LaneSupply {
	if lane == "" {
		return routing.LaneAbsent
	}
	switch v := st.versions[lane]; {
	case v == nil:
		return routing.LaneAbsent
	case v.err != nil:
		return routing.LaneDown
	}
	return routing.LaneUp
}

func ruleOrNone(r int) int {
	if r == 0 {
		return -1
	}
	return r
}

// stickyKey is the key consistent hashing uses: the binding's sticky
// source, or the request key when the tenant has no binding.
func stickyKey(b *routing.Binding, req routing.Request) string {
	if b != nil {
		return b.StickyKey(req)
	}
	return req.Key
}

// another picks a usable instance other than avoid (an index into insts
// that is in the pool, which holds at least two): for consistent hashing
// the best score among the others, as decide.lua does once it set the
// avoided instance aside; otherwise the next one in id order.
func (v *versionTable) another(avoid int, strategy routing.Strategy, key string) int {
	if strategy == routing.ConsistentHash && key != "" {
		return rendezvous(v, key, avoid)
	}
	for k, i := range v.pool {
		if i == avoid {
			return v.pool[(k+1)%len(v.pool)]
		}
	}
	return v.pool[0]
}

// weightedPick walks the usable instances' weights, as decide.lua does.
func weightedPick(v *versionTable, rnd float64) int {
	total := 0
	for _, i := range v.pool {
		total += v.insts[i].Weight
	}
	x := rnd * float64(total)
	for _, i := range v.pool {
		w := float64(v.insts[i].Weight)
		if x < w {
			return i
		}
		x -= w
	}
	return v.pool[len(v.pool)-1]
}

// hashPick is weighted rendezvous hashing on the sticky key (the highest
// router.HashScore wins, the first in id order on a tie); without a key,
// a random usable instance.
func hashPick(v *versionTable, key string, rnd float64) int {
	if key == "" {
		return v.pool[int(rnd*float64(len(v.pool)))]
	}
	return rendezvous(v, key, -1)
}

// rendezvous returns the usable instance with the highest
// router.HashScore for key (the first in id order on a tie), skip aside.
func rendezvous(v *versionTable, key string, skip int) int {
	best, bestScore := -1, 0.0
	for _, i := range v.pool {
		if i == skip {
			continue
		}
		if s := routing.HashScore(key, v.insts[i].ID, v.insts[i].Weight); best < 0 || s > bestScore {
			best, bestScore = i, s
		}
	}
	return best
}
