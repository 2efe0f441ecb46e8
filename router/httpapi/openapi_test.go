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

func TestOpenAPIMatchesRoutes(t *testing.T) {
	gin.SetMode(gin.TestMode)
	r := gin.New()
	// routes calls requireToken and metricsHandler while registering, so
	// the API needs a logger and a registry; no manager is touched.
	a := New(Config{Registry: prometheus.NewRegistry(), Log: slog.New(slog.DiscardHandler)})
	a.routes(r)

	routes := map[string]bool{}
	for _, rt := range r.Routes() {
		routes[rt.Method+" "+ginParam.ReplaceAllString(rt.Path, "{$1}")] = true
	}
	if len(routes) == 0 {
		t.Fatal("routes registered nothing")
	}

	spec := map[string]bool{}
	for _, op := range specOperations(t, loadSpec(t)) {
		spec[op.String()] = true
	}

	var missing, extra []string
	for k := range routes {
		if !spec[k] {
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

		// /api/v1 needs the bearer token; health and metrics need none.
		security, overridden := o.op["security"]
		if !overridden {
			security = doc["security"]
		}
		secured := false
		for _, req := range asSlice(security) {
			if _, ok := mapAt(req)["bearerAuth"]; ok {
				secured = true
			}
		}
		if want := strings.HasPrefix(o.path, "/api/v1/"); secured != want {
			t.Errorf("%s: bearer security = %v, want %v", o, secured, want)
		}
	}
	if _, ok := resolvePointer(doc, "#/components/securitySchemes/bearerAuth"); !ok {
		t.Error("components.securitySchemes.bearerAuth is missing")
	}
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}
