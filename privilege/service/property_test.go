package service_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/internal/testutil"
	"github.com/greyrouter/greyrouter/privilege"
	"github.com/greyrouter/greyrouter/privilege/service"
)

// TestPropertyCachedAnswersEqualTheUncachedEvaluator makes random writes
// (roles with inheritance, permits and denies on wildcard patterns,
// assignments with expiries, policies) and after each one asks random
// questions of two replicas, with and without the write's token, under a
// clock that moves past expiries. Every answer, whichever tier gave it,
// must equal a fresh compile of the stored set at the answer's version —
// and with the token, the answer's version must be at least the token's.
func TestPropertyCachedAnswersEqualTheUncachedEvaluator(t *testing.T) {
	rdb := testutil.Redis(t).Client(t)
	store := sqliteStore(t)
	clk := newClock()
	a := newService(t, store, rdb, service.Options{Now: clk.Now})
	// b hears of changes only through tokens: it exercises L2 and loads.
	b := newService(t, store, nil, service.Options{Now: clk.Now, PollInterval: time.Hour})
	bL2 := newService(t, store, rdb, service.Options{Now: clk.Now, PollInterval: time.Hour})
	rng := rand.New(rand.NewPCG(42, 7))

	const tenant = "acme"
	roles := []string{"r0", "r1", "r2", "r3", "r4"}
	subjects := []string{"alice", "bob", "carol"}
	resources := []string{"orders/1", "orders/2", "invoices/1"}
	actions := []string{"read", "write"}
	patterns := []string{"orders/*", "orders/1", "invoices/*", "*"}
	reference := map[int64]*privilege.Engine{}
	engineAt := func(v int64) *privilege.Engine {
		if e := reference[v]; e != nil {
			return e
		}
		snap, err := store.Snapshot(t.Context(), tenant)
		must(t, err, "snapshot")
		if snap.Version != v {
			t.Fatalf("reference wanted version %d, store is at %d", v, snap.Version)
		}
		e, err := privilege.CompileSnapshot(snap)
		must(t, err, "reference compile")
		reference[v] = e
		return e
	}
	randomWrite := func(tx privilege.Tx) error {
		ctx := context.Background()
		switch rng.IntN(5) {
		case 0, 1:
			r := privilege.Role{Tenant: tenant, Name: roles[rng.IntN(len(roles))]}
			for range rng.IntN(3) {
				p := privilege.Permission{Resource: patterns[rng.IntN(len(patterns))], Action: actions[rng.IntN(len(actions))]}
				if rng.IntN(5) == 0 {
					p.Effect = privilege.Deny
				}
				r.Permissions = append(r.Permissions, p)
			}
			if rng.IntN(2) == 0 {
				if parent := roles[rng.IntN(len(roles))]; parent != r.Name {
					r.Inherits = []string{parent}
				}
			}
			return tx.PutRole(ctx, r)
		case 2:
			var exp time.Time
			if rng.IntN(3) == 0 {
				exp = clk.Now().Add(time.Duration(1+rng.IntN(30)) * time.Second)
			}
			return tx.PutAssignment(ctx, privilege.Assignment{Tenant: tenant, Subject: subjects[rng.IntN(len(subjects))], Role: roles[rng.IntN(len(roles))], ExpiresAt: exp})
		case 3:
			return tx.DeleteAssignment(ctx, subjects[rng.IntN(len(subjects))], roles[rng.IntN(len(roles))])
		default:
			effect := privilege.Permit
			if rng.IntN(2) == 0 {
				effect = privilege.Deny
			}
			return tx.PutPolicy(ctx, privilege.Policy{ID: "p" + fmt.Sprint(rng.IntN(2)),
				Target: privilege.Target{Resources: []string{patterns[rng.IntN(len(patterns))]}, Actions: []string{actions[rng.IntN(len(actions))]}},
				Rules:  []privilege.Rule{{ID: "always", Effect: effect}}})
		}
	}

	tiers := map[string]int{}
	var tok service.Token
	for step := range 300 {
		t1, err := a.Write(t.Context(), tenant, "prop", "", randomWrite)
		switch {
		case err == nil:
			tok = t1
		case apperr.Is(err, apperr.Unprocessable) || apperr.Is(err, apperr.NotFound) || apperr.Is(err, apperr.Conflict):
			// a cycle, an assignment of a missing role, a missing record
		default:
			t.Fatalf("step %d: write: %v", step, err)
		}
		if rng.IntN(4) == 0 {
			clk.Advance(time.Duration(rng.IntN(10)) * time.Second)
		}
		now := clk.Now()
		for q := range 24 {
			r := req(tenant, subjects[rng.IntN(len(subjects))], actions[rng.IntN(len(actions))], resources[rng.IntN(len(resources))])
			s, name := a, "a"
			var o service.CheckOptions
			switch q % 4 {
			case 1:
				o.AtLeast = &tok
			case 2:
				s, name, o.AtLeast = b, "b", &tok
			case 3:
				s, name, o.AtLeast = bL2, "bL2", &tok
			}
			d := check(t, s, r, o)
			tiers[d.Tier]++
			if o.AtLeast != nil && d.PolicyVersion < tok.Version {
				t.Fatalf("step %d: %s answered at version %d, token %d: %+v", step, name, d.PolicyVersion, tok.Version, d)
			}
			want := engineAt(d.PolicyVersion).Check(r, now, false)
			if d.Allowed != want.Allowed || d.Reason != want.Reason {
				t.Fatalf("step %d: %s (%s tier) answered %v %q, the set at version %d says %v %q (request %+v)",
					step, name, d.Tier, d.Allowed, d.Reason, d.PolicyVersion, want.Allowed, want.Reason, r)
			}
		}
		if step%10 == 0 {
			time.Sleep(5 * time.Millisecond) // let L2 writes land so bL2 finds some
		}
	}
	t.Logf("answers by tier: %v", tiers)
	for _, tier := range []string{service.TierL1, service.TierEngine, service.TierL2, service.TierL3} {
		if tiers[tier] == 0 {
			t.Errorf("tier %s never answered: %v", tier, tiers)
		}
	}
}
