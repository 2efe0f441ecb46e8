package deploytest

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// documentedEnv are the variables the deployment sets for the binary; each
// must be read (and so documented) somewhere in cmd/greyrouter.
var documentedEnv = []string{
	"DATABASE_URL",
	"REDIS_URL",
	"GREYROUTER_ADDR",
	"GREYROUTER_ADMIN_TOKEN",
	"GREYROUTER_KEY_ENCRYPTION_KEY",
	"NACOS_ADDRS",
	"NACOS_REGISTER",
	"GREYROUTER_DATA_DIR",
}

type composeFile struct {
	Services map[string]composeService `yaml:"services"`
}

type composeService struct {
	Image       string        `yaml:"image"`
	Build       *composeBuild `yaml:"build"`
	Environment yaml.Node     `yaml:"environment"`
	DependsOn   yaml.Node     `yaml:"depends_on"`
	Healthcheck *struct {
		Test yaml.Node `yaml:"test"`
	} `yaml:"healthcheck"`
}

// composeBuild accepts both `build: dir` and `build: {context, dockerfile}`.
type composeBuild struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
}

func (b *composeBuild) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		b.Context = n.Value
		return nil
	}
	type plain composeBuild
	return n.Decode((*plain)(b))
}

// names returns the keys of a mapping node or the items of a sequence node;
// items of the form KEY=VALUE yield KEY. Compose allows both forms for
// environment and depends_on.
func names(t *testing.T, n yaml.Node) []string {
	t.Helper()
	var out []string
	switch n.Kind {
	case 0:
	case yaml.MappingNode:
		for i := 0; i < len(n.Content); i += 2 {
			out = append(out, n.Content[i].Value)
		}
	case yaml.SequenceNode:
		for _, item := range n.Content {
			key, _, _ := strings.Cut(item.Value, "=")
			out = append(out, key)
		}
	default:
		t.Fatalf("line %d: want a mapping or a list, got %q", n.Line, n.Value)
	}
	return out
}

// dependsOnHealthy returns the services named in depends_on with
// condition: service_healthy.
func dependsOnHealthy(n yaml.Node) []string {
	var out []string
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i < len(n.Content); i += 2 {
		var dep struct {
			Condition string `yaml:"condition"`
		}
		if n.Content[i+1].Decode(&dep) == nil && dep.Condition == "service_healthy" {
			out = append(out, n.Content[i].Value)
		}
	}
	return out
}

func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's working directory")
		}
		dir = parent
	}
}

func loadCompose(t *testing.T, root string) composeFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	if err != nil {
		t.Fatalf("read docker-compose.yml: %v", err)
	}
	var f composeFile
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("parse docker-compose.yml: %v", err)
	}
	return f
}

