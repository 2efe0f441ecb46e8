package redisstore_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/greyrouter/greyrouter/internal/testutil"
	"github.com/greyrouter/greyrouter/login/redisstore"
)

// limiterCase is one behaviour of the Limiter, run on every backend.
type limiterCase struct {
	name string
	fn   func(t *testing.T, rdb redis.UniversalClient, lim *redisstore.Limiter)
}

// TestLimiter runs every case against a standalone Redis and a 3-master
// Cluster, one server (or cluster) per backend shared by all cases; each
// case uses subjects named after itself.
func TestLimiter(t *testing.T) {
	cases := []limiterCase{
		{"N-1 failures pass and the Nth locks for the base lockout", testLocksAtLimit},
		{"each lockout after the last one ended doubles up to the cap", testEscalation},
		{"the lockout count restarts after a quiet MaxLockout", testDecay},
		{"failures that left the sliding window do not count", testSlidingWindow},
		{"reset forgets failures but keeps the lockout history", testReset},
		{"accounts, tenants and IPs are counted apart", testIndependence},
		{"CheckAll returns the longest lockout of subjects in different slots", testCheckAll},
		{"CheckAll reloads the script after the cache is flushed", testScriptFlush},
		{"every key has a TTL", testExpiry},
		{"a username with braces and colons keeps its keys in one slot", testHostileUsername},
		{"concurrent failures are counted exactly", testConcurrentFailures},
	}
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		lim := redisstore.New(rdb)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) { c.fn(t, rdb, lim) })
		}
	})
}

// backends runs fn against a standalone Redis and a 3-master Cluster.
func backends(t *testing.T, fn func(t *testing.T, rdb redis.UniversalClient)) {
	testutil.RedisBackends(t, fn)
}

// account returns an account subject of its own for the running test.
func account(t *testing.T) redisstore.Subject {
	return redisstore.AccountSubject("acme", t.Name())
}

func fail(t *testing.T, lim *redisstore.Limiter, s redisstore.Subject, p redisstore.Policy) time.Duration {
	t.Helper()
	d, err := lim.Fail(context.Background(), s, p)
	if err != nil {
		t.Fatalf("Fail(%s): %v", s, err)
	}
	return d
}

func check(t *testing.T, lim *redisstore.Limiter, s redisstore.Subject, p redisstore.Policy) time.Duration {
	t.Helper()
	d, err := lim.Check(context.Background(), s, p)
	if err != nil {
		t.Fatalf("Check(%s): %v", s, err)
	}
	return d
}

// failN reports n failures and fails the test unless each of the first
// n-1 left the subject unlocked; it returns the last one's lockout.
func failN(t *testing.T, lim *redisstore.Limiter, s redisstore.Subject, p redisstore.Policy, n int) time.Duration {
	t.Helper()
	for i := 1; i < n; i++ {
		if d := fail(t, lim, s, p); d != 0 {
			t.Fatalf("failure %d of %d (limit %d) locked %s for %v, want no lockout yet", i, n, p.MaxFailures, s, d)
		}
	}
	return fail(t, lim, s, p)
}

// waitFor polls cond until it holds, failing the test after a deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitUnlocked polls Check until the subject's lockout is over.
func waitUnlocked(t *testing.T, lim *redisstore.Limiter, s redisstore.Subject, p redisstore.Policy) {
	t.Helper()
	waitFor(t, s.String()+" is unlocked", func() bool { return check(t, lim, s, p) == 0 })
}

// redisNow returns the server's clock in ms, the clock the script uses.
func redisNow(t *testing.T, rdb redis.UniversalClient) int64 {
	t.Helper()
	now, err := rdb.Time(context.Background()).Result()
	if err != nil {
		t.Fatalf("TIME: %v", err)
	}
	return now.UnixMilli()
}

func mustIP(s string) redisstore.Subject { return redisstore.IPSubject(netip.MustParseAddr(s)) }

// between fails the test unless lo < d <= hi.
func between(t *testing.T, what string, d, lo, hi time.Duration) {
	t.Helper()
	if d <= lo || d > hi {
		t.Fatalf("%s = %v, want in (%v, %v]", what, d, lo, hi)
	}
}
