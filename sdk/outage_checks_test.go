package sdk_test

import (
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/sdk/privilege"
)

// checkNothingFailed checks that no call had a wrong answer or an
// unexpected error, and that routing, default verification and checks
// seen before never failed closed either.
func checkNothingFailed(t *testing.T, r *recorder) {
	t.Helper()
	for p := range numPhases {
		for k := range numOps {
			if c := r.cells[p][k]; c.fails > 0 {
				t.Errorf("%s, %s: %d of %d calls failed; first: %s", phaseNames[p], opNames[k], c.fails, c.ops, c.firstFail)
			}
		}
		for _, k := range []op{opResolve, opVerify, opCheck} {
			if c := r.cells[p][k]; c.refused > 0 {
				t.Errorf("%s, %s: %d of %d calls refused; want none", phaseNames[p], opNames[k], c.refused, c.ops)
			}
		}
	}
	for _, p := range []phase{phWarm, phRedisDown, phRedisBack, phRouterDown, phRouterBack} {
		if c := r.cells[p][opResolve]; c.ops == 0 {
			t.Errorf("%s: no call ran; the load stalled", phaseNames[p])
		}
	}
}

// checkStrictAuth checks the authenticator whose MaxStaleness is shorter
// than the outage: it verifies while the revocation state is young
// enough, refuses every token (503-kind) once it is older than
// MaxStaleness, and is unaffected by the router's outage.
func checkStrictAuth(t *testing.T, r *recorder) {
	t.Helper()
	for _, p := range []phase{phWarm, phRedisStopping, phRouterStopping, phRouterDown, phRouterStarting, phRouterBack} {
		if c := r.cells[p][opVerifyStrict]; c.refused > 0 {
			t.Errorf("%s: the strict authenticator refused %d of %d tokens; want none", phaseNames[p], c.refused, c.ops)
		}
	}
	// The state was at most a poll interval old when Redis stopped, so it
	// stays younger than MaxStaleness through the first second.
	secs := r.secs[phRedisDown]
	if c := secs[0][opVerifyStrict]; c.refused > 0 || c.ops == 0 {
		t.Errorf("redis down, second 0: the strict authenticator refused %d of %d tokens; want none within its MaxStaleness (%v)", c.refused, c.ops, strictStaleness)
	}
	// From one second past MaxStaleness plus a poll interval of slack
	// (a loaded machine may confirm the state once more as Redis goes
	// down), every token is refused.
	for sec := int(strictStaleness/time.Second) + 2; sec < int(outage/time.Second); sec++ {
		if c := secs[sec][opVerifyStrict]; c.refused != c.ops || c.ops == 0 {
			t.Errorf("redis down, second %d: the strict authenticator refused %d of %d tokens; want all, past its MaxStaleness (%v)", sec, c.refused, c.ops, strictStaleness)
		}
	}
}

// checkPrivilegeTTL checks the privilege client without Redis, whose
// MaxStale is shorter than the outage: while the router is down it
// answers from its cache (local-stale), and past MaxStale fails closed.
func checkPrivilegeTTL(t *testing.T, r *recorder) {
	t.Helper()
	for _, p := range []phase{phWarm, phRedisStopping, phRedisDown, phRedisStarting, phRedisBack, phRouterStopping} {
		if c := r.cells[p][opCheckTTL]; c.refused > 0 {
			t.Errorf("%s: the privilege client without Redis failed closed on %d of %d checks; want none", phaseNames[p], c.refused, c.ops)
		}
	}
	down := r.cells[phRouterDown][opCheckTTL]
	if down.tiers[privilege.TierLocalStale] == 0 {
		t.Errorf("router down: the privilege client without Redis never answered from its cache (tiers %v)", down.tiers)
	}
	if c := r.secs[phRouterDown][0][opCheckTTL]; c.refused > 0 || c.ops == 0 {
		t.Errorf("router down, second 0: the privilege client without Redis failed closed on %d of %d checks; want none within MaxStale (%v)", c.refused, c.ops, ttlMaxStale)
	}
	for sec := int(ttlMaxStale/time.Second) + 2; sec < int(outage/time.Second); sec++ {
		if c := r.secs[phRouterDown][sec][opCheckTTL]; c.refused != c.ops || c.ops == 0 {
			t.Errorf("router down, second %d: the privilege client without Redis failed closed on %d of %d checks; want all, past MaxStale (%v)", sec, c.refused, c.ops, ttlMaxStale)
		}
	}
}

// checkUnseen checks the checks never asked before: answered by
// greyrouter while it is up — from its database while Redis is down —
// and failed closed at once while it is down.
func checkUnseen(t *testing.T, r *recorder) {
	t.Helper()
	if c := r.cells[phWarm][opUnseen]; c.refused > 0 || c.ops == 0 {
		t.Errorf("warm: %d of %d new checks failed closed; want none", c.refused, c.ops)
	}
	// A check may exceed the client's 1 s timeout on a busy machine and
	// fail closed, as designed; nearly all must be answered.
	if c := r.cells[phRedisDown][opUnseen]; c.ops == 0 || c.refused > c.ops/20 {
		t.Errorf("redis down: %d of %d new checks failed closed (tiers %v); greyrouter answers them from its database", c.refused, c.ops, c.tiers)
	}
	down := r.cells[phRouterDown][opUnseen]
	if down.ops == 0 || down.tiers[privilege.TierFailClosed] != down.ops {
		t.Errorf("router down: new checks answered with tiers %v; want all %d fail-closed", down.tiers, down.ops)
	}
}
