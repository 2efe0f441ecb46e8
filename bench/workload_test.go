package bench

import wl "github.com/greyrouter/greyrouter/privilege/workload"

// The workloads come from privilege/workload, the generator privilege's own
// benchmarks use, so every engine here is fed exactly what greyrouter is.
type (
	workloadSpec = wl.Spec
	workload     = wl.Workload
	check        = wl.Check
)

var workloadSpecs = wl.Specs

func genWorkload(spec workloadSpec) workload { return wl.Generate(spec) }
