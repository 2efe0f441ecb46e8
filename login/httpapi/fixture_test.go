package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/internal/httpx"
	"github.com/greyrouter/greyrouter/internal/testutil"
	"github.com/greyrouter/greyrouter/login"
	"github.com/greyrouter/greyrouter/login/httpapi"
	"github.com/greyrouter/greyrouter/login/redisstore"
	"github.com/greyrouter/greyrouter/login/sqlstore"
	"github.com/greyrouter/greyrouter/login/verify"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode)
	os.Exit(testutil.RunMain(m))
}

// The policy every fixture runs with.
const (
	bootstrapToken = "bootstrap-token-for-tests-only-0123456789"
	issuer         = "https://login.greyrouter.test"
	audience       = "greyrouter"
	sessionIdle    = 30 * time.Minute
	sessionLife    = 8 * time.Hour
	tokenLifetime  = 5 * time.Minute
	leeway         = 30 * time.Second
)

// tenants are the tenants that exist in every fixture.
var tenants = map[string]bool{"acme": true, "globex": true}

// backends are the databases every test runs on.
var backends = []struct {
	name string
	url  func(t testing.TB) string
}{
	{"SQLite", func(testing.TB) string { return "" }},
	{"PostgreSQL", testutil.Postgres},
}

// onEveryBackend runs fn once per database, each with a fixture of its
// own (its own database, Redis server and clock).
func onEveryBackend(t *testing.T, fn func(t *testing.T, f *fixture)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { fn(t, newFixture(t, b.url(t))) })
	}
}

// clock is the controllable time of a fixture; it starts at the real time
// so that Redis key TTLs (real time) never end before the logical expiry.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fixture is a real login service (SQL store, Redis sessions, throttle
// and revocation feed, argon2id, signed tokens, a verifier following the
// feed) served over HTTP.
type fixture struct {
	t       *testing.T
	url     string
	clock   *clock
	svc     *login.Service
	store   *sqlstore.Store
	limiter *redisstore.Limiter
	audit   *login.AuditLog
}

func newFixture(t *testing.T, dbURL string) *fixture {
	t.Helper()
	ctx := t.Context()
	clk := &clock{now: time.Now().UTC()}
	log := slog.New(slog.DiscardHandler)

	store := sqlstore.New(testutil.MigratedDB(t, dbURL).Gorm)
	rdb := testutil.Redis(t).Client(t)

	ring, err := login.NewKeyRing(store, login.KeyRingConfig{
		MaxTokenLifetime: tokenLifetime + leeway, KEK: mustKEK(t),
	}, clk.Now)
	if err != nil {
		t.Fatalf("NewKeyRing: %v", err)
	}
	if err := ring.Load(ctx); err != nil {
		t.Fatalf("load key ring: %v", err)
	}
	revs := verify.NewRevocations(clk.Now)
	verifier, err := verify.New(verify.Config{
		Issuer: issuer, Audience: audience, Keys: ring,
		Revocations: revs, Leeway: leeway, Now: clk.Now,
	})
	if err != nil {
		t.Fatalf("verify.New: %v", err)
	}
	feed := redisstore.NewFeed(rdb)
	followCtx, stop := context.WithCancel(context.Background())
	followed := make(chan struct{})
	go func() {
		defer close(followed)
		_ = revs.Follow(followCtx, feed, feed.Notifications(followCtx), time.Second)
	}()
	t.Cleanup(func() { stop(); <-followed })

	// The real cost (the OWASP floor): the enumeration test compares
	// timings, and Hasher accepts nothing cheaper from outside package
	// login.
	hasher, err := login.NewHasher(login.DefaultPasswordParams(), 4)
	if err != nil {
		t.Fatalf("NewHasher: %v", err)
	}
	audit := login.NewAuditLog(store, log, 0)
	t.Cleanup(func() { _ = audit.Close(context.Background()) })
	limiter := redisstore.New(rdb)
	throttle := redisstore.NewThrottle(limiter, redisstore.AccountPolicy(), redisstore.IPPolicy())
	svc := login.NewService(login.ServiceConfig{
		SessionIdle: sessionIdle, SessionLifetime: sessionLife, MaxTokenLifetime: tokenLifetime + leeway,
	}, login.ServiceDeps{
		Users: store, Clients: store, Sessions: redisstore.NewSessions(rdb), Revocations: store,
		Feed: feed, Sink: revs,
		Authenticator: login.NewAuthenticator(store, hasher, throttle, audit, log, clk.Now),
		Hasher:        hasher,
		Issuer:        login.NewIssuer(ring, login.TokenConfig{Issuer: issuer, Audience: []string{audience}, Lifetime: tokenLifetime}, clk.Now),
		Verifier:      verifier,
		Audit:         audit,
		TenantExists: func(_ context.Context, tenant string) error {
			if !tenants[tenant] {
				return apperr.New(apperr.NotFound, "tenant %q not found", tenant)
			}
			return nil
		},
		Log: log,
		Now: clk.Now,
	})
	api := httpapi.New(httpapi.Config{
		Service: svc, Keys: ring, Audit: store, BootstrapToken: bootstrapToken,
		Issuer: issuer, Log: log, Now: clk.Now,
	})

	srv := httptest.NewServer(newEngine(t, api))
	t.Cleanup(srv.Close)
	return &fixture{t: t, url: srv.URL, clock: clk, svc: svc, store: store, limiter: limiter, audit: audit}
}

