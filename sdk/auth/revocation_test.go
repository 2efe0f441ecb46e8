package auth_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/internal/httpx"
	"github.com/greyrouter/greyrouter/sdk/auth"
)

// notificationsOnly makes the feed's pub/sub notification the only way a
// revocation can arrive within the test: the fallback poll is a minute.
func notificationsOnly(c *auth.Config) {
	c.PollInterval = time.Minute
	c.MaxStaleness = -1
}

func TestRevokedTokensAreRejectedBySeparateServicesWithinASecond(t *testing.T) {
	g := newGreyrouter(t)
	// Two services, each with its own Authenticator and Redis connection,
	// as two processes would have.
	services := map[string]string{
		"net/http": netHTTPService(t, g.authenticator(t, notificationsOnly)) + "/whoami",
		"gin":      ginService(t, g.authenticator(t, notificationsOnly)) + "/whoami",
	}
	bystander := g.login(t, "acme", "bystander").AccessToken
	cases := []struct {
		name   string
		revoke func(t *testing.T, token string)
	}{
		{"logout", func(t *testing.T, token string) {
			g.must(t, http.StatusNoContent, "POST", "/api/v1/logout", token, nil, nil)
		}},
		{"revocation of the access token (RFC 7009)", func(t *testing.T, token string) {
			g.must(t, http.StatusOK, "POST", "/api/v1/revoke", "", map[string]any{"token": token}, nil)
		}},
		{"logout everywhere", func(t *testing.T, token string) {
			g.must(t, http.StatusNoContent, "POST", "/api/v1/me/logout-everywhere", token, nil, nil)
		}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			token := g.login(t, "acme", "user"+string(rune('a'+i))).AccessToken
			for _, url := range services {
				get(t, url, bearerOf(token)).principal(t) // accepted, and now cached
			}
			start := time.Now()
			c.revoke(t, token)
			for kind, url := range services {
				var last reply
				if !eventually(time.Second-time.Since(start), func() bool {
					last = get(t, url, bearerOf(token))
					return last.status == http.StatusUnauthorized
				}) {
					t.Fatalf("%s: still answers %d a second after the revocation", kind, last.status)
				}
				var body httpx.ErrorBody
				if err := json.Unmarshal(last.body, &body); err != nil || body.Error.Message != "access token revoked" {
					t.Errorf("%s: body %s, want the revoked message", kind, last.body)
				}
				t.Logf("%s rejects the token %s after the revocation was sent", kind, time.Since(start).Round(time.Microsecond))
			}
			for kind, url := range services {
				if w := get(t, url, bearerOf(bystander)).principal(t); w.Name != "bystander" {
					t.Errorf("%s: bystander seen as %+v", kind, w)
				}
			}
		})
	}
}

func TestStaleRevocationStateIsRefusedOrAcceptedAsConfigured(t *testing.T) {
	g := newGreyrouter(t)
	const maxStale = 300 * time.Millisecond
	var logs syncBuffer
	stale := func(accept bool) func(*auth.Config) {
		return func(c *auth.Config) {
			c.PollInterval, c.MaxStaleness, c.AcceptWhenStale = 50*time.Millisecond, maxStale, accept
			c.Log = slog.New(slog.NewTextHandler(&logs, nil))
		}
	}
	rejecting := g.authenticator(t, stale(false))
	accepting := g.authenticator(t, stale(true))
	services := map[string]string{"reject": netHTTPService(t, rejecting) + "/whoami", "accept": ginService(t, accepting) + "/whoami"}
	token := g.login(t, "acme", "alice").AccessToken
	for _, url := range services {
		get(t, url, bearerOf(token)).principal(t)
	}

	g.redis.Stop(t) // the feed can no longer be read
	var last reply
	if !eventually(10*time.Second, func() bool {
		last = get(t, services["reject"], bearerOf(token))
		return last.status == http.StatusServiceUnavailable
	}) {
		t.Fatalf("with Redis down, the rejecting service still answers %d: %s", last.status, last.body)
	}
	if rejecting.Staleness() <= maxStale {
		t.Errorf("refused at staleness %s, within the %s allowed", rejecting.Staleness(), maxStale)
	}
	var body httpx.ErrorBody
	if err := json.Unmarshal(last.body, &body); err != nil || body.Error.Code != apperr.Unavailable || body.Error.Message != "revocation state is stale" {
		t.Errorf("503 body %s", last.body)
	}
	if last.header.Get("Retry-After") != "1" || last.header.Get("WWW-Authenticate") != "" {
		t.Errorf("503 headers %v", last.header)
	}

	if !eventually(10*time.Second, func() bool { return accepting.Staleness() > maxStale }) {
		t.Fatal("the accepting service's state never went stale")
	}
	if w := get(t, services["accept"], bearerOf(token)).principal(t); w.Name != "alice" {
		t.Errorf("the accepting service saw %+v", w)
	}
	if !eventually(10*time.Second, func() bool { return strings.Count(logs.String(), `msg="revocation state is stale: `) == 2 }) {
		t.Errorf("each service should log the stale state once:\n%s", logs.String())
	}

	g.redis.Start(t)
	if !eventually(10*time.Second, func() bool {
		last = get(t, services["reject"], bearerOf(token))
		return last.status == http.StatusOK
	}) {
		t.Fatalf("with Redis back, the rejecting service still answers %d: %s", last.status, last.body)
	}
	if !eventually(10*time.Second, func() bool { return strings.Count(logs.String(), `msg="revocation state is current again"`) == 2 }) {
		t.Errorf("each service should log the recovery once:\n%s", logs.String())
	}
}
