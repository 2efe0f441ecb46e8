package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/greyrouter/greyrouter/"

// deps returns the transitive imports of a package, via go list.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", module+pkg).Output()
	if err != nil {
		t.Fatalf("go list %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

var routerAdapters = []string{module + "router/sqlstore", module + "router/redisstore", module + "router/httpapi"}

func TestLayering(t *testing.T) {
	frameworks := []string{"github.com/gin-gonic/gin", "gorm.io/", "github.com/redis/go-redis", "github.com/nacos-group/", "github.com/alicebob/miniredis"}
	rules := []struct {
		pkg       string
		forbidden []string
	}{
		// Pure domain: no frameworks, no adapters.
		{"router", append(frameworks, module+"router/")},
		{"internal/apperr", frameworks},
		// login may use router's pure names (ValidName), never its adapters.
		{"login", append(frameworks, routerAdapters...)},
		{"login/sqlstore", append([]string{"github.com/gin-gonic/gin", "github.com/redis/go-redis", module + "login/redisstore"}, routerAdapters...)},
		{"login/redisstore", append([]string{"github.com/gin-gonic/gin", "gorm.io/", module + "login/sqlstore"}, routerAdapters...)},
		// The verifier runs inside calling services (through the SDK).
		{"login/verify", append(frameworks, module+"login/sqlstore", module+"login/redisstore", module+"login/httpapi")},
		{"login/httpapi", append([]string{"gorm.io/", "github.com/redis/go-redis", module + "login/sqlstore", module + "login/redisstore"}, routerAdapters...)},
		{"privilege", frameworks},
		{"privilege/sqlstore", []string{"github.com/gin-gonic/gin", "github.com/redis/go-redis", module + "router/", module + "login/"}},
		// The cache is shared by the service and the SDK: no stores, no HTTP.
		{"privilege/cache", []string{"github.com/gin-gonic/gin", "gorm.io/", module + "privilege/sqlstore", module + "privilege/service", module + "privilege/httpapi", module + "login/", module + "router/"}},
		// The service works on the Store contract; HTTP stays out of it.
		{"privilege/service", append([]string{"github.com/gin-gonic/gin", "gorm.io/", module + "privilege/sqlstore", module + "privilege/httpapi", module + "login/"}, routerAdapters...)},
		{"privilege/httpapi", append([]string{"gorm.io/", module + "privilege/sqlstore"}, routerAdapters...)},
		{"internal/batchlog", frameworks},
		// The error shape the SDK shares with the server: no gin.
		{"internal/httperr", frameworks},
		// Adapters speak domain terms and do not import each other.
		{"router/redisstore", []string{"github.com/gin-gonic/gin", "gorm.io/", module + "router/sqlstore", module + "router/httpapi"}},
		{"router/sqlstore", []string{"github.com/gin-gonic/gin", "github.com/redis/go-redis", module + "router/redisstore", module + "router/httpapi"}},
		{"router/httpapi", []string{"gorm.io/", "github.com/redis/go-redis", module + "router/sqlstore", module + "router/redisstore"}},
		// The SDK never reaches the server's internals.
		{"sdk", []string{"github.com/gin-gonic/gin", "gorm.io/", module + "router/httpapi", module + "router/sqlstore", module + "internal/dbx"}},
		{"sdk/auth", []string{"gorm.io/", module + "login/httpapi", module + "login/sqlstore", module + "internal/httpx", module + "internal/dbx", module + "router/httpapi", module + "router/sqlstore"}},
		{"sdk/privilege", []string{"gorm.io/", module + "privilege/service", module + "privilege/sqlstore", module + "privilege/httpapi", module + "login/httpapi", module + "internal/httpx", module + "internal/dbx", module + "router/httpapi", module + "router/sqlstore"}},
		{"sdk/lane", append(frameworks, module+"router/", module+"login/", module+"privilege/")},
		{"sdk/router", []string{"gorm.io/", module + "router/httpapi", module + "router/sqlstore", module + "internal/httpx", module + "internal/dbx", module + "login/httpapi", module + "privilege/"}},
		{"sdk/registry", []string{"github.com/gin-gonic/gin", "gorm.io/", "github.com/redis/go-redis", module + "router/httpapi", module + "router/sqlstore", module + "router/redisstore", module + "internal/dbx"}},
	}
	for _, r := range rules {
		t.Run(r.pkg+" keeps its imports clean", func(t *testing.T) {
			for _, d := range deps(t, r.pkg) {
				if d == module+r.pkg {
					continue
				}
				for _, f := range r.forbidden {
					if strings.HasPrefix(d, f) || d == strings.TrimSuffix(f, "/") {
						t.Errorf("%s imports %s", r.pkg, d)
					}
				}
			}
		})
	}
}
