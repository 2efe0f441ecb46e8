package router

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/internal/httpx"
	"github.com/greyrouter/greyrouter/internal/testutil"
	"github.com/greyrouter/greyrouter/login"
	routing "github.com/greyrouter/greyrouter/router"
	"github.com/greyrouter/greyrouter/router/httpapi"
	"github.com/greyrouter/greyrouter/router/redisstore"
	"github.com/greyrouter/greyrouter/router/sqlstore"
)

// Test credentials, each standing for one kind of principal.
const (
	platformToken    = "platform-token"     // platform administrator
	clientToken      = "client-t00-token"   // machine client of tenant t00
	userToken        = "user-t00-token"     // tenant administrator of t00 (a person)
	platformClientTk = "platform-client-tk" // platform machine client
)

var principals = map[string]login.Principal{
	platformToken:    {Kind: login.PrincipalUser, Subject: "root", Name: "root", Platform: true, Admin: true},
	clientToken:      {Kind: login.PrincipalClient, Subject: "orders-caller", Tenant: "t00"},
	userToken:        {Kind: login.PrincipalUser, Subject: "u1", Name: "ann", Tenant: "t00", Admin: true},
	platformClientTk: {Kind: login.PrincipalClient, Subject: "mesh", Platform: true},
}

// authenticate stands in for login's middleware: a bearer token from the
// table above, or 401.
func authenticate(c *gin.Context) {
	tok, _ := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
	p, ok := principals[tok]
	if !ok {
		httpx.WriteError(c, nil, apperr.New(apperr.Unauthenticated, "missing or invalid bearer token"))
		return
	}
	httpx.SetPrincipal(c, p)
	c.Next()
}

// harness is a real router: Manager over SQLite and a private Redis, its
// HTTP API on a loopback server.
type harness struct {
	m   *routing.Manager
	rdb *redis.Client
	srv *httptest.Server
	// down simulates an outage of the router (see outage).
	down atomic.Bool
}

// newHarness starts a router (SQLite, a real Redis, its HTTP API);
// configure adjusts the API's configuration.
func newHarness(t testing.TB, configure ...func(*httpapi.Config)) *harness {
	t.Helper()
	db := testutil.MigratedDB(t, "")
	rdb := testutil.Redis(t).Client(t)
	rs := redisstore.New(rdb)
	log := slog.New(slog.DiscardHandler)
	m := routing.NewManager(sqlstore.New(db.Gorm, db.Dialect()), rs, rs, log, nil)
	cfg := httpapi.Config{Manager: m, Log: log, Authenticate: authenticate, Registry: prometheus.NewRegistry()}
	for _, c := range configure {
		c(&cfg)
	}
	api := httpapi.New(cfg)
	h := &harness{m: m, rdb: rdb}
	handler := api.Handler()
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.down.Load() {
			// An outage: the connection drops without an answer.
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				_ = conn.Close()
			}
			return
		}
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// outage makes the router unreachable (down) or reachable again: new
// requests have their connection dropped, requests in progress too.
func (h *harness) outage(down bool) {
	h.down.Store(down)
	if down {
		h.srv.CloseClientConnections()
	}
}

// local starts a local client on the harness with the platform token.
func (h *harness) local(t testing.TB, cfg LocalConfig) *Client {
	t.Helper()
	if cfg.RouterURL == "" {
		cfg.RouterURL = h.srv.URL
	}
	if cfg.Tokens == nil {
		cfg.Tokens = StaticToken(platformClientTk)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := NewLocal(ctx, cfg)
	if err != nil {
		t.Fatalf("NewLocal: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

func must[T any](t testing.TB) func(T, routing.Revision, error) T {
	return func(v T, _ routing.Revision, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// seedOrders creates tenants t00 and t01 and service orders (round robin,
// default v1) with versions v1 and v2, two instances each.
func (h *harness) seedOrders(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	for _, name := range []string{"t00", "t01"} {
		must[routing.Tenant](t)(h.m.CreateTenant(ctx, "test", routing.Tenant{Name: name}))
	}
	svc := routing.Service{Name: "orders", Strategy: routing.RoundRobin, LeaseSeconds: 30, Circuit: routing.DefaultCircuitPolicy()}
	must[routing.Service](t)(h.m.CreateService(ctx, "test", svc))
	for _, v := range []string{"v1", "v2"} {
		must[routing.Version](t)(h.m.CreateVersion(ctx, "test", routing.Version{Service: "orders", Name: v}))
		for _, n := range []string{"a", "b"} {
			if _, err := h.m.RegisterInstance(ctx, routing.Instance{ID: v + n, Service: "orders", Version: v,
				Address: v + n + ".local:80", Enabled: true}); err != nil {
				t.Fatal(err)
			}
		}
	}
	svc.DefaultVersion = "v1"
	must[routing.Service](t)(h.m.UpdateService(ctx, "test", svc))
}

// eventually polls cond every 10 ms until it holds or the deadline passes.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// get sends GET to the harness with a token and returns status and body.
func (h *harness) get(t testing.TB, path, token string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.srv.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// errClass names the SDK error kind of err, "" for nil.
func errClass(err error) string {
	for _, e := range []error{ErrNotFound, ErrUnavailable, ErrInvalid, ErrDenied} {
		if errors.Is(err, e) {
			return e.Error()
		}
	}
	if err != nil {
		return "other: " + err.Error()
	}
	return ""
}
