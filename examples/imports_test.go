package examples_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestExamplesUseThePublicSDKOnly keeps the example programs copyable: a
// service outside this module can import sdk/... but nothing else of it,
// so neither may they (directly; what the SDK imports is its own rule).
func TestExamplesUseThePublicSDKOnly(t *testing.T) {
	const module = "github.com/greyrouter/greyrouter/"
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "./orders", "./billing", "./caller", "./internal/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		for _, imp := range fields[1:] {
			if strings.HasPrefix(imp, module) && !strings.HasPrefix(imp, module+"sdk/") && !strings.HasPrefix(imp, module+"examples/") {
				t.Errorf("%s imports %s: examples may use the SDK (sdk/...) only", fields[0], imp)
			}
		}
	}
}
