package archtest

import (
	"go/ast"
	"go/build"
	"go/doc"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The SDK packages whose godoc must show every entry point in use.
var examplePackages = []string{"sdk/auth", "sdk/privilege", "sdk/router", "sdk/registry", "sdk/lane"}

// An exemption is an entry point that needs no example of its own, and
// why. Names are as in go doc: Func, Type, Type.Method.
type exemption struct{ pkg, name, why string }

// exampleExemptions are few on purpose: a method that only implements a
// standard interface, called by the standard library, not by services.
var exampleExemptions = []exemption{
	{"sdk/privilege", "Error.Error", "implements error; ExampleError shows how a caller tells a refused check apart, with errors.As"},
	{"sdk/router", "Transport.RoundTrip", "implements http.RoundTripper and is called by http.Client, never directly; ExampleTransport shows it in use"},
}

// TestEveryEntryPointHasAnExample keeps the SDK's godoc runnable: a
// service author should find each entry point shown in use. The rule:
//
//   - every exported function, constructors included, has its own example
//     (ExampleNew, ExampleHeadersFrom);
//   - every exported method of an exported type has its own example
//     (ExampleClient_Resolve; a suffix such as ExampleClient_Resolve_lane
//     counts);
//   - every exported type is covered: by its own example (ExampleTransport),
//     by an example of one of its constructors or methods, or, for a type
//     with neither (configs, options, data, aliases), by being named, or
//     one of its constants (router.SourceLocal), in the body of some
//     example of its package (auth.Config{...}).
//
// Package-level variables and constants, struct fields and the methods of
// interface types are not entry points of their own. Exemptions need a
// reason (exampleExemptions).
func TestEveryEntryPointHasAnExample(t *testing.T) {
	for _, pkg := range examplePackages {
		t.Run(pkg+" shows every entry point in an example", func(t *testing.T) {
			points := entryPoints(t, pkg)
			exempt := map[string]bool{}
			for _, e := range exampleExemptions {
				if e.pkg != pkg {
					continue
				}
				if _, ok := points[e.name]; !ok {
					t.Errorf("exemption %s names no exported entry point of %s: remove it", e.name, pkg)
				}
				if e.why == "" {
					t.Errorf("exemption %s gives no reason", e.name)
				}
				exempt[e.name] = true
			}
			var missing []string
			for name, covered := range points {
				if covered.ok || exempt[name] {
					continue
				}
				missing = append(missing, name+" (want "+covered.want+")")
			}
			slices.Sort(missing)
			if len(missing) > 0 {
				t.Errorf("%s: entry points without an example (%d):\n\t%s", pkg, len(missing), strings.Join(missing, "\n\t"))
			}
		})
	}
}

// coverage says whether an entry point is shown in an example, and what
// would show it.
type coverage struct {
	ok   bool
	want string
}

// entryPoints returns the exported entry points of pkg by name (see
// TestEveryEntryPointHasAnExample) with their coverage.
func entryPoints(t *testing.T, pkg string) map[string]coverage {
	t.Helper()
	dir := filepath.Join("..", "..", filepath.FromSlash(pkg))
	bp, err := build.ImportDir(dir, 0)
	if err != nil {
		t.Fatalf("reading %s: %v", pkg, err)
	}
	fset := token.NewFileSet()
	var files, tests []*ast.File
	for _, names := range [][]string{bp.GoFiles, bp.CgoFiles, bp.TestGoFiles, bp.XTestGoFiles} {
		for _, name := range names {
			f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments)
			if err != nil {
				t.Fatalf("parsing %s: %v", pkg, err)
			}
			files = append(files, f)
			if strings.HasSuffix(name, "_test.go") {
				tests = append(tests, f)
			}
		}
	}
	named := namedInExamples(tests, module+pkg, bp.Name)
	// NewFromFiles attaches each Example function to the function, type or
	// method its name refers to, as go doc and pkg.go.dev do; an example
	// whose name refers to nothing is dropped, and covers nothing.
	dp, err := doc.NewFromFiles(fset, files, module+pkg)
	if err != nil {
		t.Fatalf("documenting %s: %v", pkg, err)
	}

	points := map[string]coverage{}
	for _, f := range dp.Funcs {
		points[f.Name] = coverage{len(f.Examples) > 0, "Example" + f.Name}
	}
	for _, typ := range dp.Types {
		// A type with constructors or methods is covered once they are,
		// each by its own example; only the others are entry points of
		// their own.
		own := true
		for _, f := range typ.Funcs {
			points[f.Name] = coverage{len(f.Examples) > 0, "Example" + f.Name}
			own = false
		}
		for _, m := range typ.Methods {
			if !token.IsExported(m.Name) {
				continue
			}
			name := typ.Name + "." + m.Name
			points[name] = coverage{len(m.Examples) > 0, "Example" + typ.Name + "_" + m.Name}
			if !isExempt(pkg, name) {
				own = false
			}
		}
		if own {
			ok := len(typ.Examples) > 0 || named[typ.Name]
			for _, v := range slices.Concat(typ.Consts, typ.Vars) {
				ok = ok || slices.ContainsFunc(v.Names, func(n string) bool { return named[n] })
			}
			points[typ.Name] = coverage{ok,
				"Example" + typ.Name + ", or an example naming " + bp.Name + "." + typ.Name}
		}
	}
	return points
}

func isExempt(pkg, name string) bool {
	return slices.ContainsFunc(exampleExemptions, func(e exemption) bool {
		return e.pkg == pkg && e.name == name
	})
}

// namedInExamples returns the identifiers of the package that the bodies
// of its Example functions use: pkg.Name in an external test package, a
// bare Name in the package itself.
func namedInExamples(tests []*ast.File, importPath, pkgName string) map[string]bool {
	named := map[string]bool{}
	for _, f := range tests {
		local := "" // the package's own identifiers are unqualified
		if f.Name.Name != pkgName {
			local = importName(f, importPath)
			if local == "" {
				continue
			}
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || fn.Body == nil || !strings.HasPrefix(fn.Name.Name, "Example") {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.SelectorExpr:
					if x, ok := n.X.(*ast.Ident); ok && local != "" && x.Name == local {
						named[n.Sel.Name] = true
					}
				case *ast.Ident:
					if local == "" {
						named[n.Name] = true
					}
				}
				return true
			})
		}
	}
	return named
}

// importName returns the name f refers to importPath by, or "" when f
// does not import it.
func importName(f *ast.File, importPath string) string {
	for _, imp := range f.Imports {
		if p, err := strconv.Unquote(imp.Path.Value); err != nil || p != importPath {
			continue
		}
		if imp.Name != nil {
			return imp.Name.Name
		}
		return importPath[strings.LastIndex(importPath, "/")+1:]
	}
	return ""
}
