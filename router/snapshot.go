package router

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// SnapshotFormat is the shape of RoutingSnapshot. A decider refuses a
// snapshot whose format it does not know rather than misread it; the
// number changes only when an old decider would decide differently.
const SnapshotFormat = 1

// RoutingSnapshot is the whole routing configuration that a decider
// outside Redis needs (the SDK's local mode): every tenant, and per
// service its default version, strategy, routable instances and bindings.
// It holds exactly what decide.lua reads from a projected table, so that a
// local decision can use the same pure functions (ChooseVersion,
// WRRSequence, HashScore) and agree with a remote one.
type RoutingSnapshot struct {
	Format int `json:"format"`
	// Revision is the latest configuration revision when the snapshot was
	// read; the state is never older than it.
	Revision int64 `json:"revision"`
	// ETag changes whenever anything a decider reads changes, including
	// instances, which are runtime state and make no revision.
	ETag string `json:"etag"`
	// BuiltAt is when the router read the snapshot; instance liveness is
	// judged at that moment.
	BuiltAt  time.Time       `json:"built_at"`
	Tenants  []string        `json:"tenants"`
	Services []ServiceRoutes `json:"services"`
}

// ServiceRoutes is one service's routing table in a RoutingSnapshot.
type ServiceRoutes struct {
	Name           string   `json:"name"`
	DefaultVersion string   `json:"default_version,omitempty"`
	Strategy       Strategy `json:"strategy"`
	// PanicThresholdPercent is the service's circuit policy threshold:
	// below it, a version routes across all its live instances, ejected
	// or not. Zero when circuit breaking is off.
	PanicThresholdPercent int `json:"panic_threshold_percent,omitempty"`
	// Versions lists the routable (not retired) versions, by name.
	Versions []VersionRoutes `json:"versions"`
	// Bindings are sorted by tenant, their rules by priority.
	Bindings []Binding `json:"bindings,omitempty"`
}

// VersionRoutes is one routable version and its instances.
type VersionRoutes struct {
	Name       string `json:"name"`
	Deprecated bool   `json:"deprecated,omitempty"`
	// Instances are the enabled, not draining instances in id order
	// (the order every strategy indexes), weights after warm-up.
	Instances []RoutableInstance `json:"instances"`
}

// RoutableInstance is an instance as deciders see it.
type RoutableInstance struct {
	ID       string            `json:"id"`
	Address  string            `json:"address"`
	Weight   int               `json:"weight"`
	Metadata map[string]string `json:"metadata,omitempty"`
	// Live is false when the instance's heartbeat had lapsed at BuiltAt.
	Live bool `json:"live"`
	// Ejected is set when its circuit was not closed at BuiltAt, as far
	// as the decider could tell (see CircuitReader).
	Ejected bool `json:"ejected,omitempty"`
}

// CircuitReader is implemented by deciders that can list the instances of
// a service whose circuit is not closed, so that snapshots carry them.
// Without it every instance counts as healthy in a snapshot.
type CircuitReader interface {
	OpenCircuits(ctx context.Context, service string) (map[string]bool, error)
}

// ChangeCounter is implemented by deciders that count the changes of what
// routing snapshots hold that make no revision (instances, circuits), so
// that a snapshot server can rebuild as soon as one happened.
type ChangeCounter interface {
	Changes(ctx context.Context) (int64, error)
}

// RoutingChanges returns the decider's change count (see ChangeCounter);
// false when the decider keeps none.
func (m *Manager) RoutingChanges(ctx context.Context) (int64, bool, error) {
	c, ok := m.dec.(ChangeCounter)
	if !ok {
		return 0, false, nil
	}
	n, err := c.Changes(ctx)
	return n, true, err
}

// RoutingSnapshot reads the routing configuration of every service from
// the store, as BuildRoutingSnapshot describes. The revision is read
// first, so the state is never older than its label; the reads are not
// one transaction (that would hold up writers), so a snapshot read during
// a change may mix both sides of it until the next one.
func (m *Manager) RoutingSnapshot(ctx context.Context) (RoutingSnapshot, error) {
	rev, err := m.store.LatestRevision(ctx)
	if err != nil {
		return RoutingSnapshot{}, fmt.Errorf("read routing snapshot: %w", err)
	}
	tenants, err := m.store.ListTenants(ctx, Page{})
	if err != nil {
		return RoutingSnapshot{}, fmt.Errorf("read routing snapshot: %w", err)
	}
	svcs, err := m.store.ListServices(ctx, Page{})
	if err != nil {
		return RoutingSnapshot{}, fmt.Errorf("read routing snapshot: %w", err)
	}
	bindings, err := m.store.ListBindings(ctx, BindingFilter{})
	if err != nil {
		return RoutingSnapshot{}, fmt.Errorf("read routing snapshot: %w", err)
	}
	byService := map[string][]Binding{}
	for _, b := range bindings {
		byService[b.Service] = append(byService[b.Service], b)
	}
	names := make([]string, len(tenants))
	for i, t := range tenants {
		names[i] = t.Name
	}
	circuits, _ := m.dec.(CircuitReader)
	now := m.now()
	parts := make([]Snapshot, 0, len(svcs))
	open := map[string]map[string]bool{}
	for _, s := range svcs {
		snap := Snapshot{Revision: rev, Service: s, Bindings: byService[s.Name]}
		if snap.Versions, err = m.store.ListVersions(ctx, s.Name); err != nil {
			return RoutingSnapshot{}, fmt.Errorf("read routing snapshot of %s: %w", s.Name, err)
		}
		if snap.Instances, err = m.store.ListInstances(ctx, s.Name); err != nil {
			return RoutingSnapshot{}, fmt.Errorf("read routing snapshot of %s: %w", s.Name, err)
		}
		// The same effective weights as the projection of this moment.
		applyWarmup(&snap, now)
		if circuits != nil {
			// Circuit state is best effort: a snapshot without it still
			// routes, like a decider whose circuits are all closed.
			if o, err := circuits.OpenCircuits(ctx, s.Name); err == nil {
				open[s.Name] = o
			} else {
				m.log.Warn("routing snapshot without circuit state", "service", s.Name, "err", err)
			}
		}
		parts = append(parts, snap)
	}
	return BuildRoutingSnapshot(rev, now, names, parts, open)
}

