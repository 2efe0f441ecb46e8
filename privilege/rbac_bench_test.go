package privilege_test

import (
	"sync"
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/privilege"
	"github.com/greyrouter/greyrouter/privilege/workload"
)

// rbacBenchCache keeps compiled workloads across sub-benchmarks: the large
// one takes a while to generate and compile.
var rbacBenchCache sync.Map // spec name -> *rbacBenchSetup

type rbacBenchSetup struct {
	w       workload.Workload
	r       *privilege.RBAC
	compile time.Duration
}

func rbacBenchWorkload(b *testing.B, spec workload.Spec) *rbacBenchSetup {
	b.Helper()
	if s, ok := rbacBenchCache.Load(spec.Name); ok {
		return s.(*rbacBenchSetup)
	}
	w := workload.Generate(spec)
	start := time.Now()
	r, err := privilege.CompileRBAC(w.Tenant, w.Roles, w.Assignments)
	if err != nil {
		b.Fatalf("compile %s: %v", spec.Name, err)
	}
	s := &rbacBenchSetup{w: w, r: r, compile: time.Since(start)}
	rbacBenchCache.Store(spec.Name, s)
	return s
}

// BenchmarkRBACCheck times one uncached check (Votes) over the workload's
// mix of hits and misses; hit/op is the share of checks with votes.
func BenchmarkRBACCheck(b *testing.B) {
	for _, spec := range workload.Specs {
		b.Run(spec.Name, func(b *testing.B) {
			s := rbacBenchWorkload(b, spec)
			checks, r, now := s.w.Checks, s.r, s.w.Now
			b.ReportAllocs()
			i, hits := 0, 0
			for b.Loop() {
				c := &checks[i%len(checks)]
				if len(r.Votes(c.Subject, c.Resource, c.Action, now)) > 0 {
					hits++
				}
				i++
			}
			b.ReportMetric(float64(hits)/float64(i), "hit/op")
			b.ReportMetric(float64(s.compile.Milliseconds()), "compile-ms")
		})
	}
}

// BenchmarkRBACCheckMiss times checks that find nothing (a resource no
// assigned role's pattern covers), which should allocate nothing.
func BenchmarkRBACCheckMiss(b *testing.B) {
	for _, spec := range workload.Specs {
		if spec.Name != "large" && spec.Name != "chain10" {
			continue
		}
		b.Run(spec.Name, func(b *testing.B) {
			s := rbacBenchWorkload(b, spec)
			checks, r, now := s.w.Checks, s.r, s.w.Now
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				c := &checks[i%len(checks)]
				if len(r.Votes(c.Subject, "nowhere/1/items", "write", now)) > 0 {
					b.Fatal("a vote for a resource no role names")
				}
				i++
			}
		})
	}
}
