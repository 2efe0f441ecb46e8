package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/internal/httpx"
	"github.com/greyrouter/greyrouter/internal/testutil"
	"github.com/greyrouter/greyrouter/login"
	"github.com/greyrouter/greyrouter/privilege"
	"github.com/greyrouter/greyrouter/privilege/httpapi"
	"github.com/greyrouter/greyrouter/privilege/service"
	"github.com/greyrouter/greyrouter/privilege/sqlstore"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode)
	os.Exit(testutil.RunMain(m))
}

// principalHeader names the test principal of a request; the real
// authentication is login/httpapi's, covered end to end in cmd.
const principalHeader = "X-Test-Principal"

// principals every fixture knows, by the name tests send.
var principals = map[string]login.Principal{
	"platform":     {Kind: login.PrincipalUser, Subject: "u-root", Name: "root", Platform: true},
	"bootstrap":    {Kind: login.PrincipalBootstrap, Subject: "bootstrap", Platform: true},
	"acme-admin":   {Kind: login.PrincipalUser, Subject: "u-alice", Tenant: "acme", Name: "alice", Admin: true},
	"acme-ops":     {Kind: login.PrincipalClient, Subject: "gc-ops", Tenant: "acme", Name: "ops", Admin: true},
	"acme-client":  {Kind: login.PrincipalClient, Subject: "gc-checkout", Tenant: "acme", Name: "checkout"},
	"acme-user":    {Kind: login.PrincipalUser, Subject: "u-bob", Tenant: "acme", Name: "bob"},
	"globex-admin": {Kind: login.PrincipalUser, Subject: "u-gina", Tenant: "globex", Name: "gina", Admin: true},
	"globex-user":  {Kind: login.PrincipalUser, Subject: "u-gus", Tenant: "globex", Name: "gus"},
}

// tenants that exist in every fixture.
var tenants = map[string]bool{"acme": true, "globex": true}

// fixture is the API over a real SQLite store and a real Redis, with a
// stub authentication that takes the principal from principalHeader.
type fixture struct {
	svc    *service.Service
	store  *sqlstore.Store
	engine *gin.Engine
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	store := sqlstore.New(testutil.MigratedDB(t, "").Gorm)
	rdb := testutil.Redis(t).Client(t)
	svc, err := service.New(t.Context(), store, service.Options{Redis: rdb, Audit: store})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	api := httpapi.New(httpapi.Config{
		Service: svc,
		TenantExists: func(_ context.Context, tenant string) error {
			if !tenants[tenant] {
				return apperr.New(apperr.NotFound, "tenant %q not found", tenant)
			}
			return nil
		},
	})
	r := gin.New()
	r.ContextWithFallback = true
	api.Routes(r, stubAuth)
	return &fixture{svc: svc, store: store, engine: r}
}

// stubAuth sets the principal named by principalHeader; without one the
// request is a 401, as with the real middleware.
func stubAuth(c *gin.Context) {
	p, ok := principals[c.GetHeader(principalHeader)]
	if !ok {
		c.Header("WWW-Authenticate", `Bearer realm="greyrouter"`)
		httpx.WriteError(c, nil, apperr.New(apperr.Unauthenticated, "missing or invalid credential"))
		return
	}
	httpx.SetPrincipal(c, p)
	c.Next()
}

// reply is a decoded response.
type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// do sends body (a string raw, anything else as JSON) as who, with extra
// headers given as name, value pairs.
func (f *fixture) do(t *testing.T, who, method, path string, body any, headers ...string) reply {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, path, rd)
	req.Header.Set("Content-Type", "application/json")
	if who != "" {
		req.Header.Set(principalHeader, who)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	f.engine.ServeHTTP(w, req)
	r := reply{status: w.Code, header: w.Header(), raw: w.Body.String()}
	_ = json.Unmarshal(w.Body.Bytes(), &r.body)
	return r
}

// must fails the test unless the reply has the status.
func (r reply) must(t *testing.T, status int) reply {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	return r
}

// at returns the value at a path of object keys and list indexes.
func (r reply) at(path ...any) any {
	var v any = r.body
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func (r reply) str(path ...any) string {
	s, _ := r.at(path...).(string)
	return s
}

func (r reply) items() []any {
	l, _ := r.at("items").([]any)
	return l
}

func (r reply) errCode() string { return r.str("error", "code") }

// version is the tenant's stored policy version.
func (f *fixture) version(t *testing.T, tenant string) int64 {
	t.Helper()
	v, err := f.store.Version(t.Context(), tenant)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// seed writes the policy sets the tests start from: in each tenant a
// role "reader" (read orders/*) held by its user, a role "<tenant>-clerk"
// held by "<tenant>-secret-subject", a policy and an attribute schema;
// on the platform a role "operator" held by "op-1". The acme names are
// distinct so that tests can tell acme data anywhere it must not be.
func (f *fixture) seed(t *testing.T) {
	t.Helper()
	ctx := t.Context()
	_, err := f.svc.Write(ctx, "", "test", "seed", func(tx privilege.Tx) error {
		if err := tx.PutRole(ctx, privilege.Role{Name: "operator", Platform: true,
			Permissions: []privilege.Permission{{Resource: "*", Action: "audit"}}}); err != nil {
			return err
		}
		return tx.PutAssignment(ctx, privilege.Assignment{Subject: "op-1", Role: "operator"})
	})
	if err != nil {
		t.Fatal(err)
	}
	users := map[string]string{"acme": "u-bob", "globex": "u-gus"}
	for tenant, user := range users {
		_, err := f.svc.Write(ctx, tenant, "test", "seed", func(tx privilege.Tx) error {
			for _, r := range []privilege.Role{
				{Tenant: tenant, Name: "reader", Permissions: []privilege.Permission{{Resource: "orders/*", Action: "read"}}},
				{Tenant: tenant, Name: tenant + "-clerk", Permissions: []privilege.Permission{{Resource: "ledger/*", Action: "write"}}},
			} {
				if err := tx.PutRole(ctx, r); err != nil {
					return err
				}
			}
			for _, as := range []privilege.Assignment{
				{Tenant: tenant, Subject: user, Role: "reader"},
				{Tenant: tenant, Subject: tenant + "-secret-subject", Role: tenant + "-clerk"},
			} {
				if err := tx.PutAssignment(ctx, as); err != nil {
					return err
				}
			}
			if err := tx.PutSettings(ctx, privilege.Settings{Tenant: tenant, Schema: map[string]string{"resource.owner": "string"}}); err != nil {
				return err
			}
			return tx.PutPolicy(ctx, privilege.Policy{ID: tenant + "-owners", Target: privilege.Target{Resources: []string{"invoices/*"}, Actions: []string{"read"}},
				Rules: []privilege.Rule{{ID: "owner", Effect: privilege.Permit,
					Condition: mustCondition(t, `{"attr":"resource.owner","op":"eq","ref":"subject.id"}`)}}})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func mustCondition(t *testing.T, doc string) *privilege.Condition {
	t.Helper()
	var c privilege.Condition
	if err := json.Unmarshal([]byte(doc), &c); err != nil {
		t.Fatal(err)
	}
	return &c
}
