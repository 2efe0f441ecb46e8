package auth_test

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
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/golang-jwt/jwt/v5"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/internal/testutil"
	"github.com/greyrouter/greyrouter/login"
	"github.com/greyrouter/greyrouter/login/httpapi"
	"github.com/greyrouter/greyrouter/login/redisstore"
	"github.com/greyrouter/greyrouter/login/sqlstore"
	"github.com/greyrouter/greyrouter/login/verify"
	"github.com/greyrouter/greyrouter/sdk/auth"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode)
	os.Exit(testutil.RunMain(m))
}

// The token policy of the login service every test runs against.
const (
	bootstrapToken = "bootstrap-token-for-sdk-auth-tests-0123456789"
	issuer         = "https://login.greyrouter.test"
	audience       = "orders"
	tokenLifetime  = 5 * time.Minute
	leeway         = 30 * time.Second
)

// greyrouter is greyrouter's real login service in the test process:
// SQLite users and keys, argon2id, Redis sessions, throttle and
// revocation feed, the login HTTP API, as the binary wires them (see
// cmd/greyrouter/login.go). Services see it only through its URL and its
// Redis.
type greyrouter struct {
	url   string
	redis *testutil.RedisServer
	ring  *login.KeyRing
}

func newGreyrouter(t testing.TB) *greyrouter {
	t.Helper()
	ctx := t.Context()
	log := slog.New(slog.DiscardHandler)
	store := sqlstore.New(testutil.MigratedDB(t, "").Gorm)
	rs := testutil.Redis(t)
	rdb := rs.Client(t)

	kek, _ := login.ParseKEK(login.NewKEK())
	ring, err := login.NewKeyRing(store, login.KeyRingConfig{MaxTokenLifetime: tokenLifetime + leeway, KEK: kek}, nil)
	if err != nil {
		t.Fatalf("NewKeyRing: %v", err)
	}
	if err := ring.Load(ctx); err != nil {
		t.Fatalf("load key ring: %v", err)
	}
	revs := verify.NewRevocations(nil)
	verifier, err := verify.New(verify.Config{Issuer: issuer, Audience: audience, Keys: ring, Revocations: revs, Leeway: leeway})
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

	hasher, err := login.NewHasher(login.DefaultPasswordParams(), 4)
	if err != nil {
		t.Fatalf("NewHasher: %v", err)
	}
	audit := login.NewAuditLog(store, log, 0)
	t.Cleanup(func() { _ = audit.Close(context.Background()) })
	throttle := redisstore.NewThrottle(redisstore.New(rdb), redisstore.AccountPolicy(), redisstore.IPPolicy())
	svc := login.NewService(login.ServiceConfig{
		SessionIdle: 30 * time.Minute, SessionLifetime: 8 * time.Hour, MaxTokenLifetime: tokenLifetime + leeway,
	}, login.ServiceDeps{
		Users: store, Clients: store, Sessions: redisstore.NewSessions(rdb), Revocations: store,
		Feed: feed, Sink: revs,
		Authenticator: login.NewAuthenticator(store, hasher, throttle, audit, log, nil),
		Hasher:        hasher,
		Issuer:        login.NewIssuer(ring, login.TokenConfig{Issuer: issuer, Audience: []string{audience}, Lifetime: tokenLifetime}, nil),
		Verifier:      verifier,
		Audit:         audit,
		TenantExists: func(_ context.Context, tenant string) error {
			if tenant != "acme" && tenant != "globex" {
				return apperr.New(apperr.NotFound, "tenant %q not found", tenant)
			}
			return nil
		},
		Log: log,
	})
	api := httpapi.New(httpapi.Config{Service: svc, Keys: ring, Audit: store, BootstrapToken: bootstrapToken, Issuer: issuer, Log: log})
	engine := gin.New()
	api.Routes(engine)
	srv := httptest.NewServer(engine)
	t.Cleanup(srv.Close)
	return &greyrouter{url: srv.URL, redis: rs, ring: ring}
}

