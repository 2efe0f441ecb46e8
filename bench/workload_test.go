package bench

import wl "github.com/greyrouter/greyrouter/privilege/workload"

// The workloads come from privilege/workload, the generator privilege's own
// benchmarks use, so every engine here is fed exactly what greyrouter is.
type (
	workloadSpec = wl.Spec
	workload     = wl.Workload
	check        = wl.Check
)

// workloadSpecs run by default; tenantSpecs (the multi-tenant workloads)
// run when PEER_SIZES names them.
var (
	workloadSpecs = wl.Specs
	tenantSpecs   = wl.TenantSpecs
)

func genWorkload(spec workloadSpec) workload { return wl.Generate(spec) }
