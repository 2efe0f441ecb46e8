package privilege_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/sdk/privilege"
)

// TestOutageAnswersFromTheCacheThenFailsClosedAndRecovers stops
// greyrouter's API and its Redis: answers the client had keep flowing
// (from its cache, trusted while the versions were, then as
// local-stale), checks it never saw fail closed at once, nothing waits
// for a timeout, and within 2 s of both returning the client answers
// remotely again.
func TestOutageAnswersFromTheCacheThenFailsClosedAndRecovers(t *testing.T) {
	g := newGreyrouter(t)
	g.grant(t, "acme", "alice")
	// Default poll interval and retry delay; trust shortened so that the
	// outage soon shows both tiers. A remote check may take up to
	// Timeout: no check during the outage may come near it.
	const timeout = 5 * time.Second
	c := g.client(t, true, privilege.Options{VersionsTrust: time.Second, CacheTTL: 200 * time.Millisecond, Timeout: timeout})
	known := req("acme", "alice", "read", "orders/1")
	knownDenied := req("acme", "bob", "read", "orders/1")
	if !check(t, c, known, privilege.CheckOptions{}).Allowed || check(t, c, knownDenied, privilege.CheckOptions{}).Allowed {
		t.Fatal("answers before the outage")
	}

	g.Stop()
	g.redis.Stop(t)
	tiers := map[string]int{}
	var slowest time.Duration
	n := 0
	// At least 3 s, until both tiers of the cached answer were seen.
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end) || tiers[privilege.TierLocalStale] == 0; n++ {
		if time.Since(end) > 10*time.Second {
			break
		}
		start := time.Now()
		d := check(t, c, known, privilege.CheckOptions{})
		if !d.Allowed {
			t.Fatalf("a cached allowed answer was lost during the outage: %+v", d)
		}
		tiers[d.Tier]++
		if d := check(t, c, knownDenied, privilege.CheckOptions{}); d.Allowed {
			t.Fatalf("a cached denial turned into %+v", d)
		}
		unseen := check(t, c, req("acme", "alice", "read", fmt.Sprintf("orders/new-%d", n)), privilege.CheckOptions{})
		if unseen.Allowed || unseen.Tier != privilege.TierFailClosed {
			t.Fatalf("an unseen check during the outage: %+v, want fail-closed", unseen)
		}
		slowest = max(slowest, time.Since(start))
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("during the outage: %d rounds of 3 checks, tiers of the cached answer %v, slowest round %v", n, tiers, slowest)
	if tiers[privilege.TierLocal] == 0 || tiers[privilege.TierLocalStale] == 0 {
		t.Fatalf("tiers %v: want local while the versions were trusted, then local-stale", tiers)
	}
	if slowest > timeout/2 {
		t.Fatalf("a round of checks took %v during the outage; the client must not wait for greyrouter", slowest)
	}

	g.redis.Start(t)
	g.Start(t)
	back := time.Now()
	i := 0
	recovered := eventually(t, 2*time.Second, "an unseen check answered by greyrouter again", func() bool {
		i++
		d := check(t, c, req("acme", "alice", "read", fmt.Sprintf("orders/after-%d", i)), privilege.CheckOptions{})
		return d.Allowed && d.Tier != privilege.TierFailClosed
	})
	eventually(t, 2*time.Second-time.Since(back), "versions confirmed by Redis again", func() bool { return c.Staleness() < time.Second })
	t.Logf("recovered %v after greyrouter and Redis returned; versions confirmed after %v", recovered, time.Since(back))
}