// newEngine builds a gin engine as the binary does: no trusted proxies,
// JSON for unknown routes and for panics.
func newEngine(t *testing.T, api *httpapi.API) *gin.Engine {
	r := gin.New()
	if err := r.SetTrustedProxies(nil); err != nil {
		t.Fatalf("SetTrustedProxies: %v", err)
	}
	r.Use(func(c *gin.Context) {
		defer func() {
			if v := recover(); v != nil {
				t.Errorf("panic in %s %s: %v", c.Request.Method, c.Request.URL.Path, v)
				c.AbortWithStatusJSON(http.StatusInternalServerError, httpx.ErrorBody{Error: httpx.ErrorDoc{Code: apperr.Internal, Message: "internal error"}})
			}
		}()
		c.Next()
	})
	r.NoRoute(func(c *gin.Context) {
		httpx.WriteError(c, nil, apperr.New(apperr.NotFound, "no such route: %s %s", c.Request.Method, c.Request.URL.Path))
	})
	api.Routes(r)
	return r
}

func mustKEK(t *testing.T) []byte {
	kek, err := login.ParseKEK(login.NewKEK())
	if err != nil {
		t.Fatalf("ParseKEK: %v", err)
	}
	return kek
}

// response is a finished HTTP exchange.
type response struct {
	*http.Response
	body []byte
}

// want fails the test unless the status is status.
func (r response) want(t *testing.T, status int) response {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d; body %s", r.Request.Method, r.Request.URL.Path, r.StatusCode, status, r.body)
	}
	return r
}

// decode unmarshals the body into v.
func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("%s %s: decode %s: %v", r.Request.Method, r.Request.URL.Path, r.body, err)
	}
}

// errorBody decodes the one JSON error shape.
func (r response) errorBody(t *testing.T) httpx.ErrorDoc {
	t.Helper()
	var e httpx.ErrorBody
	r.decode(t, &e)
	if e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("%s %s: error body %s lacks code or message", r.Request.Method, r.Request.URL.Path, r.body)
	}
	return e.Error
}

// cookie returns the session cookie the response set, if any.
func (r response) cookie() (*http.Cookie, bool) {
	for _, c := range r.Cookies() {
		if c.Name == httpapi.DefaultCookieName {
			return c, true
		}
	}
	return nil, false
}

// opt modifies a request.
type opt func(*http.Request)

