package router

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	routing "github.com/greyrouter/greyrouter/router"
)

// table is a routing snapshot compiled for deciding: maps for the
// lookups, and per version everything that does not depend on the request
// worked out in advance (usable instances, the smooth weighted round robin
// cycle, the error a version without instances gives), so that a decision
// allocates nothing.
type table struct {
	revision int64
	etag     string
	builtAt  time.Time
	tenants  map[string]struct{}
	services map[string]*serviceTable
}

type serviceTable struct {
	// svc carries what the version step reads (name, default version).
	svc      routing.Service
	bindings map[string]*routing.Binding
	versions map[string]*versionTable
}

type versionTable struct {
	name       string
	deprecated bool
	insts      []routing.RoutableInstance
	// err is returned for every decision when no instance is usable.
	err error
	// pool indexes the usable instances, in id order.
	pool []int
	// cycle is one smooth weighted round robin cycle over insts (as
	// decide.lua walks it); next[pos] is the first position at or after
	// pos whose instance is usable, so skipping costs nothing.
	cycle []int
	next  []int
	// rr counts this process's round robin decisions.
	rr atomic.Uint64
}

// compile builds a table from a snapshot. It refuses formats it does not
// know and strategies it cannot apply.
func compile(s *routing.RoutingSnapshot) (*table, error) {
	if s.Format != routing.SnapshotFormat {
		return nil, fmt.Errorf("routing snapshot format %d, this client reads %d: upgrade the SDK", s.Format, routing.SnapshotFormat)
	}
	t := &table{revision: s.Revision, etag: s.ETag, builtAt: s.BuiltAt,
		tenants: make(map[string]struct{}, len(s.Tenants)), services: make(map[string]*serviceTable, len(s.Services))}
	for _, name := range s.Tenants {
		t.tenants[name] = struct{}{}
	}
	sh := sharer{strs: map[string]string{}, rules: map[string][]routing.Rule{}}
	for i := range s.Services {
		sr := &s.Services[i]
		if !slices.Contains(routing.Strategies, sr.Strategy) {
			return nil, fmt.Errorf("service %s: unknown strategy %q: upgrade the SDK", sr.Name, sr.Strategy)
		}
		st := &serviceTable{
			svc:      routing.Service{Name: sr.Name, DefaultVersion: sr.DefaultVersion, Strategy: sr.Strategy},
			bindings: make(map[string]*routing.Binding, len(sr.Bindings)),
			versions: make(map[string]*versionTable, len(sr.Versions)),
		}
		for j := range sr.Bindings {
			b := &sr.Bindings[j]
			// ChooseVersion tries rules in slice order.
			routing.SortRules(b.Rules)
			sh.binding(b)
			st.bindings[b.Tenant] = b
		}
		for j := range sr.Versions {
			for _, in := range sr.Versions[j].Instances {
				if in.Weight < 1 {
					return nil, fmt.Errorf("service %s: instance %s has weight %d", sr.Name, in.ID, in.Weight)
				}
			}
			st.versions[sr.Versions[j].Name] = compileVersion(sr.Name, &sr.Versions[j], sr.PanicThresholdPercent)
		}
		t.services[sr.Name] = st
	}
	return t, nil
}

// compileVersion works out which instances a decision may pick, as
// decide.lua does per decision: live ones (heartbeat fresh) whose circuit
// is closed, or every live one when fewer than the panic threshold are.
func compileVersion(service string, v *routing.VersionRoutes, panicPercent int) *versionTable {
	vt := &versionTable{name: v.Name, deprecated: v.Deprecated, insts: v.Instances}
	live, healthy := 0, 0
	for _, in := range v.Instances {
		if in.Live {
			live++
			if !in.Ejected {
				healthy++
			}
		}
	}
	usable := func(in routing.RoutableInstance) bool { return in.Live && !in.Ejected }
	if panicPercent > 0 && healthy*100 < live*panicPercent {
		usable = func(in routing.RoutableInstance) bool { return in.Live }
	}
	if live == 0 {
		vt.err = fmt.Errorf("%w: no live instance of %s/%s", ErrUnavailable, service, v.Name)
		return vt
	}
	weights := make([]int, len(v.Instances))
	for i, in := range v.Instances {
		weights[i] = in.Weight
		if usable(in) {
			vt.pool = append(vt.pool, i)
		}
	}
	if len(vt.pool) == 0 {
		vt.err = fmt.Errorf("%w: every instance of %s/%s is ejected by its circuit breaker", ErrUnavailable, service, v.Name)
		return vt
	}
	vt.cycle = routing.WRRSequence(weights, routing.MaxWRRSequence)
	vt.next = make([]int, len(vt.cycle))
	// Walk twice backwards so that positions near the end find a usable
	// one after wrapping around.
	nextUsable := -1
	for k := 2*len(vt.cycle) - 1; k >= 0; k-- {
		pos := k % len(vt.cycle)
		if usable(v.Instances[vt.cycle[pos]]) {
			nextUsable = pos
		}
		if k < len(vt.cycle) {
			vt.next[pos] = nextUsable
		}
	}
	return vt
}

// sharer makes bindings share what they repeat: one copy of each string
// (modes, versions, sticky sources) and of each distinct rule list. A
// decoded snapshot holds every string in an allocation of its own; with
// thousands of tenants a decision would read each from a cold cache line,
// while shared copies stay warm.
type sharer struct {
	strs  map[string]string
	rules map[string][]routing.Rule
}

func (sh sharer) str(s string) string {
	if c, ok := sh.strs[s]; ok {
		return c
	}
	sh.strs[s] = s
	return s
}

func (sh sharer) binding(b *routing.Binding) {
	b.Mode = routing.BindingMode(sh.str(string(b.Mode)))
	b.Version, b.Baseline, b.Candidate, b.Sticky = sh.str(b.Version), sh.str(b.Baseline), sh.str(b.Candidate), sh.str(b.Sticky)
	if len(b.Rules) == 0 {
		return
	}
	key, err := json.Marshal(b.Rules)
	if err != nil {
		return
	}
	if rules, ok := sh.rules[string(key)]; ok {
		b.Rules = rules
		return
	}
	for i := range b.Rules {
		r := &b.Rules[i]
		r.Version = sh.str(r.Version)
		for j := range r.When {
			c := &r.When[j]
			c.Source, c.Name, c.Op = sh.str(c.Source), sh.str(c.Name), sh.str(c.Op)
			for k := range c.Values {
				c.Values[k] = sh.str(c.Values[k])
			}
		}
	}
	sh.rules[string(key)] = b.Rules
}