// BuildRoutingSnapshot assembles a RoutingSnapshot from per-service
// snapshots (as projected), judging heartbeats at now and marking the
// instances open names per service as ejected. Instances that are disabled
// or draining, and retired versions, are left out, as the projection
// leaves them out; everything is sorted so that equal content gives an
// equal ETag.
func BuildRoutingSnapshot(rev int64, now time.Time, tenants []string, services []Snapshot, open map[string]map[string]bool) (RoutingSnapshot, error) {
	out := RoutingSnapshot{Format: SnapshotFormat, Revision: rev, Tenants: slices.Sorted(slices.Values(tenants)),
		Services: make([]ServiceRoutes, 0, len(services))}
	for _, s := range services {
		sr := ServiceRoutes{Name: s.Service.Name, DefaultVersion: s.Service.DefaultVersion, Strategy: s.Service.Strategy}
		// Circuit state left over from before circuit breaking was turned
		// off is ignored, as decide.lua ignores it.
		var ejected map[string]bool
		if c := s.Service.Circuit; c.ConsecutiveFailures > 0 || c.ErrorRatePercent > 0 {
			sr.PanicThresholdPercent = c.PanicThresholdPercent
			ejected = open[s.Service.Name]
		}
		byVersion := map[string][]RoutableInstance{}
		for _, in := range s.Instances {
			if !in.Enabled || in.Draining {
				continue
			}
			byVersion[in.Version] = append(byVersion[in.Version], RoutableInstance{
				ID: in.ID, Address: in.Address, Weight: in.Weight, Metadata: in.Metadata,
				Live: live(in, now), Ejected: ejected[in.ID],
			})
		}
		for _, v := range s.Versions {
			if v.State == VersionRetired {
				continue
			}
			insts := byVersion[v.Name]
			if insts == nil {
				insts = []RoutableInstance{}
			}
			slices.SortFunc(insts, func(a, b RoutableInstance) int { return strings.Compare(a.ID, b.ID) })
			sr.Versions = append(sr.Versions, VersionRoutes{Name: v.Name, Deprecated: v.State == VersionDeprecated, Instances: insts})
		}
		slices.SortFunc(sr.Versions, func(a, b VersionRoutes) int { return strings.Compare(a.Name, b.Name) })
		for _, b := range s.Bindings {
			b.Rules = slices.Clone(b.Rules)
			SortRules(b.Rules)
			sr.Bindings = append(sr.Bindings, b)
		}
		slices.SortFunc(sr.Bindings, func(a, b Binding) int { return strings.Compare(a.Tenant, b.Tenant) })
		out.Services = append(out.Services, sr)
	}
	slices.SortFunc(out.Services, func(a, b ServiceRoutes) int { return strings.Compare(a.Name, b.Name) })
	etag, err := out.ContentETag()
	if err != nil {
		return RoutingSnapshot{}, err
	}
	out.ETag, out.BuiltAt = etag, now.UTC()
	return out, nil
}

// live reports whether an instance's heartbeat (if it needs one) was
// fresh at now. An instance that never heartbeat is given the benefit of
// the doubt, as the projection seeds it with a full period.
func live(in Instance, now time.Time) bool {
	if in.HeartbeatSeconds <= 0 || in.LastHeartbeat.IsZero() {
		return true
	}
	return !in.LastHeartbeat.Add(time.Duration(in.HeartbeatSeconds) * time.Second).Before(now)
}

// ContentETag digests everything in the snapshot but its ETag and build
// time: equal content, equal tag, whenever and wherever it was built.
func (s RoutingSnapshot) ContentETag() (string, error) {
	s.ETag, s.BuiltAt = "", time.Time{}
	b, err := json.Marshal(s)
	if err != nil {
		return "", fmt.Errorf("digest routing snapshot: %w", err)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:16]), nil
}

// ForTenant returns the part of the snapshot that one tenant may see: the
// tenant itself and its own bindings, with every service (services and
// instances are shared by all tenants). Its ETag is its own.
func (s RoutingSnapshot) ForTenant(tenant string) (RoutingSnapshot, error) {
	out := s
	out.Tenants = []string{}
	if _, ok := slices.BinarySearch(s.Tenants, tenant); ok {
		out.Tenants = []string{tenant}
	}
	out.Services = make([]ServiceRoutes, len(s.Services))
	for i, sr := range s.Services {
		sr.Bindings = nil
		if j, ok := slices.BinarySearchFunc(s.Services[i].Bindings, tenant, func(b Binding, t string) int { return strings.Compare(b.Tenant, t) }); ok {
			sr.Bindings = []Binding{s.Services[i].Bindings[j]}
		}
		out.Services[i] = sr
	}
	etag, err := out.ContentETag()
	if err != nil {
		return RoutingSnapshot{}, err
	}
	out.ETag = etag
	return out, nil
}
