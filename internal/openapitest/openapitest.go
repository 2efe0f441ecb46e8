// Package openapitest holds the helpers that the tests checking
// docs/openapi.yaml against the HTTP routes share: loading the spec,
// walking its operations and spelling gin routes as the spec does.
// It is for tests only; no production code imports it.
package openapitest

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// SpecPath returns docs/openapi.yaml of the module the test runs in,
// relative to the working directory (the package's directory under go
// test), such as "../../docs/openapi.yaml".
func SpecPath(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatalf("openapitest: working directory: %v", err)
	}
	for dir := wd; ; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			rel, err := filepath.Rel(wd, filepath.Join(dir, "docs", "openapi.yaml"))
			if err != nil {
				t.Fatalf("openapitest: %v", err)
			}
			return rel
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("openapitest: no go.mod above %s", wd)
		}
		dir = parent
	}
}

// Load reads and parses the spec at path and fails the test unless it is
// OpenAPI 3.0.x.
func Load(t testing.TB, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read spec: %v", err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.0.") {
		t.Fatalf("openapi = %q, want 3.0.x", v)
	}
	return doc
}

// MapAt returns v as an object, or nil if it is none; YAML maps with
// non-string keys (such as an unquoted 200) have their keys spelled as
// strings.
func MapAt(v any) map[string]any {
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

// Op is one (path, method) of the spec with its path item and operation.
// Method is lower case, as the spec spells it.
type Op struct {
	Path, Method string
	Item, Op     map[string]any
}

// String spells the operation as "METHOD /path".
func (o Op) String() string { return strings.ToUpper(o.Method) + " " + o.Path }

var httpMethods = []string{"get", "put", "post", "delete", "patch", "head", "options", "trace"}

// Operations returns every operation of the spec, sorted by "METHOD
// /path". It fails the test if the spec has no paths, and reports (and
// skips) a path item or operation that is not an object.
func Operations(t testing.TB, doc map[string]any) []Op {
	t.Helper()
	paths := MapAt(doc["paths"])
	if len(paths) == 0 {
		t.Fatal("spec has no paths")
	}
	var ops []Op
	for path, v := range paths {
		item := MapAt(v)
		if item == nil {
			t.Errorf("path %s: not an object", path)
			continue
		}
		for _, m := range httpMethods {
			if op, ok := item[m]; ok {
				opm := MapAt(op)
				if opm == nil {
					t.Errorf("%s %s: operation is not an object", strings.ToUpper(m), path)
					continue
				}
				ops = append(ops, Op{Path: path, Method: m, Item: item, Op: opm})
			}
		}
	}
	slices.SortFunc(ops, func(a, b Op) int { return strings.Compare(a.String(), b.String()) })
	return ops
}

// GinParam matches a gin path parameter (":name" or "*name"); its first
// group is the name.
var GinParam = regexp.MustCompile(`[:*]([A-Za-z0-9_]+)`)

// RouteKey spells a gin route as the spec does: "GET /a/{b}" for method
// "GET" and path "/a/:b".
func RouteKey(method, ginPath string) string {
	return method + " " + GinParam.ReplaceAllString(ginPath, "{$1}")
}

// EffectiveSecurity returns the operation's security requirements: its
// own, or the document's when it has none. Empty means public.
func EffectiveSecurity(doc map[string]any, o Op) []any {
	security, overridden := o.Op["security"]
	if !overridden {
		security = doc["security"]
	}
	s, _ := security.([]any)
	return s
}
