package router

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/greyrouter/greyrouter/internal/apperr"
)

// Manager applies routing changes and answers decisions. Every change is
// validated, written with its revision in one store transaction, then
// projected for the deciders; if the projection fails the store still holds
// the truth and the reconciler repairs the projection.
type Manager struct {
	store   Store
	proj    Projector
	dec     Decider
	log     *slog.Logger
	now     func() time.Time
	dirtyMu sync.Mutex
	dirty   map[string]bool // services whose projection failed
	// rebuilds counts full rebuilds after the projection was found lost.
	rebuilds atomic.Int64
	// heal collapses concurrent re-projections of one service, so a burst
	// of decisions after Redis lost its data costs one database read.
	heal singleflight.Group
	// life schedules warm-up steps and drain removals (lifecycle.go).
	life lifecycle
}

// NewManager wires a Manager; now may be nil for time.Now.
func NewManager(store Store, proj Projector, dec Decider, log *slog.Logger, now func() time.Time) *Manager {
	if now == nil {
		now = time.Now
	}
	return &Manager{store: store, proj: proj, dec: dec, log: log, now: now, dirty: map[string]bool{}}
}

// Store returns the manager's store for read-only queries.
func (m *Manager) Store() Reader { return m.store }

// recorder collects the changes of one revision and what they touch.
type recorder struct {
	changes  []Change
	services map[string]bool // services to re-project
	tenants  map[string]bool // tenants created (true) or deleted (false)
}

func (r *recorder) add(kind Kind, key string, before, after any) error {
	c := Change{Kind: kind, Key: key}
	var err error
	if c.Before, err = marshalOrNil(before); err != nil {
		return err
	}
	if c.After, err = marshalOrNil(after); err != nil {
		return err
	}
	c.Fields = changedFields(c.Before, c.After)
	r.changes = append(r.changes, c)
	return nil
}