// TestAHangingGreyrouterCostsOneTimeoutNotOnePerRequest points the
// client at a server that accepts checks and never answers: the first
// check waits for Timeout and fails closed, the checks after it fail
// closed at once until RetryAfter has passed, and a caller's own
// deadline ends its check with the context's error, not an answer.
func TestAHangingGreyrouterCostsOneTimeoutNotOnePerRequest(t *testing.T) {
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(hang.Close)
	t.Cleanup(func() { close(release) })
	const timeout = time.Second
	c, err := privilege.New(t.Context(), privilege.Options{BaseURL: hang.URL, Timeout: timeout, RetryAfter: time.Hour,
		TokenSource: func(context.Context) (string, error) { return "t", nil }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Check(ctx, req("acme", "alice", "read", "orders/0"), privilege.CheckOptions{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a check past its caller's deadline: %v, want the context's error", err)
	}

	start := time.Now()
	if d := check(t, c, req("acme", "alice", "read", "orders/1"), privilege.CheckOptions{}); d.Allowed || d.Tier != privilege.TierFailClosed {
		t.Fatalf("first check %+v", d)
	}
	if waited := time.Since(start); waited < timeout {
		t.Fatalf("the first check gave up after %v, before Timeout (%v): the caller's expired deadline counted as an outage", waited, timeout)
	}
	start = time.Now()
	for i := range 50 {
		if d := check(t, c, req("acme", "alice", "read", fmt.Sprintf("orders/%d", i+2)), privilege.CheckOptions{}); d.Tier != privilege.TierFailClosed {
			t.Fatalf("check %d: %+v", i, d)
		}
	}
	if took := time.Since(start); took >= timeout {
		t.Fatalf("50 checks after a timeout took %v: they waited for greyrouter again", took)
	}
}

// TestAWriteMadeWhileRedisWasAwayReachesTheClientWhenItReturns revokes
// while Redis is down (the announcement is lost, and Redis comes back
// empty): greyrouter's next poll of its database raises the versions
// hash again, and the client, which trusts its cache on the versions
// alone here, hears of the change.
func TestAWriteMadeWhileRedisWasAwayReachesTheClientWhenItReturns(t *testing.T) {
	g := newGreyrouter(t)
	g.grant(t, "acme", "alice")
	// Only the versions can retire the cached answer.
	c := g.client(t, true, privilege.Options{CacheTTL: time.Hour, VersionsTrust: time.Hour})
	r := req("acme", "alice", "read", "orders/1")
	check(t, c, r, privilege.CheckOptions{})
	if d := check(t, c, r, privilege.CheckOptions{}); !d.Allowed || d.Tier != privilege.TierLocal {
		t.Fatalf("not cached: %+v", d)
	}
	g.redis.Stop(t)
	g.revoke(t, "acme", "alice")
	g.redis.Start(t)
	lag := eventually(t, 5*time.Second, "the revocation reaches the client", func() bool { return !check(t, c, r, privilege.CheckOptions{}).Allowed })
	t.Logf("revocation heard %v after Redis returned", lag)
}

// TestWithRedisAwayAChangeShowsWithinVersionsTrustAndCacheTTL stops
// only Redis: checks keep being answered by greyrouter, none fails
// closed, and a revocation made meanwhile shows once the versions are no
// longer trusted and the cached answer is older than CacheTTL.
func TestWithRedisAwayAChangeShowsWithinVersionsTrustAndCacheTTL(t *testing.T) {
	g := newGreyrouter(t)
	g.grant(t, "acme", "alice")
	const trust, ttl = 500 * time.Millisecond, 300 * time.Millisecond
	c := g.client(t, true, privilege.Options{VersionsTrust: trust, CacheTTL: ttl})
	r := req("acme", "alice", "read", "orders/1")
	check(t, c, r, privilege.CheckOptions{})
	g.redis.Stop(t)
	g.revoke(t, "acme", "alice") // not announced: Redis is away
	lag := eventually(t, trust+ttl+time.Second, "the revocation shows without Redis", func() bool {
		d := check(t, c, r, privilege.CheckOptions{})
		if d.Tier == privilege.TierFailClosed || d.Tier == privilege.TierLocalStale {
			t.Fatalf("greyrouter is up, yet %+v", d)
		}
		return !d.Allowed
	})
	t.Logf("revocation shown %v after the write, Redis away (VersionsTrust %v, CacheTTL %v)", lag, trust, ttl)
	g.redis.Start(t)
	eventually(t, 2*time.Second, "versions confirmed again after Redis returns", func() bool { return c.Staleness() < time.Second })
}
