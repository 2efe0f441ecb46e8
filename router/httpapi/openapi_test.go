package httpapi

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/yaml.v3"
)

// specPath is docs/openapi.yaml relative to this package's directory.
var specPath = filepath.Join("..", "..", "docs", "openapi.yaml")

var httpMethods = []string{"get", "put", "post", "delete", "patch", "head", "options", "trace"}

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

// specOperations returns every (path, method) of the spec with its path item
// and operation, sorted by "METHOD /path".
type specOp struct {
	path, method string
	item, op     map[string]any
}

func (o specOp) String() string { return strings.ToUpper(o.method) + " " + o.path }

func specOperations(t *testing.T, doc map[string]any) []specOp {
	t.Helper()
	paths := mapAt(doc["paths"])
	if len(paths) == 0 {
		t.Fatal("spec has no paths")
	}
	var ops []specOp
	for path, v := range paths {
		item := mapAt(v)
		if item == nil {
			t.Errorf("path %s: not an object", path)
			continue
		}
		for _, m := range httpMethods {
			if op, ok := item[m]; ok {
				opm := mapAt(op)
				if opm == nil {
					t.Errorf("%s %s: operation is not an object", strings.ToUpper(m), path)
					continue
				}
				ops = append(ops, specOp{path: path, method: m, item: item, op: opm})
			}
		}
	}
	slices.SortFunc(ops, func(a, b specOp) int { return strings.Compare(a.String(), b.String()) })
	return ops
}

var ginParam = regexp.MustCompile(`[:*]([A-Za-z0-9_]+)`)

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

	doc := loadSpec(t)
	spec := map[string]specOp{}
	for _, op := range specOperations(t, doc) {
		spec[op.String()] = op
	}

	var missing []string
	for _, rt := range r.Routes() {
		key := rt.Method + " " + ginParam.ReplaceAllString(rt.Path, "{$1}")
		op, ok := spec[key]
		if !ok {
			missing = append(missing, key)
			continue
		}
		if want, got := strings.HasPrefix(rt.Path, "/api/v1/"), len(effectiveSecurity(doc, op)) > 0; got != want {
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
		m := mapAt(cur)
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
		for k, c := range mapAt(x) {
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
	m := mapAt(v)
	if ref, ok := m["$ref"].(string); ok {
		target, _ := resolvePointer(doc, ref)
		return mapAt(target)
	}
	return m
}

var templateParam = regexp.MustCompile(`\{([^{}]+)\}`)

func TestOpenAPIIsWellFormed(t *testing.T) {
	doc := loadSpec(t)

	// Every $ref points at an existing component.
	collectRefs(doc, "#", func(ref, where string) {
		if !strings.HasPrefix(ref, "#/components/") {
			t.Errorf("%s: $ref %q is not a local component reference", where, ref)
			return
		}
		if target, ok := resolvePointer(doc, ref); !ok || mapAt(target) == nil {
			t.Errorf("%s: $ref %q does not resolve", where, ref)
		}
	})

	schemes := mapAt(mapAt(doc["components"])["securitySchemes"])
	declaredTags := map[string]bool{}
	for _, tag := range asSlice(doc["tags"]) {
		name, _ := mapAt(tag)["name"].(string)
		declaredTags[name] = true
	}

	ids := map[string]string{}
	for _, o := range specOperations(t, doc) {
		// A unique operationId.
		id, _ := o.op["operationId"].(string)
		switch {
		case id == "":
			t.Errorf("%s: no operationId", o)
		case ids[id] != "":
			t.Errorf("%s: operationId %q already used by %s", o, id, ids[id])
		default:
			ids[id] = o.String()
		}

		// At least one 2xx response.
		responses := mapAt(o.op["responses"])
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
		for _, src := range []map[string]any{o.item, o.op} {
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
		for _, m := range templateParam.FindAllStringSubmatch(o.path, -1) {
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
		tags, _ := o.op["tags"].([]any)
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
		security := effectiveSecurity(doc, o)
		bearer, cookie := false, false
		for _, req := range security {
			names := mapAt(req)
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
				if hasCSRF != !safeMethod[o.method] {
					t.Errorf("%s: the session cookie requirement has csrfToken = %v, want %v", o, hasCSRF, !safeMethod[o.method])
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
			if d, _ := o.op["description"].(string); !strings.Contains(d, "**Authorization:**") {
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

// effectiveSecurity returns the operation's security requirements: its
// own, or the document's when it has none. Empty means public.
func effectiveSecurity(doc map[string]any, o specOp) []any {
	security, overridden := o.op["security"]
	if !overridden {
		security = doc["security"]
	}
	return asSlice(security)
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}