// changedFields lists the top-level JSON fields whose values differ
// between two records, ignoring timestamps; nil unless both exist.
func changedFields(before, after json.RawMessage) []string {
	if before == nil || after == nil {
		return nil
	}
	var b, a map[string]json.RawMessage
	if json.Unmarshal(before, &b) != nil || json.Unmarshal(after, &a) != nil {
		return nil
	}
	var out []string
	for k := range maps.Keys(a) {
		if k != "created_at" && k != "updated_at" && !bytes.Equal(a[k], b[k]) {
			out = append(out, k)
		}
	}
	for k := range maps.Keys(b) {
		if _, ok := a[k]; !ok && k != "created_at" && k != "updated_at" {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func (r *recorder) touch(service string) { r.services[service] = true }

func (r *recorder) tenant(name string, present bool) { r.tenants[name] = present }

func marshalOrNil(v any) (json.RawMessage, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode change: %w", err)
	}
	return b, nil
}

// change runs fn in a transaction, checks integrity of what it touched,
// stores the revision (unless fn recorded nothing) and projects the touched
// services.
func (m *Manager) change(ctx context.Context, actor, summary string, fn func(ctx context.Context, tx Tx, rec *recorder) error) (Revision, error) {
	var rev Revision
	var rec *recorder
	err := m.store.InTx(ctx, func(tx Tx) error {
		rec = &recorder{services: map[string]bool{}, tenants: map[string]bool{}}
		if err := fn(ctx, tx, rec); err != nil {
			return err
		}
		if err := checkIntegrity(ctx, tx, rec.services, rec.tenants); err != nil {
			return err
		}
		if len(rec.changes) == 0 {
			return nil
		}
		rev = Revision{Actor: actor, At: m.now().UTC(), Summary: summary, Changes: rec.changes}
		return tx.AddRevision(ctx, &rev)
	})
	if err != nil {
		return Revision{}, err
	}
	m.project(ctx, rec.services)
	m.projectTenants(ctx, rec.tenants)
	return rev, nil
}

// projectTenants adds or removes tenants in every service's table. A
// failure marks the service for a full re-projection by the reconciler.
func (m *Manager) projectTenants(ctx context.Context, tenants map[string]bool) {
	if len(tenants) == 0 {
		return
	}
	svcs, err := m.store.ListServices(ctx, Page{})
	if err != nil {
		m.log.Warn("tenant projection skipped; the next resync applies it", "err", err)
		return
	}
	for _, s := range svcs {
		for t, present := range tenants {
			if err := m.proj.SetTenant(ctx, s.Name, t, present); err != nil {
				m.setDirty(s.Name, true)
				m.log.Warn("tenant projection failed; the reconciler will retry", "service", s.Name, "tenant", t, "err", err)
				break
			}
		}
	}
}

// project refreshes the projection of the given services, remembering any
// failure for the reconciler.
func (m *Manager) project(ctx context.Context, services map[string]bool) {
	for s := range services {
		if err := m.SyncService(ctx, s); err != nil {
			m.setDirty(s, true)
			m.log.Warn("projection failed; the reconciler will retry", "service", s, "err", err)
		}
	}
}

// setDirty records whether a service's projection awaits a retry.
func (m *Manager) setDirty(service string, dirty bool) {
	m.dirtyMu.Lock()
	if dirty {
		m.dirty[service] = true
	} else {
		delete(m.dirty, service)
	}
	m.dirtyMu.Unlock()
}

// SyncService projects one service from the store, or drops it if it no
// longer exists. The revision is read before the state, so the projected
// state is never older than the revision it is labelled with.
func (m *Manager) SyncService(ctx context.Context, name string) error {
	rev, err := m.store.LatestRevision(ctx)
	if err != nil {
		return err
	}
	svc, err := m.store.GetService(ctx, name)
	if apperr.Is(err, apperr.NotFound) {
		if err := m.proj.Drop(ctx, name); err != nil {
			return err
		}
		m.setDirty(name, false)
		return nil
	}
	if err != nil {
		return err
	}
	snap := Snapshot{Revision: rev, Service: svc}
	if snap.Versions, err = m.store.ListVersions(ctx, name); err != nil {
		return err
	}
	if snap.Instances, err = m.store.ListInstances(ctx, name); err != nil {
		return err
	}
	if snap.Bindings, err = m.store.ListBindings(ctx, BindingFilter{Service: name}); err != nil {
		return err
	}
	tenants, err := m.store.ListTenants(ctx, Page{})
	if err != nil {
		return err
	}
	for _, t := range tenants {
		snap.Tenants = append(snap.Tenants, t.Name)
	}
	due := m.life.prepare(&snap, m.now())
	if err := m.proj.Project(ctx, snap); err != nil {
		return err
	}
	m.setDirty(name, false)
	m.life.schedule(name, due)
	return nil
}

// SyncAll projects every service and marks the projection intact.
func (m *Manager) SyncAll(ctx context.Context) error {
	svcs, err := m.store.ListServices(ctx, Page{})
	if err != nil {
		return err
	}
	var errs []error
	for _, s := range svcs {
		if err := m.SyncService(ctx, s.Name); err != nil {
			m.setDirty(s.Name, true)
			errs = append(errs, fmt.Errorf("project %s: %w", s.Name, err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return m.proj.MarkIntact(ctx)
}

// Pending returns how many services' projections failed and await a retry:
// decisions for them may be served from an older table meanwhile.
func (m *Manager) Pending() int {
	m.dirtyMu.Lock()
	defer m.dirtyMu.Unlock()
	return len(m.dirty)
}

// Rebuilds returns how many times the projection was found lost and rebuilt.
func (m *Manager) Rebuilds() int64 { return m.rebuilds.Load() }

// Reconcile repairs the projection: a full rebuild when the projection was
// lost (Redis flushed or restarted empty), otherwise a retry of services
// whose projection failed. Run it periodically.
func (m *Manager) Reconcile(ctx context.Context) error {
	ok, err := m.proj.Intact(ctx)
	if err != nil {
		return fmt.Errorf("check projection: %w", err)
	}
	if !ok {
		m.log.Warn("routing projection missing (redis lost its data); rebuilding from the database")
		m.rebuilds.Add(1)
		start := time.Now()
		if err := m.SyncAll(ctx); err != nil {
			return err
		}
		m.log.Info("routing projection rebuilt", "took", time.Since(start))
		return nil
	}
	m.dirtyMu.Lock()
	dirty := make([]string, 0, len(m.dirty))
	for s := range m.dirty {
		dirty = append(dirty, s)
	}
	m.dirtyMu.Unlock()
	var errs []error
	for _, s := range dirty {
		// SyncService clears the mark when it succeeds.
		if err := m.SyncService(ctx, s); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// RunReconciler calls Reconcile every interval, and a full SyncAll every
// fullEvery, each followed by ReconcileLifecycle, until ctx ends.
func (m *Manager) RunReconciler(ctx context.Context, interval, fullEvery time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	lastFull := m.now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var err error
		if m.now().Sub(lastFull) >= fullEvery {
			lastFull = m.now()
			err = m.SyncAll(ctx)
		} else {
			err = m.Reconcile(ctx)
		}
		if err != nil && ctx.Err() == nil {
			m.log.Warn("reconcile failed", "err", err)
		}
		if err := m.ReconcileLifecycle(ctx); err != nil && ctx.Err() == nil {
			m.log.Warn("instance lifecycle failed", "err", err)
		}
	}
}

// Resolve decides a version and instance for a request. When the service's
// routing table is missing, or lacks a tenant that the store has (a
// projection raced with the tenant's creation), the table is projected from
// the store and the decision retried once, so a flushed Redis heals on the
// first request.
func (m *Manager) Resolve(ctx context.Context, req Request, opts DecideOptions) (Decision, error) {
	if err := req.Validate(); err != nil {
		return Decision{}, err
	}
	d, err := m.dec.Decide(ctx, req, opts)
	switch {
	case errors.Is(err, ErrNotProjected):
		if _, err := m.store.GetService(ctx, req.Service); err != nil {
			return Decision{}, err
		}
	case errors.Is(err, ErrUnknownTenant):
		if _, terr := m.store.GetTenant(ctx, req.Tenant); terr != nil {
			return Decision{}, err
		}
	default:
		return d, err
	}
	if _, err, _ := m.heal.Do(req.Service, func() (any, error) { return nil, m.SyncService(ctx, req.Service) }); err != nil {
		return Decision{}, apperr.Wrap(apperr.Unavailable, err, "routing table unavailable")
	}
	d, err = m.dec.Decide(ctx, req, opts)
	if errors.Is(err, ErrNotProjected) {
		return Decision{}, apperr.New(apperr.Unavailable, "routing table for %q unavailable", req.Service)
	}
	return d, err
}

// Report records a call outcome for circuit breaking and lease release.
func (m *Manager) Report(ctx context.Context, o Outcome) (ReportResult, error) {
	if err := o.Validate(); err != nil {
		return ReportResult{}, err
	}
	r, err := m.dec.Report(ctx, o)
	if errors.Is(err, ErrNotProjected) {
		if _, err := m.store.GetService(ctx, o.Service); err != nil {
			return ReportResult{}, err
		}
		return ReportResult{}, apperr.New(apperr.Unavailable, "routing table for %q is being rebuilt; retry", o.Service)
	}
	return r, err
}

func newSalt() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
