package privilege_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/internal/httpx"
	"github.com/greyrouter/greyrouter/internal/testutil"
	"github.com/greyrouter/greyrouter/login"
	domain "github.com/greyrouter/greyrouter/privilege"
	"github.com/greyrouter/greyrouter/privilege/httpapi"
	"github.com/greyrouter/greyrouter/privilege/service"
	"github.com/greyrouter/greyrouter/privilege/sqlstore"
	"github.com/greyrouter/greyrouter/sdk/privilege"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode)
	os.Exit(testutil.RunMain(m))
}

// greyrouter is a real privilege service in process: the service on a
// SQLite store and a real Redis, its HTTP API on a loopback port that
// can be stopped and started again on the same address, behind a stub
// authentication that takes the principal from the bearer token (the
// real one is login's, covered end to end in cmd).
type greyrouter struct {
	svc   *service.Service
	redis *testutil.RedisServer
	rdb   *redis.Client
	addr  string
	// checks counts the check requests the API received.
	checks atomic.Int64

	handler http.Handler
	mu      sync.Mutex
	srv     *http.Server
}

// machine clients the stub knows, by bearer token.
var machines = map[string]login.Principal{
	"acme-checkout":   {Kind: login.PrincipalClient, Subject: "gc-checkout", Tenant: "acme", Name: "checkout"},
	"globex-checkout": {Kind: login.PrincipalClient, Subject: "gc-globex", Tenant: "globex", Name: "checkout"},
}

func newGreyrouter(t testing.TB) *greyrouter {
	t.Helper()
	store := sqlstore.New(testutil.MigratedDB(t, "").Gorm)
	rs := testutil.Redis(t)
	g := &greyrouter{redis: rs, rdb: rs.Client(t)}
	svc, err := service.New(t.Context(), store, service.Options{Redis: g.rdb, Audit: store})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	g.svc = svc
	r := gin.New()
	r.ContextWithFallback = true
	httpapi.New(httpapi.Config{Service: svc}).Routes(r, stubAuth)
	g.handler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.HasSuffix(req.URL.Path, "/privilege/check") {
			g.checks.Add(1)
		}
		r.ServeHTTP(w, req)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g.addr = ln.Addr().String()
	g.serve(ln)
	t.Cleanup(g.Stop)
	return g
}

func stubAuth(c *gin.Context) {
	token, _ := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
	p, ok := machines[token]
	if !ok {
		httpx.WriteError(c, nil, apperr.New(apperr.Unauthenticated, "missing or invalid credential"))
		return
	}
	httpx.SetPrincipal(c, p)
	c.Next()
}

func (g *greyrouter) serve(ln net.Listener) {
	srv := &http.Server{Handler: g.handler, ReadHeaderTimeout: 5 * time.Second}
	g.mu.Lock()
	g.srv = srv
	g.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// URL is the API's base URL.
func (g *greyrouter) URL() string { return "http://" + g.addr }

// Stop closes the API's listener and connections: checks get connection
// errors, as in an outage.
func (g *greyrouter) Stop() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.srv != nil {
		_ = g.srv.Close()
		g.srv = nil
	}
}

// Start serves the API again on the same address.
func (g *greyrouter) Start(t testing.TB) {
	t.Helper()
	var ln net.Listener
	var err error
	for range 50 { // the port was ours a moment ago
		if ln, err = net.Listen("tcp", g.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("listen on %s again: %v", g.addr, err)
	}
	g.serve(ln)
}

// client returns an SDK client of acme's checkout service against g,
// closed when the test ends; withRedis follows g's Redis.
func (g *greyrouter) client(t testing.TB, withRedis bool, o privilege.Options) *privilege.Client {
	t.Helper()
	o.BaseURL = g.URL()
	if o.TokenSource == nil {
		o.TokenSource = func(context.Context) (string, error) { return "acme-checkout", nil }
	}
	if withRedis {
		// A client of its own: stopping Redis must not close g's.
		rdb := redis.NewClient(&redis.Options{Addr: g.redis.Addr, DialTimeout: 200 * time.Millisecond, ReadTimeout: 500 * time.Millisecond, MaxRetries: -1})
		t.Cleanup(func() { _ = rdb.Close() })
		o.Redis = rdb
	}
	c, err := privilege.New(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// grant gives subject a role reader (read orders/*) in tenant.
func (g *greyrouter) grant(t testing.TB, tenant, subject string) service.Token {
	t.Helper()
	tok, err := g.svc.Write(t.Context(), tenant, "test", "grant", func(tx domain.Tx) error {
		if err := tx.PutRole(context.Background(), domain.Role{Tenant: tenant, Name: "reader",
			Permissions: []domain.Permission{{Resource: "orders/*", Action: "read"}}}); err != nil {
			return err
		}
		return tx.PutAssignment(context.Background(), domain.Assignment{Tenant: tenant, Subject: subject, Role: "reader"})
	})
	if err != nil {
		t.Fatalf("grant: %v", err)
	}
	return tok
}

// revoke takes the role reader from subject.
func (g *greyrouter) revoke(t testing.TB, tenant, subject string) service.Token {
	t.Helper()
	tok, err := g.svc.Write(t.Context(), tenant, "test", "revoke", func(tx domain.Tx) error {
		return tx.DeleteAssignment(context.Background(), subject, "reader")
	})
	if err != nil {
		t.Fatalf("revoke: %v", err)
	}
	return tok
}

// ownerPolicy lets anyone act on an order they own: an ABAC policy
// comparing resource.owner with subject.id.
func (g *greyrouter) ownerPolicy(t testing.TB, tenant string) {
	t.Helper()
	var p domain.Policy
	if err := json.Unmarshal([]byte(`{"id": "owners", "target": {"resources": ["orders/*"], "actions": ["update"]},
		"rules": [{"id": "owner", "effect": "permit", "condition": {"attr": "resource.owner", "op": "eq", "ref": "subject.id"}}]}`), &p); err != nil {
		t.Fatal(err)
	}
	_, err := g.svc.Write(t.Context(), tenant, "test", "owner policy", func(tx domain.Tx) error {
		if err := tx.PutSettings(context.Background(), domain.Settings{Schema: map[string]string{"resource.owner": "string"}}); err != nil {
			return err
		}
		return tx.PutPolicy(context.Background(), p)
	})
	if err != nil {
		t.Fatalf("owner policy: %v, %v", err, apperr.DetailsOf(err))
	}
}

func req(tenant, subject, action, resource string) privilege.Request {
	return privilege.Request{Tenant: tenant, Subject: privilege.Subject{ID: subject}, Action: action, Resource: privilege.Resource{Name: resource}}
}

func check(t testing.TB, c *privilege.Client, r privilege.Request, o privilege.CheckOptions) privilege.Decision {
	t.Helper()
	d, err := c.Check(t.Context(), r, o)
	if err != nil {
		t.Fatalf("check %+v: %v", r, err)
	}
	return d
}

// eventually retries cond until it holds or a deadline passes, and
// returns how long it took.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return time.Since(start)
}

// apiError returns err as *privilege.Error, failing the test otherwise.
func apiError(t testing.TB, err error) *privilege.Error {
	t.Helper()
	var e *privilege.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T), want *privilege.Error", err, err)
	}
	return e
}
