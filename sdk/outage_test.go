package sdk_test

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/greyrouter/greyrouter/internal/testutil"
	"github.com/greyrouter/greyrouter/sdk/auth"
	"github.com/greyrouter/greyrouter/sdk/privilege"
	"github.com/greyrouter/greyrouter/sdk/router"
)

func TestMain(m *testing.M) {
	redis.SetLogger(quietRedis{})
	os.Exit(testutil.RunMain(m))
}

// The outage test's settings.
const (
	// outage is how long Redis, then the router, stays down.
	outage = 10 * time.Second
	// recoveryBound is how soon after a dependency returns everything
	// must be healthy again.
	recoveryBound = 2 * time.Second
	// warmup runs the load before the first outage; settle after each
	// recovery.
	warmup, settle = 2 * time.Second, time.Second

	// The load: loadWorkers goroutines each make one call of every kind
	// (resolve, two verifies, two checks) every loadTick, about 5,000
	// calls a second, and one more asks a check never asked before every
	// unseenTick.
	loadWorkers = 4
	loadTick    = 4 * time.Millisecond
	unseenTick  = 20 * time.Millisecond

	// strictStaleness is the MaxStaleness of the second authenticator,
	// shorter than the outage, to record what happens past it.
	strictStaleness = 4 * time.Second
	// ttlMaxStale is the MaxStale of the privilege client without Redis,
	// shorter than the outage, so that the router outage shows its cached
	// answers served and then failing closed.
	ttlMaxStale = 4 * time.Second
	// pollWait is the router client's long-poll wait. The binary's
	// graceful shutdown waits for long polls in flight (they do not end
	// at shutdown), so the default 30 s would hold Stop for the binary's
	// whole shutdown timeout.
	pollWait = time.Second
)

// TestOutageOfRedisThenOfTheRouterUnderLoad is the outage requirement of
// the SDK, against the real greyrouter binary, a real Redis and SQLite.
// Under continuous load through the SDK — local-mode routing, token
// verification, privilege checks — Redis stops for 10 s and comes back
// empty, then the router stops for 10 s and comes back on its port:
//
//   - no routing decision for a known tenant fails or changes;
//   - tokens keep verifying (within the default MaxStaleness, 1 m), and a
//     revoked one stays refused;
//   - privilege checks seen before keep their answers (from the cache, or
//     from greyrouter's database while only Redis is down); checks never
//     seen are answered by greyrouter while it is up and fail closed at
//     once while it is down;
//   - within 2 s of each dependency's return everything is healthy:
//     routing snapshot, revocation state and policy versions fresh, new
//     checks allowed again, greyrouter ready.
//
// Two clients configured below their outage record what happens past
// their limits: an authenticator with MaxStaleness 4 s refuses every
// token (503) from 4 s into the Redis outage until the feed is read
// again, and a privilege client without Redis with MaxStale 4 s answers
// from its cache (local-stale) in the router outage, then fails closed.
func TestOutageOfRedisThenOfTheRouterUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("outage test: about 40 s of load; not in -short mode")
	}
	w := newWorld(t)
	clk := &clock{}
	clk.set(phWarm)
	logs := newTally(clk)
	s := newSDKs(t, w, logs)

	ctx, stopLoad := context.WithCancel(t.Context())
	done := make(chan *recorder, 1)
	go func() { done <- s.load(ctx, clk, loadWorkers, loadTick, unseenTick) }()
	// The load stops before anything the test started is torn down, even
	// when the test stops early.
	var r *recorder
	finish := sync.OnceFunc(func() { stopLoad(); r = <-done })
	defer finish()

	var took [numPhases]time.Duration
	var stale [numPhases][]string
	enter := func(p phase) {
		if cur := clk.now(); cur != nil {
			took[cur.p] = time.Since(cur.start)
		}
		clk.set(p)
	}
	s.hold(warmup)

	// Redis stops for 10 s and returns empty.
	enter(phRedisStopping)
	w.redis.Stop(t)
	enter(phRedisDown)
	stale[phRedisDown] = s.hold(outage)
	authStaleAtEnd, privStaleAtEnd := s.auth.Staleness(), s.priv.Staleness()
	enter(phRedisStarting)
	w.redis.Start(t)
	enter(phRedisBack)
	redisRecovery := s.recover(t, w, time.Now())
	s.hold(settle)

	// The router stops for 10 s and returns on the same port.
	enter(phRouterStopping)
	w.gr.Stop(t)
	enter(phRouterDown)
	stale[phRouterDown] = s.hold(outage)
	routerStaleAtEnd := s.router.Staleness()
	enter(phRouterStarting)
	w.gr.Start(t)
	enter(phRouterBack)
	routerRecovery := s.recover(t, w, time.Now())
	s.hold(settle)
	enter(phRouterBack) // records how long the last phase took
	finish()

	logPhases(t, r, took)
	logSeconds(t, r, phRedisDown, stale[phRedisDown])
	logSeconds(t, r, phRouterDown, stale[phRouterDown])
	t.Logf("recovery after Redis returned (empty), from when it answered:\n%s", redisRecovery)
	t.Logf("recovery after the router returned, from when /readyz answered 200:\n%s", routerRecovery)
	t.Logf("what the SDK clients logged:\n%s", logs)

	// The outages were real: the SDK saw its dependencies go away.
	if authStaleAtEnd < outage-time.Second || privStaleAtEnd < outage-time.Second {
		t.Errorf("at the end of the Redis outage the revocation state was %v old and the policy versions %v; want about %v: did Redis stop?", authStaleAtEnd, privStaleAtEnd, outage)
	}
	if routerStaleAtEnd < outage-time.Second {
		t.Errorf("at the end of the router outage the routing snapshot was confirmed %v ago; want about %v: did the router stop?", routerStaleAtEnd, outage)
	}
	checkNothingFailed(t, r)
	checkStrictAuth(t, r)
	checkPrivilegeTTL(t, r)
	checkUnseen(t, r)
	redisRecovery.check(t, "Redis")
	routerRecovery.check(t, "the router")
}

