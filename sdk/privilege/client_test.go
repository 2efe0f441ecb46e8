package privilege_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/sdk/privilege"
)

func TestChecksAreAnsweredRemotelyOnceThenFromTheCache(t *testing.T) {
	g := newGreyrouter(t)
	g.grant(t, "acme", "alice")
	for _, withRedis := range []bool{false, true} {
		name := map[bool]string{false: "without Redis", true: "following Redis"}[withRedis]
		t.Run(name, func(t *testing.T) {
			c := g.client(t, withRedis, privilege.Options{CacheTTL: time.Minute})
			before := g.checks.Load()
			d := check(t, c, req("acme", "alice", "read", "orders/1"), privilege.CheckOptions{})
			if !d.Allowed || d.Tier == privilege.TierLocal || d.PolicyVersion == 0 || d.Deciding == nil {
				t.Fatalf("first check %+v", d)
			}
			again := check(t, c, req("acme", "alice", "read", "orders/1"), privilege.CheckOptions{})
			if !again.Allowed || again.Tier != privilege.TierLocal || again.Reason != d.Reason || again.PolicyVersion != d.PolicyVersion {
				t.Fatalf("second check %+v, want the first from l1", again)
			}
			denied := check(t, c, req("acme", "bob", "read", "orders/1"), privilege.CheckOptions{})
			if denied.Allowed || denied.ID == "" || denied.Reason == "" {
				t.Fatalf("bob %+v, want denied with a decision id (greyrouter audits every deny)", denied)
			}
			if d := check(t, c, req("acme", "bob", "read", "orders/1"), privilege.CheckOptions{}); d.Allowed || d.Tier != privilege.TierLocal || d.ID != denied.ID {
				t.Fatalf("bob again %+v, want the audited deny from l1", d)
			}
			if n := g.checks.Load() - before; n != 2 {
				t.Fatalf("greyrouter asked %d times for 4 checks of 2 questions", n)
			}
		})
	}
}

// TestWritesReachTheCache measures how long a revocation takes to reach
// a client that holds the allowed answer: the announcement on Redis
// (bar: within a second), or CacheTTL without Redis.
func TestWritesReachTheCache(t *testing.T) {
	g := newGreyrouter(t)
	r := req("acme", "alice", "read", "orders/1")
	t.Run("following Redis, within a second of the write", func(t *testing.T) {
		c := g.client(t, true, privilege.Options{})
		var lags []time.Duration
		for range 10 {
			g.grant(t, "acme", "alice")
			eventually(t, time.Second, "grant reaches the client", func() bool { return check(t, c, r, privilege.CheckOptions{}).Allowed })
			if d := check(t, c, r, privilege.CheckOptions{}); d.Tier != privilege.TierLocal {
				t.Fatalf("not cached: %+v", d)
			}
			g.revoke(t, "acme", "alice")
			lags = append(lags, eventually(t, time.Second, "revocation reaches the client's cache", func() bool { return !check(t, c, r, privilege.CheckOptions{}).Allowed }))
		}
		slices.Sort(lags)
		t.Logf("revocation to denial in the client: median %v, max %v (10 trials)", lags[len(lags)/2], lags[len(lags)-1])
	})
	t.Run("without Redis, within CacheTTL", func(t *testing.T) {
		c := g.client(t, false, privilege.Options{CacheTTL: 300 * time.Millisecond})
		g.grant(t, "acme", "alice")
		check(t, c, r, privilege.CheckOptions{})
		if d := check(t, c, r, privilege.CheckOptions{}); !d.Allowed || d.Tier != privilege.TierLocal {
			t.Fatalf("not cached: %+v", d)
		}
		g.revoke(t, "acme", "alice")
		lag := eventually(t, time.Second, "revocation shows after CacheTTL", func() bool { return !check(t, c, r, privilege.CheckOptions{}).Allowed })
		t.Logf("revocation to denial without Redis: %v (CacheTTL 300 ms)", lag)
	})
}