// dockerfileInstructions returns the Dockerfile's instructions with
// continuation lines joined and comments dropped.
func dockerfileInstructions(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open Dockerfile: %v", err)
	}
	defer f.Close()
	var out []string
	var cur strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || (line == "" && cur.Len() == 0) {
			continue
		}
		if strings.HasSuffix(line, `\`) {
			cur.WriteString(strings.TrimSuffix(line, `\`) + " ")
			continue
		}
		cur.WriteString(line)
		out = append(out, cur.String())
		cur.Reset()
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read Dockerfile: %v", err)
	}
	return out
}

// goBuildPackages returns the ./package arguments of every `go build` in the
// Dockerfile.
func goBuildPackages(instructions []string) []string {
	var pkgs []string
	for _, ins := range instructions {
		fields := strings.Fields(ins)
		for i := 0; i+1 < len(fields); i++ {
			if fields[i] != "go" || fields[i+1] != "build" {
				continue
			}
			for _, f := range fields[i+2:] {
				if f == "&&" || f == ";" || f == "||" {
					break
				}
				if strings.HasPrefix(f, "./") {
					pkgs = append(pkgs, f)
				}
			}
		}
	}
	return pkgs
}

// dockerfileEnv returns the names set by ENV instructions.
func dockerfileEnv(instructions []string) []string {
	var out []string
	for _, ins := range instructions {
		fields := strings.Fields(ins)
		if len(fields) < 2 || !strings.EqualFold(fields[0], "ENV") {
			continue
		}
		if !strings.Contains(fields[1], "=") { // legacy `ENV KEY value`
			out = append(out, fields[1])
			continue
		}
		for _, kv := range fields[1:] {
			if k, _, ok := strings.Cut(kv, "="); ok {
				out = append(out, k)
			}
		}
	}
	return out
}

func TestCompose(t *testing.T) {
	root := repoRoot(t)
	compose := loadCompose(t, root)

	t.Run("defines redis, postgres, nacos and greyrouter", func(t *testing.T) {
		for _, name := range []string{"redis", "postgres", "nacos", "greyrouter"} {
			if _, ok := compose.Services[name]; !ok {
				t.Errorf("service %q is missing", name)
			}
		}
	})

	t.Run("every build context and dockerfile exists", func(t *testing.T) {
		for name, svc := range compose.Services {
			if svc.Build == nil {
				if svc.Image == "" {
					t.Errorf("service %q has neither image nor build", name)
				}
				continue
			}
			ctx := filepath.Join(root, svc.Build.Context)
			if st, err := os.Stat(ctx); err != nil || !st.IsDir() {
				t.Errorf("service %q: build context %q is not a directory", name, svc.Build.Context)
			}
			df := svc.Build.Dockerfile
			if df == "" {
				df = "Dockerfile"
			}
			if _, err := os.Stat(filepath.Join(ctx, df)); err != nil {
				t.Errorf("service %q: dockerfile %q: %v", name, df, err)
			}
		}
	})

	t.Run("every depends_on names a defined service", func(t *testing.T) {
		for name, svc := range compose.Services {
			for _, dep := range names(t, svc.DependsOn) {
				if _, ok := compose.Services[dep]; !ok {
					t.Errorf("service %q depends on undefined service %q", name, dep)
				}
			}
		}
	})

	t.Run("services waited on as healthy define a healthcheck", func(t *testing.T) {
		for name, svc := range compose.Services {
			for _, dep := range dependsOnHealthy(svc.DependsOn) {
				if d, ok := compose.Services[dep]; ok && d.Healthcheck == nil {
					t.Errorf("service %q waits for %q to be healthy, but %q has no healthcheck", name, dep, dep)
				}
			}
		}
	})

	t.Run("greyrouter is healthy only when ready", func(t *testing.T) {
		hc := compose.Services["greyrouter"].Healthcheck
		if hc == nil {
			t.Fatal("greyrouter has no healthcheck")
		}
		var test []string
		if err := hc.Test.Decode(&test); err != nil || !slices.ContainsFunc(test, func(s string) bool {
			return strings.HasSuffix(s, "/readyz")
		}) {
			t.Errorf("greyrouter healthcheck %v does not probe /readyz", test)
		}
	})
}

func TestDockerfile(t *testing.T) {
	root := repoRoot(t)
	instructions := dockerfileInstructions(t, filepath.Join(root, "Dockerfile"))
	compose := loadCompose(t, root)

	t.Run("go build targets exist as directories", func(t *testing.T) {
		pkgs := goBuildPackages(instructions)
		if !slices.Contains(pkgs, "./cmd/greyrouter") {
			t.Errorf("Dockerfile builds %v, want ./cmd/greyrouter", pkgs)
		}
		for _, p := range pkgs {
			if st, err := os.Stat(filepath.Join(root, p)); err != nil || !st.IsDir() {
				t.Errorf("Dockerfile builds %s, which is not a directory", p)
			}
		}
	})

	t.Run("the binary reads every variable the deployment sets", func(t *testing.T) {
		dir := filepath.Join(root, "cmd", "greyrouter")
		if _, err := os.Stat(dir); os.IsNotExist(err) {
			t.Skip("cmd/greyrouter does not exist yet")
		}
		set := names(t, compose.Services["greyrouter"].Environment)
		set = append(set, dockerfileEnv(instructions)...)
		for _, want := range documentedEnv {
			if !slices.Contains(set, want) {
				t.Errorf("%s is not set by docker-compose.yml (greyrouter) or the Dockerfile", want)
			}
		}
		src := goSources(t, dir)
		for _, name := range uniqueSorted(append(set, documentedEnv...)) {
			if !regexp.MustCompile(`(^|[^A-Za-z0-9_])` + regexp.QuoteMeta(name) + `($|[^A-Za-z0-9_])`).MatchString(src) {
				t.Errorf("%s is set for the container but no non-test .go file in cmd/greyrouter mentions it", name)
			}
		}
	})
}

// goSources concatenates the non-test Go files of dir and its subdirectories.
func goSources(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path)
		b.Write(src)
		b.WriteByte('\n')
		return err
	})
	if err != nil {
		t.Fatalf("read cmd/greyrouter sources: %v", err)
	}
	if b.Len() == 0 {
		t.Fatal("cmd/greyrouter has no non-test .go files")
	}
	return b.String()
}

func uniqueSorted(s []string) []string {
	sort.Strings(s)
	return slices.Compact(s)
}
