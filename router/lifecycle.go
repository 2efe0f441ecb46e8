package router

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/greyrouter/greyrouter/internal/apperr"
)

// MaxWarmupSeconds bounds a service's warm-up period.
const MaxWarmupSeconds = 3600

// The drain defaults: a grace long enough for an in-flight call that holds
// no lease to finish and report, and a bound on how long a stuck drain may
// keep an instance registered.
const (
	DefaultDrainGrace = 5 * time.Second
	DefaultDrainMax   = 10 * time.Minute
)

// Lifecycle tunes how the reconciler retires draining instances. Zero
// fields take the defaults.
type Lifecycle struct {
	// DrainGrace is the least time a draining instance stays registered,
	// even with no lease left: only least_connections decisions take leases,
	// so calls made with the other strategies are trusted to finish (and
	// report) within it.
	DrainGrace time.Duration
	// DrainMax removes an instance that has drained this long whatever its
	// leases, with a warning: a lease outliving it belongs to a caller that
	// is not coming back in time.
	DrainMax time.Duration
}

func (l Lifecycle) withDefaults() Lifecycle {
	if l.DrainGrace <= 0 {
		l.DrainGrace = DefaultDrainGrace
	}
	if l.DrainMax <= 0 {
		l.DrainMax = DefaultDrainMax
	}
	return l
}

// lifecycle is the Manager's schedule of services whose projection or
// instances need the reconciler's attention at a given time: a warm-up
// step, the end of a warm-up, or a draining instance. It is filled by
// every projection, so it covers what this replica projected; the periodic
// full resync brings in changes made through other replicas.
type lifecycle struct {
	mu  sync.Mutex
	cfg Lifecycle
	due map[string]time.Time
}

// SetLifecycle changes the drain grace and maximum; call it before
// RunReconciler.
func (m *Manager) SetLifecycle(l Lifecycle) {
	m.life.mu.Lock()
	m.life.cfg = l.withDefaults()
	m.life.mu.Unlock()
}

func (l *lifecycle) config() Lifecycle {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cfg.withDefaults()
}

// schedule asks for attention at at (zero: none). A time only ever moves
// earlier until the service is handled, so a projection of an older
// snapshot finishing last cannot make the reconciler forget a drain.
func (l *lifecycle) schedule(service string, at time.Time) {
	if at.IsZero() {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.due == nil {
		l.due = map[string]time.Time{}
	}
	if cur, ok := l.due[service]; !ok || at.Before(cur) {
		l.due[service] = at
	}
}

// take removes and returns the services due by now.
func (l *lifecycle) take(now time.Time) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for s, at := range l.due {
		if !at.After(now) {
			out = append(out, s)
			delete(l.due, s)
		}
	}
	return out
}