// authenticator returns an Authenticator on its own Redis connection, as
// a service in another process would have, closed when the test ends.
func (g *greyrouter) authenticator(t testing.TB, edit ...func(*auth.Config)) *auth.Authenticator {
	t.Helper()
	cfg := auth.Config{
		Issuer: issuer, Audience: audience, BaseURL: g.url, Redis: g.redis.Client(t),
		Log: slog.New(slog.DiscardHandler),
	}
	for _, e := range edit {
		e(&cfg)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	a, err := auth.New(ctx, cfg)
	if err != nil {
		t.Fatalf("auth.New: %v", err)
	}
	t.Cleanup(a.Close)
	return a
}

// call sends method path to greyrouter with the bearer token ("" for
// none) and body as JSON, and returns the status.
func (g *greyrouter) call(t testing.TB, method, path, token string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequestWithContext(t.Context(), method, g.url+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if out != nil && res.StatusCode/100 == 2 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
	return res.StatusCode
}

func (g *greyrouter) must(t testing.TB, want int, method, path, token string, body, out any) {
	t.Helper()
	if got := g.call(t, method, path, token, body, out); got != want {
		t.Fatalf("%s %s: status %d, want %d", method, path, got, want)
	}
}

// user creates a user of tenant ("" for a platform administrator) and
// returns its password.
func (g *greyrouter) user(t testing.TB, tenant, username string) string {
	t.Helper()
	password := "pw-" + login.NewSecret()
	path := "/api/v1/tenants/" + tenant + "/users"
	if tenant == "" {
		path = "/api/v1/admins"
	}
	g.must(t, http.StatusCreated, "POST", path, bootstrapToken, map[string]any{"username": username, "password": password}, nil)
	return password
}

// grant is the part of a login answer the tests use.
type grant struct {
	AccessToken string        `json:"access_token"`
	Session     login.Session `json:"session"`
}

// login logs a new user of tenant in and returns its grant.
func (g *greyrouter) login(t testing.TB, tenant, username string) grant {
	t.Helper()
	password := g.user(t, tenant, username)
	var gr grant
	g.must(t, http.StatusOK, "POST", "/api/v1/login", "", map[string]any{"tenant": tenant, "username": username, "password": password}, &gr)
	if gr.AccessToken == "" {
		t.Fatal("login returned no access token")
	}
	return gr
}

// sign returns an access token signed with greyrouter's current key
// whose claims are good ones changed by edit: what a misconfigured issuer
// sharing the key would produce, or a login at another time.
func (g *greyrouter) sign(t testing.TB, edit func(*login.AccessClaims)) string {
	t.Helper()
	now := time.Now()
	key, err := g.ring.Current(now)
	if err != nil {
		t.Fatalf("current key: %v", err)
	}
	c := login.AccessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: issuer, Audience: jwt.ClaimStrings{audience}, Subject: "u-signed", ID: login.NewSessionID(),
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(tokenLifetime)),
		},
		Tenant: "acme", Name: "signed", SessionID: login.NewSessionID(),
	}
	if edit != nil {
		edit(&c)
	}
	var method jwt.SigningMethod = jwt.SigningMethodEdDSA
	if key.Algorithm == login.AlgES256 {
		method = jwt.SigningMethodES256
	}
	tok := jwt.NewWithClaims(method, &c)
	tok.Header["kid"], tok.Header["typ"] = key.ID, login.AccessTokenType
	s, err := tok.SignedString(key.Signer)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return s
}

// whoami is what the test services answer: the principal they were handed.
type whoami struct {
	Found     bool   `json:"found"`
	Kind      string `json:"kind"`
	Subject   string `json:"subject"`
	Tenant    string `json:"tenant"`
	Name      string `json:"name"`
	SessionID string `json:"session_id"`
	Platform  bool   `json:"platform"`
}

func answer(w http.ResponseWriter, p login.Principal, found bool) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(whoami{
		Found: found, Kind: string(p.Kind), Subject: p.Subject, Tenant: p.Tenant, Name: p.Name,
		SessionID: p.SessionID, Platform: p.Platform,
	})
}

// netHTTPService is a net/http service behind the middleware: /whoami for
// any principal, /acme for acme's, /platform for platform administrators.
func netHTTPService(t testing.TB, a *auth.Authenticator) string {
	mux := http.NewServeMux()
	who := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := auth.FromContext(r.Context())
		answer(w, p, ok)
	})
	mux.Handle("/whoami", who)
	mux.Handle("/acme", auth.RequireTenant("acme").Middleware(who))
	mux.Handle("/platform", auth.RequirePlatform().Middleware(who))
	srv := httptest.NewServer(a.Middleware(mux))
	t.Cleanup(srv.Close)
	return srv.URL
}

// ginService is the same service on gin; /whoami reads the principal with
// FromGin, /ctx with FromContext on the gin context.
func ginService(t testing.TB, a *auth.Authenticator) string {
	r := gin.New()
	r.Use(a.Gin())
	who := func(c *gin.Context) {
		p, ok := auth.FromGin(c)
		answer(c.Writer, p, ok)
	}
	r.GET("/whoami", who)
	r.GET("/ctx", func(c *gin.Context) {
		p, ok := auth.FromContext(c)
		answer(c.Writer, p, ok)
	})
	r.GET("/acme", auth.RequireTenant("acme").Gin(), who)
	r.GET("/platform", auth.RequirePlatform().Gin(), who)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv.URL
}

// reply is a service's answer.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// get calls a service with the Authorization header value ("" for none).
func get(t testing.TB, url, authorization string) reply {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", url, nil)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return reply{status: res.StatusCode, header: res.Header, body: body}
}

func (r reply) principal(t testing.TB) whoami {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", r.status, r.body)
	}
	var w whoami
	if err := json.Unmarshal(r.body, &w); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	return w
}

// eventually polls cond until it holds or d has passed, and reports
// whether it held.
func eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func bearerOf(token string) string { return "Bearer " + token }

// noSegmentOf reports whether s contains no part of token long enough to
// matter.
func noSegmentOf(s, token string) bool {
	for _, seg := range strings.Split(token, ".") {
		if len(seg) >= 8 && strings.Contains(s, seg) {
			return false
		}
	}
	return true
}
