package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/yaml.v3"

	"github.com/greyrouter/greyrouter/login"
	loginhttp "github.com/greyrouter/greyrouter/login/httpapi"
	"github.com/greyrouter/greyrouter/router/httpapi"
)

// The binary serves the router API and the login API on one engine;
// docs/openapi.yaml documents exactly the union. router/httpapi checks
// that the spec is well-formed and covers the router's routes; this file
// holds the one equality check, against the engine as serve composes it.

// specPath is docs/openapi.yaml relative to this package's directory.
var specPath = filepath.Join("..", "..", "docs", "openapi.yaml")

var httpMethods = []string{"get", "put", "post", "delete", "patch", "head", "options", "trace"}

// noKeys is a signing-key view with no keys, so that the public key
// documents answer without a key ring.
type noKeys struct{}

func (noKeys) JWKS(time.Time) login.JWKSet           { return login.JWKSet{Keys: []login.JWK{}} }
func (noKeys) Published(time.Time) []login.PublicKey { return nil }
func (noKeys) Rotate(context.Context) (login.StoredKey, error) {
	return login.StoredKey{}, fmt.Errorf("no key ring in this test")
}

// openAPIEngine builds the binary's engine the way serve does: the router
// API with the login API's authentication and routes. Registering routes
// and refusing requests without credentials touch neither the router's
// manager nor the login service, so neither is needed.
func openAPIEngine(t *testing.T) *gin.Engine {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	auth := loginhttp.New(loginhttp.Config{Log: log, Keys: noKeys{}, Issuer: "https://greyrouter.test"})
	api := composeAPI(auth, httpapi.Config{Registry: prometheus.NewRegistry(), Log: log})
	engine, ok := api.Handler().(*gin.Engine)
	if !ok {
		t.Fatalf("Handler() is %T, want *gin.Engine", api.Handler())
	}
	return engine
}

func loadSpec(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile(specPath)
	if err != nil {
		t.Fatalf("read spec: %v", err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("parse %s: %v", specPath, err)
	}
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.0.") {
		t.Fatalf("openapi = %q, want 3.0.x", v)
	}
	return doc
}

// mapAt returns v as an object; YAML maps with non-string keys (such as an
// unquoted 200) have their keys spelled as strings.
func mapAt(v any) map[string]any {
	switch m := v.(type) {
	case map[string]any:
		return m
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, e := range m {
			out[fmt.Sprint(k)] = e
		}
		return out
	}
	return nil
}

// specOp is one (path, method) of the spec with its operation.
type specOp struct {
	path, method string
	op           map[string]any
}

func (o specOp) String() string { return strings.ToUpper(o.method) + " " + o.path }

// specOperations returns every operation of the spec by "METHOD /path".
func specOperations(t *testing.T, doc map[string]any) map[string]specOp {
	t.Helper()
	paths := mapAt(doc["paths"])
	if len(paths) == 0 {
		t.Fatal("spec has no paths")
	}
	ops := map[string]specOp{}
	for path, v := range paths {
		item := mapAt(v)
		for _, m := range httpMethods {
			if op := mapAt(item[m]); op != nil {
				o := specOp{path: path, method: m, op: op}
				ops[o.String()] = o
			}
		}
	}
	return ops
}

// secured reports whether the operation needs a credential: its own
// security, or the document's when it has none, lists a requirement.
func secured(doc map[string]any, o specOp) bool {
	security, ok := o.op["security"]
	if !ok {
		security = doc["security"]
	}
	reqs, _ := security.([]any)
	return len(reqs) > 0
}

var ginParam = regexp.MustCompile(`[:*]([A-Za-z0-9_]+)`)

// routeKey spells a gin route as the spec does: "GET /a/{b}".
func routeKey(method, path string) string {
	return method + " " + ginParam.ReplaceAllString(path, "{$1}")
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	routes := map[string]bool{}
	for _, rt := range openAPIEngine(t).Routes() {
		routes[routeKey(rt.Method, rt.Path)] = true
	}
	if len(routes) == 0 {
		t.Fatal("the engine has no routes")
	}
	spec := specOperations(t, loadSpec(t))

	var missing, extra []string
	for k := range routes {
		if _, ok := spec[k]; !ok {
			missing = append(missing, k)
		}
	}
	for k := range spec {
		if !routes[k] {
			extra = append(extra, k)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	if len(missing) > 0 {
		t.Errorf("routes missing from %s:\n  %s", specPath, strings.Join(missing, "\n  "))
	}
	if len(extra) > 0 {
		t.Errorf("operations in %s with no route:\n  %s", specPath, strings.Join(extra, "\n  "))
	}
}

// TestOpenAPISecurityMatchesAuthentication sends every route a request
// without credentials: the operations the spec secures must answer 401
// with the bearer challenge, and the ones it declares public must not.
func TestOpenAPISecurityMatchesAuthentication(t *testing.T) {
	engine := openAPIEngine(t)
	doc := loadSpec(t)
	spec := specOperations(t, doc)
	for _, rt := range engine.Routes() {
		key := routeKey(rt.Method, rt.Path)
		o, ok := spec[key]
		if !ok {
			continue // TestOpenAPIMatchesRoutes reports it
		}
		if rt.Path == "/metrics" {
			// Gathering would read the (absent) manager on another
			// goroutine; router/httpapi checks that /metrics is public.
			continue
		}
		// A valid value for every parameter, so that nothing but the
		// missing credential can decide the answer.
		path := ginParam.ReplaceAllStringFunc(rt.Path, func(p string) string {
			if p[1:] == "client" {
				return "gc-0123456789abcdef0123456789abcdef"
			}
			return "p1"
		})
		w := httptest.NewRecorder()
		engine.ServeHTTP(w, httptest.NewRequest(rt.Method, path, nil))
		got401 := w.Code == http.StatusUnauthorized
		switch want := secured(doc, o); {
		case want && !got401:
			t.Errorf("%s: secured in the spec, but a request without credentials got %d, not 401", key, w.Code)
		case !want && got401:
			t.Errorf("%s: public in the spec (security: []), but a request without credentials got 401", key)
		case got401 && w.Header().Get("WWW-Authenticate") != `Bearer realm="greyrouter"`:
			t.Errorf("%s: 401 without the bearer challenge (WWW-Authenticate %q)", key, w.Header().Get("WWW-Authenticate"))
		}
	}
}