func TestRevisionTokensAreHonoured(t *testing.T) {
	g := newGreyrouter(t)
	g.grant(t, "acme", "alice")
	// No Redis and a long TTL: only the token can tell.
	c := g.client(t, false, privilege.Options{CacheTTL: time.Hour})
	r := req("acme", "alice", "read", "orders/1")
	check(t, c, r, privilege.CheckOptions{})
	tok := g.revoke(t, "acme", "alice")
	if d := check(t, c, r, privilege.CheckOptions{}); !d.Allowed || d.Tier != privilege.TierLocal {
		t.Fatalf("without the token the cached answer stands (bounded by CacheTTL), got %+v", d)
	}
	d := check(t, c, r, privilege.CheckOptions{AtLeast: tok.String()})
	if d.Allowed || d.PolicyVersion < tok.Version || d.Tier == privilege.TierLocal {
		t.Fatalf("with the revocation's token %s: %+v", tok, d)
	}
	// The answer taught the client the newer version: the old entry is
	// out of reach without the token too.
	if d := check(t, c, r, privilege.CheckOptions{}); d.Allowed {
		t.Fatalf("after a fresher answer the older one came back: %+v", d)
	}
	if d := check(t, c, r, privilege.CheckOptions{AtLeast: tok.String()}); d.Allowed || d.Tier != privilege.TierLocal {
		t.Fatalf("the token's version is cached now: %+v", d)
	}

	t.Run("a token of another tenant or a malformed one is refused before asking", func(t *testing.T) {
		before := g.checks.Load()
		for _, bad := range []string{"pv1.3.0.globex", "pv2.3.0.acme", "pv1.x.0.acme", "3"} {
			_, err := c.Check(t.Context(), r, privilege.CheckOptions{AtLeast: bad})
			if e := apiError(t, err); e.Status != 0 || e.Code != "invalid" || e.Details["revision"] == "" {
				t.Errorf("token %q: %+v", bad, e)
			}
		}
		if n := g.checks.Load() - before; n != 0 {
			t.Fatalf("greyrouter asked %d times", n)
		}
	})
	t.Run("a token naming a version greyrouter does not have is an error, not an outage", func(t *testing.T) {
		_, err := c.Check(t.Context(), req("acme", "carol", "read", "orders/1"), privilege.CheckOptions{AtLeast: "pv1.999.0.acme"})
		if e := apiError(t, err); e.Status != http.StatusServiceUnavailable {
			t.Fatalf("%+v", e)
		}
		if d := check(t, c, req("acme", "carol", "read", "orders/2"), privilege.CheckOptions{}); d.Tier == privilege.TierFailClosed {
			t.Fatalf("the refused token made the client treat greyrouter as down: %+v", d)
		}
	})
}

func TestRequestsGreyrouterRefusesAreErrors(t *testing.T) {
	g := newGreyrouter(t)
	c := g.client(t, false, privilege.Options{})
	for name, r := range map[string]privilege.Request{
		"no tenant":     req("", "alice", "read", "orders/1"),
		"a bad tenant":  req("Acme Corp", "alice", "read", "orders/1"),
		"no subject":    req("acme", "", "read", "orders/1"),
		"no action":     req("acme", "alice", "", "orders/1"),
		"no resource":   req("acme", "alice", "read", ""),
		"a bad subject": req("acme", "alice\x00", "read", "orders/1"),
	} {
		_, err := c.Check(t.Context(), r, privilege.CheckOptions{})
		if e, ok := err.(*privilege.Error); !ok || e.Code != "invalid" && e.Code != "unprocessable" {
			t.Errorf("%s: %v", name, err)
		}
	}
	// globex's client may not ask about acme's subjects.
	other := g.client(t, false, privilege.Options{TokenSource: func(context.Context) (string, error) { return "globex-checkout", nil }})
	_, err := other.Check(t.Context(), req("acme", "alice", "read", "orders/1"), privilege.CheckOptions{})
	if e := apiError(t, err); e.Status != http.StatusForbidden || e.Code != "forbidden" {
		t.Fatalf("another tenant's client: %+v", e)
	}
}

func TestConditionalAnswersAreAskedEveryTime(t *testing.T) {
	g := newGreyrouter(t)
	g.ownerPolicy(t, "acme")
	c := g.client(t, true, privilege.Options{})
	owned := privilege.Request{Tenant: "acme", Subject: privilege.Subject{ID: "alice"}, Action: "update",
		Resource: privilege.Resource{Name: "orders/7", Attributes: map[string]any{"owner": "alice"}}}
	before := g.checks.Load()
	for range 2 {
		if d := check(t, c, owned, privilege.CheckOptions{}); !d.Allowed || !d.Conditional {
			t.Fatalf("owner %+v", d)
		}
	}
	notOwned := owned
	notOwned.Resource.Attributes = map[string]any{"owner": "bob"}
	if d := check(t, c, notOwned, privilege.CheckOptions{}); d.Allowed {
		t.Fatalf("not the owner %+v", d)
	}
	if n := g.checks.Load() - before; n != 3 {
		t.Fatalf("greyrouter asked %d times for 3 conditional checks", n)
	}
}
