package sdk_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// phase is a stretch of the test: the load labels every call with the
// phase it started in.
type phase int

const (
	phWarm phase = iota
	phRedisStopping
	phRedisDown
	phRedisStarting
	phRedisBack
	phRouterStopping
	phRouterDown
	phRouterStarting
	phRouterBack
	numPhases
)

var phaseNames = [numPhases]string{"warm", "redis stopping", "redis down", "redis starting", "redis back",
	"router stopping", "router down", "router starting", "router back"}

// maxSeconds bounds the per-second table of a phase.
const maxSeconds = 16

// counts are the outcomes of calls: ok (the right answer), refused (the
// SDK failed closed: a 503-kind error from sdk/auth, a fail-closed
// denial from sdk/privilege) and fails (a wrong answer or an error that
// must not happen).
type counts struct{ ops, fails, refused int }

func (c *counts) add(o counts) { c.ops += o.ops; c.fails += o.fails; c.refused += o.refused }

// cell is what one kind of call did in one phase.
type cell struct {
	counts
	lat   []time.Duration
	tiers map[string]int
	// firstFail describes the first failure, for the report.
	firstFail string
}

// recorder holds one worker's results; workers never share one, and the
// test merges them once the load has stopped.
type recorder struct {
	cells [numPhases][numOps]cell
	secs  [numPhases][maxSeconds][numOps]counts
}

// clock tells the load which phase it is in and since when.
type clock struct {
	cur atomic.Pointer[phaseAt]
}

type phaseAt struct {
	p     phase
	start time.Time
}

func (c *clock) set(p phase) { c.cur.Store(&phaseAt{p: p, start: time.Now()}) }

func (c *clock) now() *phaseAt { return c.cur.Load() }

// outcome is one call's result.
type outcome struct {
	ok, refused bool
	tier        string
	why         string // for a failure
}

func (r *recorder) record(at *phaseAt, kind op, began time.Time, o outcome) {
	d := time.Since(began)
	c := &r.cells[at.p][kind]
	c.ops++
	c.lat = append(c.lat, d)
	n := counts{ops: 1}
	switch {
	case o.refused:
		n.refused = 1
	case !o.ok:
		n.fails = 1
		if c.firstFail == "" {
			c.firstFail = fmt.Sprintf("%.1fs into %s: %s", began.Sub(at.start).Seconds(), phaseNames[at.p], o.why)
		}
	}
	c.fails += n.fails
	c.refused += n.refused
	if o.tier != "" {
		if c.tiers == nil {
			c.tiers = map[string]int{}
		}
		c.tiers[o.tier]++
	}
	if s := int(began.Sub(at.start) / time.Second); s >= 0 && s < maxSeconds {
		r.secs[at.p][s][kind].add(n)
	}
}

// merge adds o's results to r.
func (r *recorder) merge(o *recorder) {
	for p := range numPhases {
		for k := range numOps {
			c, oc := &r.cells[p][k], &o.cells[p][k]
			c.add(oc.counts)
			c.lat = append(c.lat, oc.lat...)
			for tier, n := range oc.tiers {
				if c.tiers == nil {
					c.tiers = map[string]int{}
				}
				c.tiers[tier] += n
			}
			if c.firstFail == "" {
				c.firstFail = oc.firstFail
			}
			for s := range maxSeconds {
				r.secs[p][s][k].add(o.secs[p][s][k])
			}
		}
	}
}

// percentile returns the p-th percentile (0-100) of ds, sorting ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := int(float64(len(ds)-1) * p / 100)
	return ds[i]
}

// logPhases logs one row per phase and kind of call.
func logPhases(t *testing.T, r *recorder, took [numPhases]time.Duration) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "%-16s %-13s %6s %6s %6s %9s %9s  %s\n", "phase", "call", "ops", "fails", "closed", "p50", "p99", "tiers")
	for p := range numPhases {
		fmt.Fprintf(&b, "%-16s (%.1fs)\n", phaseNames[p], took[p].Seconds())
		for k := range numOps {
			c := &r.cells[p][k]
			if c.ops == 0 {
				continue
			}
			fmt.Fprintf(&b, "%-16s %-13s %6d %6d %6d %9s %9s  %s\n", "", opNames[k], c.ops, c.fails, c.refused,
				round(percentile(c.lat, 50)), round(percentile(c.lat, 99)), tierList(c.tiers))
		}
	}
	t.Logf("per phase (closed: refused or denied because a dependency is down, as designed):\n%s", b.String())
}

// logSeconds logs the outage phases second by second.
func logSeconds(t *testing.T, r *recorder, p phase, staleness []string) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "%3s", "s")
	for k := range numOps {
		fmt.Fprintf(&b, " %17s", opNames[k]+" ok/f/c")
	}
	b.WriteString("  staleness router/auth/priv\n")
	for s := range maxSeconds {
		row := r.secs[p][s]
		if row[opResolve].ops == 0 {
			continue
		}
		fmt.Fprintf(&b, "%3d", s)
		for k := range numOps {
			c := row[k]
			fmt.Fprintf(&b, " %17s", fmt.Sprintf("%d/%d/%d", c.ops-c.fails-c.refused, c.fails, c.refused))
		}
		if s < len(staleness) {
			b.WriteString("  " + staleness[s])
		}
		b.WriteString("\n")
	}
	t.Logf("%s, second by second (ok/failed/closed):\n%s", phaseNames[p], b.String())
}

func tierList(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s:%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	case d >= time.Microsecond:
		return d.Round(100 * time.Nanosecond)
	}
	return d
}
