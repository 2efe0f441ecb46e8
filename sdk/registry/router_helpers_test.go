package registry

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/greyrouter/greyrouter/internal/testutil"
	"github.com/greyrouter/greyrouter/router"
	"github.com/greyrouter/greyrouter/router/httpapi"
	"github.com/greyrouter/greyrouter/router/redisstore"
	"github.com/greyrouter/greyrouter/router/sqlstore"
)

func TestMain(m *testing.M) {
	// Registrations without Options.Log log to the default logger; keep
	// the test output to failures.
	slog.SetDefault(slog.New(slog.DiscardHandler))
	code := testutil.RunMain(m)
	removeNacosLogDir()
	os.Exit(code)
}

const adminToken = "registry-test-admin-token"

// testRouter is a real router (SQLite, Redis, the HTTP API) in the test
// process, with service orders (versions v1 and v2, default v1) and tenant
// acme bound to the default.
type testRouter struct {
	URL string
	// failHeartbeats makes every heartbeat answer 503, as a router in
	// trouble would.
	failHeartbeats atomic.Bool
}

func newRouter(t *testing.T) *testRouter {
	t.Helper()
	db := testutil.MigratedDB(t, "")
	rs := redisstore.New(testutil.Redis(t).Client(t))
	log := slog.New(slog.DiscardHandler)
	m := router.NewManager(sqlstore.New(db.Gorm, db.Dialect()), rs, rs, log, nil)
	api := httpapi.New(httpapi.Config{Manager: m, AdminToken: adminToken, Registry: prometheus.NewRegistry(), Log: log})
	tr := &testRouter{}
	h := api.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tr.failHeartbeats.Load() && strings.HasSuffix(r.URL.Path, "/heartbeat") {
			http.Error(w, `{"error":{"code":"unavailable","message":"injected failure"}}`, http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	tr.URL = srv.URL

	tr.must(t, "POST", "/api/v1/tenants", map[string]any{"name": "acme"}, 201)
	tr.must(t, "POST", "/api/v1/services", map[string]any{"name": "orders", "strategy": "round_robin"}, 201)
	for _, v := range []string{"v1", "v2"} {
		tr.must(t, "POST", "/api/v1/services/orders/versions", map[string]any{"name": v}, 201)
	}
	tr.must(t, "PUT", "/api/v1/services/orders", map[string]any{"default_version": "v1"}, 200)
	tr.must(t, "PUT", "/api/v1/tenants/acme/bindings/orders", map[string]any{"mode": "default"}, 200)
	return tr
}

// backend is the router backend the code under test uses, authenticated
// by the admin token (a platform principal).
func (tr *testRouter) backend() Backend { return WithRouter(tr.URL, StaticToken(adminToken)) }

// call sends one admin request and returns the status and decoded body.
func (tr *testRouter) call(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, tr.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

func (tr *testRouter) must(t *testing.T, method, path string, body any, want int) map[string]any {
	t.Helper()
	status, out := tr.call(t, method, path, body)
	if status != want {
		t.Fatalf("%s %s: status %d, want %d: %v", method, path, status, want, out)
	}
	return out
}

// resolve asks for a decision for tenant acme and returns the instance id,
// or "" with the error code when there is none.
func (tr *testRouter) resolve(t *testing.T) (id, code string) {
	t.Helper()
	status, out := tr.call(t, "POST", "/api/v1/resolve", map[string]any{"tenant": "acme", "service": "orders", "key": "k"})
	if status != 200 {
		e, _ := out["error"].(map[string]any)
		c, _ := e["code"].(string)
		return "", c
	}
	in, _ := out["instance"].(map[string]any)
	id, _ = in["id"].(string)
	return id, ""
}

// instance returns the router's view of an instance, nil when it has none.
func (tr *testRouter) instance(t *testing.T, id string) map[string]any {
	t.Helper()
	status, out := tr.call(t, "GET", "/api/v1/services/orders/instances/"+id, nil)
	switch status {
	case 200:
		return out
	case 404:
		return nil
	}
	t.Fatalf("get instance %s: status %d: %v", id, status, out)
	return nil
}

// eventually polls cond every 20 ms until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// logBuffer collects slog output for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }
