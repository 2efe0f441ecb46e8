package privilege_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
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

// TestRBACWorkloadsKeepTheirBytes pins the single-tenant workloads' JSON:
// the numbers in BENCHMARKS.md were measured on exactly these, so a change
// to the generator must not move them (the hashes are the ones the peer
// module recorded before the generator moved to privilege/workload).
func TestRBACWorkloadsKeepTheirBytes(t *testing.T) {
	want := map[string]string{
		"small":   "100a410121482885939d751094b399f4e315b81b2fbe9efbefc2d3ea24420af2",
		"medium":  "e4e7a2aab4a0da415b44943f0d3b6b9ac10b035cd79475e9cea692fba38e080a",
		"large":   "567b232a966904eb019e0f0598e8feef9038026b0284f9102304b12fb648bc7d",
		"chain10": "060ade54c643365aa1557d9e2265762d631c85322e4fc0224ba91b2537f084eb",
	}
	for _, spec := range workload.Specs {
		if spec.Name == "large" && testing.Short() {
			continue
		}
		b, err := json.Marshal(workload.Generate(spec))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); got != want[spec.Name] {
			t.Errorf("%s: sha256 of the workload's JSON is %s, want %s", spec.Name, got, want[spec.Name])
		}
	}
}

func TestMultiTenantWorkloadsCompilePerTenantAndIsolateTenants(t *testing.T) {
	for _, spec := range workload.TenantSpecs {
		t.Run(spec.Name, func(t *testing.T) {
			w := workload.Generate(spec)
			again, _ := json.Marshal(workload.Generate(spec))
			if first, _ := json.Marshal(w); string(first) != string(again) {
				t.Fatal("the same spec generated two different workloads")
			}
			if len(w.Tenants) != spec.Tenants {
				t.Fatalf("%d tenants, want %d", len(w.Tenants), spec.Tenants)
			}
			policies := w.PerTenant()
			compiled := make(map[string]*privilege.RBAC, len(policies))
			for _, p := range policies {
				if want := 3 + spec.Roles + spec.Chain; len(p.Roles) != want {
					t.Fatalf("tenant %s has %d roles, want %d", p.Tenant, len(p.Roles), want)
				}
				r, err := privilege.CompileRBAC(p.Tenant, p.Roles, p.Assignments)
				if err != nil {
					t.Fatalf("compile %s: %v %v", p.Tenant, err, apperr.DetailsOf(err))
				}
				compiled[p.Tenant] = r
			}

			var allowed, staff, foreign, foreignAllowed, deepest int
			for i := range w.Checks {
				c := &w.Checks[i]
				if c.Tenant == "" || compiled[c.Tenant] == nil {
					t.Fatalf("check %d names tenant %q, which the workload does not have", i, c.Tenant)
				}
				votes := compiled[c.Tenant].Votes(c.Subject, c.Resource, c.Action, w.Now)
				ok, _ := privilege.Combine(privilege.DenyOverrides, votes)
				if ok {
					allowed++
				}
				for _, v := range votes {
					deepest = max(deepest, len(v.RolePath))
				}
				switch {
				case strings.HasPrefix(c.Subject, "staff-"):
					staff++
				case !strings.HasSuffix(c.Subject, "@"+c.Tenant):
					foreign++
					if len(votes) > 0 {
						foreignAllowed++
					}
				}
			}
			n := len(w.Checks)
			if allowed < n/10 || allowed > n*9/10 {
				t.Errorf("%d of %d checks allowed; the workload should mix allows and denies", allowed, n)
			}
			if staff == 0 || foreign == 0 {
				t.Errorf("%d checks by platform staff and %d by users of another tenant; want some of each", staff, foreign)
			}
			if foreignAllowed > 0 {
				t.Errorf("%d of %d checks by users of another tenant have votes; tenants must be isolated", foreignAllowed, foreign)
			}
			if deepest < spec.Chain {
				t.Errorf("the longest role path voting is %d roles; the %d-level chain should be reached", deepest, spec.Chain)
			}
		})
	}
}
