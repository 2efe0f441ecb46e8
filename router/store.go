package router

import (
	"context"
	"errors"
	"time"
)

// Page selects a window of a list ordered by name: names after After, at
// most Limit of them.
type Page struct {
	After string
	Limit int
}

// BindingFilter narrows a binding list; empty fields match everything.
type BindingFilter struct {
	Tenant  string
	Service string
}

// Reader is the read side of the routing store. Missing records yield an
// apperr.NotFound error.
type Reader interface {
	GetTenant(ctx context.Context, name string) (Tenant, error)
	ListTenants(ctx context.Context, p Page) ([]Tenant, error)
	GetService(ctx context.Context, name string) (Service, error)
	ListServices(ctx context.Context, p Page) ([]Service, error)
	GetVersion(ctx context.Context, service, name string) (Version, error)
	ListVersions(ctx context.Context, service string) ([]Version, error)
	GetInstance(ctx context.Context, service, id string) (Instance, error)
	ListInstances(ctx context.Context, service string) ([]Instance, error)
	GetBinding(ctx context.Context, tenant, service string) (Binding, error)
	ListBindings(ctx context.Context, f BindingFilter) ([]Binding, error)
	GetRevision(ctx context.Context, number int64) (Revision, error)
	// ListRevisions returns revisions newest first, numbers below before
	// (0 means from the newest), at most limit.
	ListRevisions(ctx context.Context, before int64, limit int) ([]Revision, error)
	// RevisionsAfter returns revisions with numbers above n, oldest first.
	RevisionsAfter(ctx context.Context, n int64) ([]Revision, error)
	// LatestRevision returns the highest revision number, 0 when none.
	LatestRevision(ctx context.Context) (int64, error)
}

// Tx is a store transaction: every write of one change and its revision
// commit together or not at all. Puts insert or replace.
type Tx interface {
	Reader
	PutTenant(ctx context.Context, t Tenant) error
	DeleteTenant(ctx context.Context, name string) error
	PutService(ctx context.Context, s Service) error
	DeleteService(ctx context.Context, name string) error
	PutVersion(ctx context.Context, v Version) error
	DeleteVersion(ctx context.Context, service, name string) error
	PutBinding(ctx context.Context, b Binding) error
	DeleteBinding(ctx context.Context, tenant, service string) error
	PutInstance(ctx context.Context, in Instance) error
	DeleteInstance(ctx context.Context, service, id string) error
	// RegistryRef returns the registry reference of the newest snapshot
	// applied to service from source, 0 when none (see SyncInstances).
	RegistryRef(ctx context.Context, service string, source InstanceSource) (int64, error)
	// PutRegistryRef records it.
	PutRegistryRef(ctx context.Context, service string, source InstanceSource, ref int64, at time.Time) error
	// AddRevision assigns r.Number (one above the latest) and stores r.
	AddRevision(ctx context.Context, r *Revision) error
}

// Store is the routing configuration's source of truth.
type Store interface {
	Reader
	// InTx runs fn in a transaction that serializes with every other
	// configuration write, and commits when fn returns nil.
	InTx(ctx context.Context, fn func(Tx) error) error
	// TouchInstance records a heartbeat time without a revision.
	TouchInstance(ctx context.Context, service, id string, at time.Time) error
	Ping(ctx context.Context) error
}

// Snapshot is everything a decider needs about one service.
type Snapshot struct {
	Revision  int64
	Service   Service
	Versions  []Version
	Instances []Instance
	// Tenants lists every tenant, so that deciders can tell an unknown
	// tenant from one without a binding.
	Tenants  []string
	Bindings []Binding
}

// Projector materializes snapshots where deciders read them.
type Projector interface {
	// Project replaces a service's routing table, unless a newer revision
	// is already there.
	Project(ctx context.Context, s Snapshot) error
	// Drop removes a deleted service's routing table and state.
	Drop(ctx context.Context, service string) error
	// SetTenant adds (present) or removes a tenant without a binding in a
	// service's projected table, without rewriting the table.
	SetTenant(ctx context.Context, service, tenant string, present bool) error
	// Intact reports whether the projection is still present; it turns
	// false when the backing store lost its data.
	Intact(ctx context.Context) (bool, error)
	// MarkIntact records that a full projection has completed.
	MarkIntact(ctx context.Context) error
}

// DecideOptions tune one decision.
type DecideOptions struct {
	Explain bool
}

// ErrNotProjected is returned by a Decider when the service's routing table
// is missing; the Manager then projects it and retries.
var ErrNotProjected = errors.New("routing table not projected")

// ErrUnknownTenant is wrapped (as an apperr.NotFound) by a Decider whose
// table does not list the request's tenant; the Manager checks the store
// before believing it.
var ErrUnknownTenant = errors.New("unknown tenant")

// Decider makes routing decisions from a projection and records outcomes.
type Decider interface {
	Decide(ctx context.Context, req Request, opts DecideOptions) (Decision, error)
	Report(ctx context.Context, o Outcome) (ReportResult, error)
	Heartbeat(ctx context.Context, service, id string, ttl time.Duration) error
	// ActiveLeases counts an instance's unexpired least-connections leases,
	// so that a draining instance is removed only once they ran out.
	ActiveLeases(ctx context.Context, service, id string) (int, error)
}