// prepare turns a snapshot's weights into effective (warming) weights and
// returns when the service next needs the reconciler: the next warm-up
// step, or the end of a draining instance's grace period.
func (l *lifecycle) prepare(snap *Snapshot, now time.Time) time.Time {
	next := applyWarmup(snap, now)
	grace := l.config().DrainGrace
	for _, in := range snap.Instances {
		if in.Draining {
			next = earliest(next, drainStart(in).Add(grace))
		}
	}
	return next
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// WarmupStep is how often a warming instance's weight steps up: a tenth of
// the warm-up, at least a second. Weights are computed per step rather than
// per instant so that re-projecting within a step writes nothing new and
// every replica computes the same table.
func WarmupStep(warmup time.Duration) time.Duration {
	return max(time.Second, warmup/10)
}

// WarmupWeight is an instance's effective weight at age (time since its
// first registration): a linear ramp from 1 to weight over warmup, taken at
// the last completed step; the full weight from warmup on or without one.
func WarmupWeight(weight int, age, warmup time.Duration) int {
	if warmup <= 0 || age >= warmup {
		return weight
	}
	done := max(0, age).Truncate(WarmupStep(warmup))
	return max(1, int(int64(weight)*int64(done)/int64(warmup)))
}

// applyWarmup sets the effective weight of the snapshot's warming instances
// and returns when the next of them steps up (zero when none is warming).
// Instances that are disabled or draining get no decisions and need no
// re-projection; if they return mid-warm-up, that change projects them.
func applyWarmup(snap *Snapshot, now time.Time) time.Time {
	warmup := time.Duration(snap.Service.WarmupSeconds) * time.Second
	if warmup <= 0 {
		return time.Time{}
	}
	step := WarmupStep(warmup)
	var next time.Time
	for i, in := range snap.Instances {
		age := now.Sub(in.CreatedAt)
		if age >= warmup || in.CreatedAt.IsZero() {
			continue
		}
		snap.Instances[i].Weight = WarmupWeight(in.Weight, age, warmup)
		if in.Enabled && !in.Draining {
			next = earliest(next, in.CreatedAt.Add(min(max(0, age).Truncate(step)+step, warmup)))
		}
	}
	return next
}

// drainStart is when an instance began draining. Rows drained before the
// column existed, or by a writer that does not set it, count from their
// last update.
func drainStart(in Instance) time.Time {
	if !in.DrainingSince.IsZero() {
		return in.DrainingSince
	}
	return in.UpdatedAt
}

// drainingSince is the DrainingSince an instance gets when a write sets its
// draining flag: kept while it stays draining, now when it starts, zero
// when it stops.
func drainingSince(old Instance, draining bool, now time.Time) time.Time {
	switch {
	case !draining:
		return time.Time{}
	case old.Draining && !old.DrainingSince.IsZero():
		return old.DrainingSince
	}
	return now
}

// ReconcileLifecycle does the lifecycle work that has come due: it removes
// draining instances that are done and re-projects services whose warming
// instances step up. RunReconciler calls it on every tick; it costs nothing
// when nothing is due.
func (m *Manager) ReconcileLifecycle(ctx context.Context) error {
	now := m.now()
	var errs []error
	for _, s := range m.life.take(now) {
		if err := m.lifecycleService(ctx, s, now); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// lifecycleService removes a service's finished drains, then projects it
// again, which applies the current warm-up weights and schedules the next
// visit.
func (m *Manager) lifecycleService(ctx context.Context, service string, now time.Time) error {
	insts, err := m.store.ListInstances(ctx, service)
	if err != nil {
		m.life.schedule(service, now) // try again next tick
		return err
	}
	var errs []error
	for _, in := range insts {
		if !in.Draining {
			continue
		}
		done, err := m.drained(ctx, in, now)
		if err == nil && done {
			err = m.removeDrained(ctx, in)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := m.SyncService(ctx, service); err != nil {
		m.setDirty(service, true)
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		m.life.schedule(service, now)
	}
	return errors.Join(errs...)
}

// drained reports whether a draining instance may be removed: its grace
// period is over and no least-connections lease is left on it, or it has
// drained for longer than the maximum. While the service's projection
// awaits a retry, Redis may still route to the instance, so it waits.
func (m *Manager) drained(ctx context.Context, in Instance, now time.Time) (bool, error) {
	cfg := m.life.config()
	since := drainStart(in)
	age := now.Sub(since)
	if age < cfg.DrainGrace {
		return false, nil
	}
	if age >= cfg.DrainMax {
		n, err := m.dec.ActiveLeases(ctx, in.Service, in.ID)
		m.log.Warn("instance drained past the maximum; removing it regardless of its leases",
			"service", in.Service, "instance", in.ID, "draining_since", since, "max", cfg.DrainMax, "leases", n, "lease_err", err)
		return true, nil
	}
	m.dirtyMu.Lock()
	pending := m.dirty[in.Service]
	m.dirtyMu.Unlock()
	if pending {
		return false, nil
	}
	n, err := m.dec.ActiveLeases(ctx, in.Service, in.ID)
	if err != nil {
		return false, err
	}
	return n == 0, nil
}

// removeDrained deregisters a drained instance, unless it changed since it
// was judged: no longer draining, or drained again (re-registered) since.
// Replicas racing to remove the same instance find it gone and do nothing.
func (m *Manager) removeDrained(ctx context.Context, judged Instance) error {
	removed := false
	err := m.instanceChange(ctx, judged.Service, func(ctx context.Context, tx Tx) error {
		cur, err := tx.GetInstance(ctx, judged.Service, judged.ID)
		if apperr.Is(err, apperr.NotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if !cur.Draining || !drainStart(cur).Equal(drainStart(judged)) {
			return nil
		}
		removed = true
		return tx.DeleteInstance(ctx, judged.Service, judged.ID)
	})
	if err == nil && removed {
		m.log.Info("drained instance removed", "service", judged.Service, "instance", judged.ID,
			"draining_since", drainStart(judged))
	}
	return err
}
