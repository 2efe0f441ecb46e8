package bench

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"
)

// Peer comparison for the uncached RBAC check (issue 4, "Bars"):
// greyrouter's privilege.CompileRBAC + (*RBAC).Votes + privilege.Combine
// against Casbin's Enforce and CachedEnforcer and OPA's prepared rego
// query, on the same generated workloads, in the same run, after checking
// that every engine answers every generated request alike.
//
// Environment:
//
//	PEER_SIZES         comma-separated workload names (default: all of
//	                   small, medium, large, chain10; the multi-tenant
//	                   tenants10, tenants100, tenants1000 run only when
//	                   named)
//	PEER_SETUP_LIMIT   give up building an engine after this long and skip
//	                   it for that size (default 60s)
//	PEER_VERIFY        how many of the workload's 4,096 checks to verify
//	                   before timing (default: all)
//	PEER_RATIOS=1      run TestPeerRatios, which prints the summary table
//	PEER_ROUNDS        TestPeerRatios' rounds per size, alternating the
//	                   engine order (ABBA); the table keeps each engine's
//	                   fastest round (default 2)

const (
	engGreyrouter   = "greyrouter"
	engCasbin       = "casbin"
	engCasbinCached = "casbin-cached"
	engOPA          = "opa"
	engOPAClosure   = "opa-closure"
)

var engines = []string{engGreyrouter, engCasbin, engCasbinCached, engOPA, engOPAClosure, engGreyrouterL1}

var errSetupTooSlow = errors.New("setup took longer than PEER_SETUP_LIMIT (skipped)")

// peerSetup is one workload loaded into every engine and verified.
type peerSetup struct {
	spec     workloadSpec
	w        workload
	decide   map[string]func(i int) (bool, error) // by engine; i indexes w.Checks
	build    map[string]time.Duration             // by engine: compile / load / prepare
	skipped  map[string]string                    // by engine: why it is not timed
	notes    []string
	verified int // checks every engine answered alike
	allowed  int // of those, how many were allowed

	stop func() // stops the greyrouter service

	mu      sync.Mutex
	nsPerOp map[string]float64 // greyrouter's latest, for the ratio metric
}

var (
	peerMu     sync.Mutex
	peerSetups = map[string]*peerSetup{}
)

func envDuration(name string, def time.Duration) time.Duration {
	if v := os.Getenv(name); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
	}
	return def
}

func envInt(name string, def int) int {
	if v := os.Getenv(name); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			return n
		}
	}
	return def
}

func peerSpecs() []workloadSpec {
	v := os.Getenv("PEER_SIZES")
	if v == "" {
		return workloadSpecs
	}
	var out []workloadSpec
	for _, s := range slices.Concat(workloadSpecs, tenantSpecs) {
		if slices.Contains(strings.Split(v, ","), s.Name) {
			out = append(out, s)
		}
	}
	return out
}

// setupPeers builds (once per process) and verifies every engine for spec.
func setupPeers(tb testing.TB, spec workloadSpec) *peerSetup {
	tb.Helper()
	peerMu.Lock()
	defer peerMu.Unlock()
	if s, ok := peerSetups[spec.Name]; ok {
		return s
	}
	limit := envDuration("PEER_SETUP_LIMIT", 60*time.Second)
	s := &peerSetup{
		spec:    spec,
		w:       genWorkload(spec),
		decide:  map[string]func(int) (bool, error){},
		build:   map[string]time.Duration{},
		skipped: map[string]string{},
		nsPerOp: map[string]float64{},
	}
	w := &s.w

	start := time.Now()
	decide, err := newGreyrouter(w)
	if err != nil {
		tb.Fatalf("%s: greyrouter compile: %v", spec.Name, err)
	}
	s.build[engGreyrouter] = time.Since(start)
	s.decide[engGreyrouter] = decide

	l1, stop, err := newGreyrouterL1(w)
	if err != nil {
		tb.Fatalf("%s: greyrouter service: %v", spec.Name, err)
	}
	s.decide[engGreyrouterL1], s.stop = l1, stop

	start = time.Now()
	cb, err := newCasbin(w, limit)
	switch {
	case errors.Is(err, errSetupTooSlow):
		s.skipped[engCasbin] = err.Error()
		s.skipped[engCasbinCached] = err.Error()
	case err != nil:
		tb.Fatalf("%s: casbin setup: %v", spec.Name, err)
	default:
		s.build[engCasbin] = time.Since(start)
		s.build[engCasbinCached] = s.build[engCasbin]
		s.decide[engCasbin] = func(i int) (bool, error) { return cb.enforce(i, &w.Checks[i]) }
		s.decide[engCasbinCached] = func(i int) (bool, error) { return cb.cached(i, &w.Checks[i]) }
		s.notes = append(s.notes, fmt.Sprintf("casbin: %d p rules, %d g links, role manager depth %d", cb.policies, cb.links, cb.level))
	}

	for _, engine := range []string{engOPA, engOPAClosure} {
		start = time.Now()
		op, err := newOPA(w, engine == engOPAClosure, limit)
		switch {
		case errors.Is(err, errSetupTooSlow):
			s.skipped[engine] = err.Error()
		case err != nil:
			tb.Fatalf("%s: %s setup: %v", spec.Name, engine, err)
		default:
			s.build[engine] = time.Since(start)
			s.decide[engine] = op.allow
		}
	}

	verifyPeers(tb, s)
	peerSetups[spec.Name] = s
	return s
}