// newSDKs starts every SDK client against w and learns the answers they
// must keep giving: each tenant's version for each sticky key, each
// token's subject, each seen check's answer.
func newSDKs(t *testing.T, w *world, logs *tally) *sdks {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	s := &sdks{}
	rdb := w.redis.Client(t)

	var err error
	s.router, err = router.NewLocal(ctx, router.LocalConfig{
		RouterURL: w.gr.URL, Tokens: router.StaticToken(w.platformClient), PollWait: pollWait,
		SnapshotFile: filepath.Join(t.TempDir(), "routing-snapshot.json"), Logger: logs.logger("router"),
	})
	if err != nil {
		t.Fatalf("router.NewLocal: %v", err)
	}
	t.Cleanup(s.router.Close)
	newAuth := func(maxStale time.Duration, name string) *auth.Authenticator {
		a, err := auth.New(ctx, auth.Config{Issuer: "greyrouter", Audience: "greyrouter", BaseURL: w.gr.URL,
			Redis: rdb, MaxStaleness: maxStale, Log: logs.logger(name)})
		if err != nil {
			t.Fatalf("auth.New: %v", err)
		}
		t.Cleanup(a.Close)
		return a
	}
	// The default MaxStaleness (1 m, as greyrouter's own) outlasts the
	// outage; the strict one does not.
	s.auth, s.authStrict = newAuth(0, "auth"), newAuth(strictStaleness, "auth strict")
	newPriv := func(o privilege.Options, name string) *privilege.Client {
		o.BaseURL, o.Log = w.gr.URL, logs.logger(name)
		o.TokenSource = func(context.Context) (string, error) { return w.checkoutClient, nil }
		c, err := privilege.New(ctx, o)
		if err != nil {
			t.Fatalf("privilege.New: %v", err)
		}
		t.Cleanup(c.Close)
		return c
	}
	s.priv = newPriv(privilege.Options{Redis: rdb}, "privilege")
	s.privTTL = newPriv(privilege.Options{MaxStale: ttlMaxStale}, "privilege ttl")

	// Routing: every key of every tenant decided once; the split must be
	// live for the test to mean anything.
	s.resolveTenants = knownTenants
	s.wantVersion = map[string]string{}
	seen := map[string]bool{}
	for i := range 64 {
		s.resolveKeys = append(s.resolveKeys, fmt.Sprintf("user-%d", i))
	}
	for _, tn := range s.resolveTenants {
		for _, k := range s.resolveKeys {
			in, err := s.router.Resolve(ctx, tn, "orders", router.ResolveOptions{Key: k})
			if err != nil {
				t.Fatalf("Resolve(%s, orders, %s) before the outage: %v", tn, k, err)
			}
			s.wantVersion[tn+"/"+k] = in.Version
			seen[tn+"/"+in.Version] = true
		}
	}
	if !seen["acme/v1"] || !seen["acme/v2"] || seen["globex/v1"] || seen["initech/v2"] {
		t.Fatalf("versions decided before the outage %v: want acme split over v1 and v2, globex on v2, initech on v1", slices.Sorted(maps.Keys(seen)))
	}

	// Tokens: each verifies as its subject; the revoked one is refused.
	for _, subject := range slices.Sorted(maps.Keys(w.tokens)) {
		s.tokens = append(s.tokens, tokenWant{token: w.tokens[subject], subject: subject})
	}
	s.revoked = w.revoked
	for _, a := range []*auth.Authenticator{s.auth, s.authStrict} {
		for _, tw := range s.tokens {
			if p, err := a.Verify(ctx, tw.token); err != nil || p.Subject != tw.subject {
				t.Fatalf("Verify(token of %s) before the outage = %+v, %v", tw.subject, p, err)
			}
		}
		if _, err := a.Verify(ctx, s.revoked); err == nil {
			t.Fatal("a logged-out token verified before the outage")
		}
	}

	// Checks: readers may read orders, the stranger may not; both clients
	// learn every answer before the outage.
	for i := range orderResources {
		res := fmt.Sprintf("orders/%d", i)
		for _, r := range readers {
			s.checks = append(s.checks, checkWant{req: checkReq(r, res), allowed: true})
		}
		s.checks = append(s.checks, checkWant{req: checkReq(stranger, res), allowed: false})
	}
	for _, cw := range s.checks {
		if cw.allowed {
			s.ttlChecks = append(s.ttlChecks, cw)
		}
	}
	for _, c := range []*privilege.Client{s.priv, s.privTTL} {
		for _, cw := range s.checks {
			if d, err := c.Check(ctx, cw.req, privilege.CheckOptions{}); err != nil || d.Allowed != cw.allowed {
				t.Fatalf("Check(%+v) before the outage = %+v, %v; want allowed=%v", cw.req, d, err, cw.allowed)
			}
		}
	}
	return s
}

// hold lets the load run for d, noting each second the staleness the
// router client, the authenticator and the privilege client report.
func (s *sdks) hold(d time.Duration) []string {
	start := time.Now()
	var out []string
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for range tick.C {
		el := time.Since(start)
		if int(el/time.Second) >= len(out) {
			out = append(out, fmt.Sprintf("%v/%v/%v", s.router.Staleness().Round(100*time.Millisecond),
				s.auth.Staleness().Round(100*time.Millisecond), s.priv.Staleness().Round(100*time.Millisecond)))
		}
		if el >= d {
			return out
		}
	}
	return out
}