func bearer(token string) opt {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
}

func withCookie(value string) opt {
	return func(r *http.Request) { r.AddCookie(&http.Cookie{Name: httpapi.DefaultCookieName, Value: value}) }
}

func header(k, v string) opt { return func(r *http.Request) { r.Header.Set(k, v) } }

func csrf(token string) opt { return header("X-CSRF-Token", token) }

// do sends a request. A body that is a string or []byte is sent as is
// (set the content type with header); anything else as JSON.
func (f *fixture) do(t *testing.T, method, path string, body any, opts ...opt) response {
	t.Helper()
	var rd io.Reader
	contentType := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		js, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("marshal request: %v", err)
		}
		rd, contentType = bytes.NewReader(js), "application/json"
	}
	req, err := http.NewRequestWithContext(t.Context(), method, f.url+path, rd)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for _, o := range opts {
		o(req)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	if res.StatusCode >= 500 && res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("%s %s: status %d: %s", method, path, res.StatusCode, b)
	}
	return response{Response: res, body: b}
}

// admin is the bootstrap credential, a platform administrator.
var admin = bearer(bootstrapToken)

// createUser creates an active user of tenant through the API.
func (f *fixture) createUser(t *testing.T, tenant, username, password string, isAdmin bool) login.User {
	t.Helper()
	var u login.User
	f.do(t, "POST", "/api/v1/tenants/"+tenant+"/users",
		map[string]any{"username": username, "password": password, "admin": isAdmin}, admin).
		want(t, http.StatusCreated).decode(t, &u)
	return u
}

// grant is a login's or a refresh's answer.
type grant struct {
	AccessToken  string        `json:"access_token"`
	TokenType    string        `json:"token_type"`
	ExpiresIn    int           `json:"expires_in"`
	RefreshToken string        `json:"refresh_token"`
	Session      login.Session `json:"session"`
}

// login logs in for tokens.
func (f *fixture) login(t *testing.T, tenant, username, password string) grant {
	t.Helper()
	var g grant
	f.do(t, "POST", "/api/v1/login", map[string]any{"tenant": tenant, "username": username, "password": password}).
		want(t, http.StatusOK).decode(t, &g)
	if g.AccessToken == "" || g.RefreshToken == "" || g.TokenType != "Bearer" {
		t.Fatalf("login grant %+v lacks tokens", g)
	}
	return g
}

// webSession is a cookie login's answer.
type webSession struct {
	cookie string
	csrf   string
}

// loginCookie logs in the way the web UI does.
func (f *fixture) loginCookie(t *testing.T, tenant, username, password string, opts ...opt) webSession {
	t.Helper()
	r := f.do(t, "POST", "/api/v1/login",
		map[string]any{"tenant": tenant, "username": username, "password": password, "session_cookie": true}, opts...).
		want(t, http.StatusOK)
	var body struct {
		CSRFToken    string `json:"csrf_token"`
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	r.decode(t, &body)
	c, ok := r.cookie()
	if !ok || c.Value == "" {
		t.Fatalf("cookie login set no session cookie: %v", r.Header.Values("Set-Cookie"))
	}
	if body.CSRFToken == "" || body.AccessToken != "" || body.RefreshToken != "" {
		t.Fatalf("cookie login body %s: want a csrf_token and no tokens", r.body)
	}
	return webSession{cookie: c.Value, csrf: body.CSRFToken}
}

// refresh exchanges a refresh token.
func (f *fixture) refresh(t *testing.T, token string) response {
	t.Helper()
	return f.do(t, "POST", "/api/v1/token", "grant_type=refresh_token&refresh_token="+token,
		header("Content-Type", "application/x-www-form-urlencoded"))
}

// me calls GET /api/v1/me.
func (f *fixture) me(t *testing.T, opts ...opt) response {
	t.Helper()
	return f.do(t, "GET", "/api/v1/me", nil, opts...)
}