// releasePeers drops a workload's engines once it has been measured, so
// that the next workload is timed without their heap (the large one holds
// about 3 GB).
func releasePeers(name string) {
	peerMu.Lock()
	if s := peerSetups[name]; s != nil && s.stop != nil {
		s.stop()
	}
	delete(peerSetups, name)
	peerMu.Unlock()
	runtime.GC()
}

// verifyPeers holds every engine to greyrouter's answers on the
// workload's checks, and fills the CachedEnforcer's cache on the way: its
// first pass is all misses (so it also verifies the uncached Enforce,
// which a miss runs), its second all hits.
func verifyPeers(tb testing.TB, s *peerSetup) {
	tb.Helper()
	n := min(envInt("PEER_VERIFY", len(s.w.Checks)), len(s.w.Checks))
	want := make([]bool, n)
	for i := range n {
		want[i], _ = s.decide[engGreyrouter](i)
		if want[i] {
			s.allowed++
		}
	}
	if s.allowed < n/10 || s.allowed > n*9/10 {
		tb.Fatalf("%s: greyrouter allows %d of %d checks; the workload should mix allows and denies", s.spec.Name, s.allowed, n)
	}
	var bad []string
	pass := func(engine, label string) {
		decide, ok := s.decide[engine]
		if !ok {
			return
		}
		for i := range n {
			got, err := decide(i)
			if err != nil {
				tb.Fatalf("%s: %s: check %d: %v", s.spec.Name, label, i, err)
			}
			if got != want[i] && len(bad) < 10 {
				c := s.w.Checks[i]
				bad = append(bad, fmt.Sprintf("%s: check %d (%s %s %s in %s): greyrouter %v, %s %v", s.spec.Name, i, c.Subject, c.Action, c.Resource, s.w.TenantOf(&c), want[i], label, got))
			}
		}
	}
	pass(engCasbinCached, "casbin Enforce (cache misses)")
	pass(engCasbinCached, "casbin CachedEnforcer (hits)")
	pass(engGreyrouterL1, "greyrouter service (compiles, fills L1)")
	pass(engGreyrouterL1, "greyrouter service (L1 hits)")
	pass(engOPA, "opa")
	pass(engOPAClosure, "opa-closure")
	if len(bad) > 0 {
		tb.Fatalf("engines disagree:\n%s", strings.Join(bad, "\n"))
	}
	if _, ok := s.decide[engCasbinCached]; ok && n < len(s.w.Checks) {
		for i := n; i < len(s.w.Checks); i++ { // the benchmark must only hit
			if _, err := s.decide[engCasbinCached](i); err != nil {
				tb.Fatal(err)
			}
		}
	}
	s.verified = n
}

// peerStride steps through the checks: odd, so coprime with the 4,096
// checks, it visits every one of them every 4,096 iterations, and spreads
// the few iterations a slow engine gets (Casbin on large) over the whole
// list rather than its first entries.
const peerStride = 2477

// runPeer times one engine on the workload's checks.
func runPeer(b *testing.B, s *peerSetup, engine string) {
	decide := s.decide[engine]
	n := len(s.w.Checks)
	b.ReportAllocs()
	i, allowed := 0, 0
	for b.Loop() {
		ok, err := decide(i * peerStride % n)
		if err != nil {
			b.Fatal(err)
		}
		if ok {
			allowed++
		}
		i++
	}
	b.ReportMetric(float64(allowed)/float64(i), "allow/op")
}

// BenchmarkPeers times every engine on every workload. Peers report
// x-greyrouter: their ns/op divided by greyrouter's on the same workload
// in the same run (greyrouter runs first).
func BenchmarkPeers(b *testing.B) {
	for _, spec := range peerSpecs() {
		b.Run(spec.Name, func(b *testing.B) {
			s := setupPeers(b, spec)
			for _, engine := range engines {
				b.Run(engine, func(b *testing.B) {
					if why, ok := s.skipped[engine]; ok {
						b.Skip(why)
					}
					runPeer(b, s, engine)
					ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
					s.mu.Lock()
					defer s.mu.Unlock()
					if engine == engGreyrouter {
						s.nsPerOp[engine] = ns
					} else if g := s.nsPerOp[engGreyrouter]; g > 0 {
						b.ReportMetric(ns/g, "x-greyrouter")
					}
					b.ReportMetric(s.build[engine].Seconds(), "setup-s")
				})
			}
		})
		releasePeers(spec.Name)
	}
}

