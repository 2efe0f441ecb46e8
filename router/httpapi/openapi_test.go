package httpapi

import (
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/greyrouter/greyrouter/internal/openapitest"
)

// TestOpenAPICoversRoutes checks that every route of the router API is in
// the spec, and that the spec secures the /api/v1 routes and leaves health
// and metrics open. The spec also documents the login API, served on the
// same engine; cmd/greyrouter checks that it documents exactly the routes
// of both.
func TestOpenAPICoversRoutes(t *testing.T) {
	gin.SetMode(gin.TestMode)
	r := gin.New()
	// routes calls authenticate and metricsHandler while registering, so
	// the API needs a logger and a registry; no manager is touched.
	a := New(Config{Registry: prometheus.NewRegistry(), Log: slog.New(slog.DiscardHandler)})
	a.routes(r)
	if len(r.Routes()) == 0 {
		t.Fatal("routes registered nothing")
	}

	specPath := openapitest.SpecPath(t)
	doc := openapitest.Load(t, specPath)
	spec := map[string]openapitest.Op{}
	for _, op := range openapitest.Operations(t, doc) {
		spec[op.String()] = op
	}

	var missing []string
	for _, rt := range r.Routes() {
		key := openapitest.RouteKey(rt.Method, rt.Path)
		op, ok := spec[key]
		if !ok {
			missing = append(missing, key)
			continue
		}
		if want, got := strings.HasPrefix(rt.Path, "/api/v1/"), len(openapitest.EffectiveSecurity(doc, op)) > 0; got != want {
			t.Errorf("%s: secured = %v in the spec, want %v", key, got, want)
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Errorf("routes missing from %s:\n  %s", specPath, strings.Join(missing, "\n  "))
	}
}

// resolvePointer follows a local JSON pointer ("#/a/b") in doc.
func resolvePointer(doc map[string]any, ref string) (any, bool) {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, false
	}
	var cur any = doc
	for _, tok := range strings.Split(rest, "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m := openapitest.MapAt(cur)
		if m == nil {
			return nil, false
		}
		if cur, ok = m[tok]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// collectRefs walks v and calls fn with every $ref and where it was found.
func collectRefs(v any, where string, fn func(ref, where string)) {
	switch x := v.(type) {
	case map[string]any, map[any]any:
		for k, c := range openapitest.MapAt(x) {
			if k == "$ref" {
				s, _ := c.(string)
				fn(s, where)
				continue
			}
			collectRefs(c, where+"/"+k, fn)
		}
	case []any:
		for i, c := range x {
			collectRefs(c, fmt.Sprintf("%s/%d", where, i), fn)
		}
	}
}

// deref follows a $ref of a parameter (or any object) once, if it has one.
func deref(doc map[string]any, v any) map[string]any {
	m := openapitest.MapAt(v)
	if ref, ok := m["$ref"].(string); ok {
		target, _ := resolvePointer(doc, ref)
		return openapitest.MapAt(target)
	}
	return m
}

var templateParam = regexp.MustCompile(`\{([^{}]+)\}`)

func TestOpenAPIIsWellFormed(t *testing.T) {
	doc := openapitest.Load(t, openapitest.SpecPath(t))

	// Every $ref points at an existing component.
	collectRefs(doc, "#", func(ref, where string) {
		if !strings.HasPrefix(ref, "#/components/") {
			t.Errorf("%s: $ref %q is not a local component reference", where, ref)
			return
		}
		if target, ok := resolvePointer(doc, ref); !ok || openapitest.MapAt(target) == nil {
			t.Errorf("%s: $ref %q does not resolve", where, ref)
		}
	})

	schemes := openapitest.MapAt(openapitest.MapAt(doc["components"])["securitySchemes"])
	declaredTags := map[string]bool{}
	for _, tag := range asSlice(doc["tags"]) {
		name, _ := openapitest.MapAt(tag)["name"].(string)
		declaredTags[name] = true
	}

	ids := map[string]string{}
	for _, o := range openapitest.Operations(t, doc) {
		// A unique operationId.
		id, _ := o.Op["operationId"].(string)
		switch {
		case id == "":
			t.Errorf("%s: no operationId", o)
		case ids[id] != "":
			t.Errorf("%s: operationId %q already used by %s", o, id, ids[id])
		default:
			ids[id] = o.String()
		}

		// At least one 2xx response.
		responses := openapitest.MapAt(o.Op["responses"])
		has2xx := false
		for code := range responses {
			if strings.HasPrefix(code, "2") && len(code) == 3 {
				has2xx = true
			}
		}
		if !has2xx {
			t.Errorf("%s: no 2xx response", o)
		}

		// Path parameters: each template variable declared (on the
		// operation or the path item) as a required path parameter, and
		// no declared path parameter missing from the template.
		declared := map[string]bool{}
		for _, src := range []map[string]any{o.Item, o.Op} {
			params, _ := src["parameters"].([]any)
			for _, p := range params {
				pm := deref(doc, p)
				if pm == nil {
					t.Errorf("%s: unresolvable parameter %v", o, p)
					continue
				}
				if pm["in"] != "path" {
					continue
				}
				name, _ := pm["name"].(string)
				if req, _ := pm["required"].(bool); !req {
					t.Errorf("%s: path parameter %q is not required", o, name)
				}
				declared[name] = true
			}
		}
		inTemplate := map[string]bool{}
		for _, m := range templateParam.FindAllStringSubmatch(o.Path, -1) {
			inTemplate[m[1]] = true
			if !declared[m[1]] {
				t.Errorf("%s: path parameter {%s} is not declared", o, m[1])
			}
		}
		for name := range declared {
			if !inTemplate[name] {
				t.Errorf("%s: declares path parameter %q that the path does not contain", o, name)
			}
		}

		// Tags are declared.
		tags, _ := o.Op["tags"].([]any)
		if len(tags) == 0 {
			t.Errorf("%s: no tags", o)
		}
		for _, tag := range tags {
			if name, _ := tag.(string); !declaredTags[name] {
				t.Errorf("%s: tag %v is not declared in the top-level tags", o, tag)
			}
		}

		// Security: known schemes; a secured operation accepts a bearer
		// token alone and the session cookie, with the CSRF header
		// exactly when the method changes state, and documents 401.
		security := openapitest.EffectiveSecurity(doc, o)
		bearer, cookie := false, false
		for _, req := range security {
			names := openapitest.MapAt(req)
			for name := range names {
				if _, ok := schemes[name]; !ok {
					t.Errorf("%s: security scheme %q is not in components.securitySchemes", o, name)
				}
			}
			_, hasBearer := names["bearerAuth"]
			_, hasCookie := names["sessionCookie"]
			_, hasCSRF := names["csrfToken"]
			bearer = bearer || (hasBearer && len(names) == 1)
			if hasCookie {
				cookie = true
				if hasCSRF != !safeMethod[o.Method] {
					t.Errorf("%s: the session cookie requirement has csrfToken = %v, want %v", o, hasCSRF, !safeMethod[o.Method])
				}
			}
		}
		if len(security) > 0 {
			if !bearer || !cookie {
				t.Errorf("%s: secured, but does not accept both a bearer token alone (%v) and the session cookie (%v)", o, bearer, cookie)
			}
			if _, ok := responses["401"]; !ok {
				t.Errorf("%s: secured, but documents no 401", o)
			}
			// Who may call it is part of its description.
			if d, _ := o.Op["description"].(string); !strings.Contains(d, "**Authorization:**") {
				t.Errorf("%s: secured, but its description does not say who may call it (**Authorization:**)", o)
			}
		}
	}
	for _, name := range []string{"bearerAuth", "sessionCookie", "csrfToken"} {
		if _, ok := schemes[name]; !ok {
			t.Errorf("components.securitySchemes.%s is missing", name)
		}
	}
}

var safeMethod = map[string]bool{"get": true, "head": true, "options": true}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}
