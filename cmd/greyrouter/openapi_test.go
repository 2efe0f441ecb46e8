package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/greyrouter/greyrouter/internal/openapitest"
	"github.com/greyrouter/greyrouter/login"
	loginhttp "github.com/greyrouter/greyrouter/login/httpapi"
	privhttp "github.com/greyrouter/greyrouter/privilege/httpapi"
	"github.com/greyrouter/greyrouter/router/httpapi"
)

// The binary serves the router API and the login API on one engine;
// docs/openapi.yaml documents exactly the union. router/httpapi checks
// that the spec is well-formed and covers the router's routes; this file
// holds the one equality check, against the engine as serve composes it.

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
	// A privilege API without a service: routes authenticate, then 503.
	priv := privhttp.New(privhttp.Config{Log: log})
	api := composeAPI(auth, priv, httpapi.Config{Registry: prometheus.NewRegistry(), Log: log})
	engine, ok := api.Handler().(*gin.Engine)
	if !ok {
		t.Fatalf("Handler() is %T, want *gin.Engine", api.Handler())
	}
	return engine
}

// specOperations returns every operation of the spec by "METHOD /path".
func specOperations(t *testing.T, doc map[string]any) map[string]openapitest.Op {
	t.Helper()
	ops := map[string]openapitest.Op{}
	for _, o := range openapitest.Operations(t, doc) {
		ops[o.String()] = o
	}
	return ops
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	routes := map[string]bool{}
	for _, rt := range openAPIEngine(t).Routes() {
		routes[openapitest.RouteKey(rt.Method, rt.Path)] = true
	}
	if len(routes) == 0 {
		t.Fatal("the engine has no routes")
	}
	specPath := openapitest.SpecPath(t)
	spec := specOperations(t, openapitest.Load(t, specPath))

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
	doc := openapitest.Load(t, openapitest.SpecPath(t))
	spec := specOperations(t, doc)
	for _, rt := range engine.Routes() {
		key := openapitest.RouteKey(rt.Method, rt.Path)
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
		path := openapitest.GinParam.ReplaceAllStringFunc(rt.Path, func(p string) string {
			if p[1:] == "client" {
				return "gc-0123456789abcdef0123456789abcdef"
			}
			return "p1"
		})
		w := httptest.NewRecorder()
		engine.ServeHTTP(w, httptest.NewRequest(rt.Method, path, nil))
		got401 := w.Code == http.StatusUnauthorized
		switch want := len(openapitest.EffectiveSecurity(doc, o)) > 0; {
		case want && !got401:
			t.Errorf("%s: secured in the spec, but a request without credentials got %d, not 401", key, w.Code)
		case !want && got401:
			t.Errorf("%s: public in the spec (security: []), but a request without credentials got 401", key)
		case got401 && w.Header().Get("WWW-Authenticate") != `Bearer realm="greyrouter"`:
			t.Errorf("%s: 401 without the bearer challenge (WWW-Authenticate %q)", key, w.Header().Get("WWW-Authenticate"))
		}
	}
}