// TestPeerRatios runs testing.Benchmark for every engine and workload and
// prints ns/op, allocs/op and the ratios as one table. It is slow (the
// large workload alone takes minutes), so it runs only with PEER_RATIOS=1.
func TestPeerRatios(t *testing.T) {
	if os.Getenv("PEER_RATIOS") == "" {
		t.Skip("set PEER_RATIOS=1 to run the peer comparison")
	}
	rounds := envInt("PEER_ROUNDS", 2)
	type cell struct {
		ns, allocs float64
		ok         bool
	}
	results := map[string]map[string]cell{}
	var order []*peerSetup
	for _, spec := range peerSpecs() {
		s := setupPeers(t, spec)
		releasePeers(spec.Name) // s stays alive until the next workload
		order = append(order, s)
		results[spec.Name] = map[string]cell{}
		for round := range rounds {
			seq := slices.Clone(engines)
			if round%2 == 1 {
				slices.Reverse(seq)
			}
			for _, engine := range seq {
				if _, skip := s.skipped[engine]; skip {
					continue
				}
				r := testing.Benchmark(func(b *testing.B) { runPeer(b, s, engine) })
				ns := float64(r.T.Nanoseconds()) / float64(r.N)
				allocs := float64(r.MemAllocs) / float64(r.N)
				t.Logf("%s round %d %s: %.0f ns/op, %.1f allocs/op (N=%d)", spec.Name, round+1, engine, ns, allocs, r.N)
				if c := results[spec.Name][engine]; !c.ok || ns < c.ns {
					results[spec.Name][engine] = cell{ns, allocs, true}
				}
			}
		}
	}

	var out strings.Builder
	fmt.Fprintf(&out, "\nOne RBAC decision, ns/op (allocs/op); fastest of %d round(s), engines alternating ABBA;\nall uncached except the CachedEnforcer hit\n\n", rounds)
	tw := tabwriter.NewWriter(&out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workload\ttenants\troles\tsubjects\tverified\tgreyrouter\tcasbin Enforce\tcasbin cached hit\topa (graph.reachable)\topa (closure in data)\tgreyrouter L1 hit\tcasbin/grey\tcached/grey\topa/grey\topa-closure/grey\tl1/grey\tcached/l1\t")
	for _, s := range order {
		res := results[s.spec.Name]
		g := res[engGreyrouter]
		row := []string{s.spec.Name, strconv.Itoa(max(1, len(s.w.Tenants))), strconv.Itoa(len(s.w.Roles)), strconv.Itoa(subjects(&s.w)), fmt.Sprintf("%d/%d", s.verified, len(s.w.Checks))}
		for _, e := range engines {
			if c := res[e]; c.ok {
				row = append(row, fmt.Sprintf("%s (%s)", fmtNs(c.ns), fmtAllocs(c.allocs)))
			} else {
				row = append(row, "skipped")
			}
		}
		for _, e := range engines[1:] {
			if c := res[e]; c.ok {
				row = append(row, fmtRatio(c.ns/g.ns))
			} else {
				row = append(row, "-")
			}
		}
		if c, l1 := res[engCasbinCached], res[engGreyrouterL1]; c.ok && l1.ok {
			row = append(row, fmtRatio(c.ns/l1.ns))
		} else {
			row = append(row, "-")
		}
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	tw.Flush()
	fmt.Fprintf(&out, "\nx/grey = the engine's ns/op divided by greyrouter's uncached decision (how many times faster greyrouter is);\ncached/l1 = Casbin's CachedEnforcer hit divided by greyrouter's L1 hit (privilege/service Check).\n\nSetup (build, load, prepare):\n")
	for _, s := range order {
		fmt.Fprintf(&out, "  %-11s greyrouter %v", s.spec.Name, s.build[engGreyrouter].Round(time.Millisecond))
		for _, e := range []string{engCasbin, engOPA, engOPAClosure} {
			if why, skip := s.skipped[e]; skip {
				fmt.Fprintf(&out, ", %s skipped: %s", e, why)
			} else {
				fmt.Fprintf(&out, ", %s %v", e, s.build[e].Round(time.Millisecond))
			}
		}
		fmt.Fprintf(&out, "; greyrouter allows %d of %d verified checks\n", s.allowed, s.verified)
		for _, note := range s.notes {
			fmt.Fprintf(&out, "              %s\n", note)
		}
	}
	fmt.Print(out.String())
}

// subjects counts the distinct subjects holding an assignment.
func subjects(w *workload) int {
	seen := map[string]bool{}
	for _, a := range w.Assignments {
		seen[a.Subject] = true
	}
	return len(seen)
}

func fmtAllocs(a float64) string {
	if a < 10 {
		return fmt.Sprintf("%.1f", a)
	}
	return fmt.Sprintf("%.0f", a)
}

func fmtRatio(r float64) string {
	if r < 10 {
		return fmt.Sprintf("%.2fx", r)
	}
	return fmt.Sprintf("%.0fx", r)
}

func fmtNs(ns float64) string {
	switch {
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e4:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	default:
		return fmt.Sprintf("%.0f ns", ns)
	}
}
