package privilege_test

import (
	"encoding/json"
	"testing"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/privilege"
	"github.com/greyrouter/greyrouter/privilege/workload"
)

func TestRBACWorkloadIsDeterministicAndCompiles(t *testing.T) {
	spec := workload.Specs[0]
	a, b := workload.Generate(spec), workload.Generate(spec)
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Fatal("the same spec generated two different workloads")
	}
	rb, err := privilege.CompileRBAC(a.Tenant, a.Roles, a.Assignments)
	if err != nil {
		t.Fatalf("compile: %v %v", err, apperr.DetailsOf(err))
	}
	hits := 0
	for _, c := range a.Checks {
		if len(rb.Votes(c.Subject, c.Resource, c.Action, a.Now)) > 0 {
			hits++
		}
	}
	if hits < len(a.Checks)/3 || hits > len(a.Checks)*9/10 {
		t.Fatalf("%d of %d checks have votes; the workload should mix hits and misses", hits, len(a.Checks))
	}
}
