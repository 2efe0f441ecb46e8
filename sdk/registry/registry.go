package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/greyrouter/greyrouter/router"
	"github.com/greyrouter/greyrouter/router/nacos"
)

// Defaults for zero Options fields.
const (
	// DefaultTTL is the heartbeat TTL told to the router: long enough to
	// ride out a short router restart, short enough that a process that
	// died without deregistering stops getting traffic soon.
	DefaultTTL = 15 * time.Second
	// DefaultDrainFor matches the router's own drain grace: the time a call
	// decided just before the drain needs to reach the instance.
	DefaultDrainFor = router.DefaultDrainGrace
)

// deregisterTimeout bounds the deregistration Shutdown still attempts after
// its context ended: leaving the instance behind costs the router a drain
// period, waiting longer costs the caller its shutdown budget.
const deregisterTimeout = 2 * time.Second

// Instance is the instance a process registers for itself.
type Instance struct {
	Service string
	// ID names the instance within the service. It is optional: when empty
	// it is derived from Address the way the router names Nacos instances
	// ("10.0.0.7-8080"), so both backends give an address the same id.
	// Nacos identifies instances by address and ignores it.
	ID      string
	Version string
	// Address is host:port where callers reach the instance.
	Address string
	// Weight is the router's weight (1..10000); 0 is the default, 100. In
	// Nacos it is divided by 100 (100 is Nacos's 1.0).
	Weight   int
	Metadata map[string]string
}

// Options tune a Registration. Zero fields take the defaults.
type Options struct {
	// TTL is how long the router keeps the instance routable without a
	// heartbeat (its heartbeat_seconds, rounded up to whole seconds); the
	// helper sends a heartbeat every third of it. Nacos ignores it: its
	// client's connection keeps the instance alive.
	TTL time.Duration
	// DrainFor is how long Shutdown waits between marking the instance
	// draining and deregistering it; negative waits not at all. Callers
	// deciding locally (sdk/router local mode) hear of the drain with
	// their next routing snapshot, a few hundred milliseconds later
	// (longer when the router's snapshot is large), so keep it well
	// above that; the default is DefaultDrainFor.
	DrainFor time.Duration
	// Log receives heartbeat failures and re-registrations; nil is
	// slog.Default().
	Log *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.TTL <= 0 {
		o.TTL = DefaultTTL
	}
	if o.DrainFor == 0 {
		o.DrainFor = DefaultDrainFor
	}
	if o.DrainFor < 0 {
		o.DrainFor = 0
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return o
}

// ttlSeconds is the TTL in the router's whole seconds, at least one.
func (o Options) ttlSeconds() int {
	return max(1, int((o.TTL+time.Second-1)/time.Second))
}

// Backend is where instances are registered: WithRouter or WithNacos.
type Backend interface {
	// register creates or replaces the instance, enabled and not draining.
	register(ctx context.Context, in Instance, ttlSeconds int) error
	// heartbeat keeps the instance alive; errGone when the backend no
	// longer knows it. Backends that keep instances alive themselves
	// (selfKeepsAlive) are never asked.
	heartbeat(ctx context.Context, in Instance) error
	selfKeepsAlive() bool
	// drain stops new decisions for the instance.
	drain(ctx context.Context, in Instance) error
	// deregister removes the instance; an instance already gone is no error.
	deregister(ctx context.Context, in Instance) error
	// close releases what the backend holds once the instance is gone.
	close()
}

// errGone marks a heartbeat for an instance the backend no longer knows
// (its store was reset, or someone deleted it): register it again.
var errGone = errors.New("instance not registered")

// permanent marks an error that retrying the same request cannot fix
// (invalid input, unknown version, refused credentials).
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

func isPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p)
}

// validate checks the instance by the router's rules and fills in the id.
func (in Instance) validate() (Instance, error) {
	host, port, err := net.SplitHostPort(in.Address)
	if err != nil {
		return in, fmt.Errorf("register instance: address %q must be host:port", in.Address)
	}
	if in.ID == "" {
		p, err := strconv.ParseUint(port, 10, 16)
		if err != nil {
			return in, fmt.Errorf("register instance: address %q has no valid port", in.Address)
		}
		in.ID = nacos.InstanceID("", host, p)
	}
	check := router.Instance{ID: in.ID, Service: in.Service, Version: in.Version, Address: in.Address,
		Weight: in.Weight, Metadata: in.Metadata, Source: router.SourceAPI}
	if check.Weight == 0 {
		check.Weight = 100
	}
	if err := check.Validate(); err != nil {
		return in, fmt.Errorf("register instance %s/%s: %w", in.Service, in.ID, err)
	}
	return in, nil
}

// Register registers the instance and, for the router API, keeps it alive
// with heartbeats until Shutdown. Transient failures (the backend is
// unreachable or answers 5xx) are retried with backoff until ctx ends, so
// give ctx the deadline a start-up may take; invalid instances, unknown
// versions and refused credentials fail at once.
func Register(ctx context.Context, b Backend, in Instance, o Options) (*Registration, error) {
	if b == nil {
		return nil, errors.New("register instance: no backend")
	}
	in, err := in.validate()
	if err != nil {
		return nil, err
	}
	o = o.withDefaults()
	r := &Registration{b: b, in: in, opts: o, log: o.Log.With("service", in.Service, "instance", in.ID)}
	if err := r.registerWithRetry(ctx); err != nil {
		return nil, err
	}
	if !b.selfKeepsAlive() {
		beatCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		r.stopBeats, r.beatsDone = cancel, make(chan struct{})
		go r.keepAlive(beatCtx)
	}
	return r, nil
}

func (r *Registration) registerWithRetry(ctx context.Context) error {
	bo := newBackoff(200*time.Millisecond, 5*time.Second)
	for {
		err := r.b.register(ctx, r.in, r.opts.ttlSeconds())
		if err == nil {
			return nil
		}
		if isPermanent(err) || ctx.Err() != nil {
			return fmt.Errorf("register instance %s/%s: %w", r.in.Service, r.in.ID, err)
		}
		r.log.Warn("registration failed, retrying", "err", err)
		if !sleep(ctx, bo.next()) {
			return fmt.Errorf("register instance %s/%s: %w (last error: %w)", r.in.Service, r.in.ID, ctx.Err(), err)
		}
	}
}

// Registration is one registered instance. Its methods are safe for
// concurrent use.
type Registration struct {
	b    Backend
	in   Instance
	opts Options
	log  *slog.Logger

	stopBeats context.CancelFunc // nil when the backend keeps the instance alive
	beatsDone chan struct{}

	mu        sync.Mutex // serializes Drain and Shutdown
	drainedAt time.Time  // zero until a drain succeeded
	closed    bool       // Shutdown finished
}

// Instance returns the registered instance, its ID filled in.
func (r *Registration) Instance() Instance { return r.in }

// Drain marks the instance draining: from its return the router sends it
// no new decisions. It also stops the heartbeats, so the instance is not
// registered again. Shutdown drains first; call Drain on its own to start
// the drain early (say, when a readiness probe starts failing). Draining a
// drained instance does nothing.
func (r *Registration) Drain(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.drainLocked(ctx)
}

func (r *Registration) drainLocked(ctx context.Context) error {
	if !r.drainedAt.IsZero() || r.closed {
		return nil
	}
	r.stopHeartbeats()
	if err := r.b.drain(ctx, r.in); err != nil {
		return fmt.Errorf("drain instance %s/%s: %w", r.in.Service, r.in.ID, err)
	}
	r.drainedAt = time.Now()
	r.log.Info("instance draining")
	return nil
}

func (r *Registration) stopHeartbeats() {
	if r.stopBeats != nil {
		r.stopBeats()
		<-r.beatsDone
	}
}

// Shutdown leaves gracefully: it drains the instance, waits DrainFor from
// the drain (or until ctx ends) so that calls decided before the drain
// still find the instance, then deregisters it and releases the backend.
// When ctx ended first the deregistration is still tried, briefly; were
// it to fail, the router removes a draining instance by itself. Call it
// before the HTTP server's Shutdown. A second call does nothing.
func (r *Registration) Shutdown(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	drainErr := r.drainLocked(ctx)
	if drainErr != nil {
		// Deregistering still ends the instance's traffic, only abruptly.
		r.log.Warn("drain failed, deregistering at once", "err", drainErr)
	} else if wait := time.Until(r.drainedAt.Add(r.opts.DrainFor)); wait > 0 {
		sleep(ctx, wait)
	}
	dctx := ctx
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		dctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), deregisterTimeout)
		defer cancel()
	}
	err := r.b.deregister(dctx, r.in)
	if err != nil {
		err = fmt.Errorf("deregister instance %s/%s: %w", r.in.Service, r.in.ID, err)
	} else {
		r.log.Info("instance deregistered")
	}
	r.closed = true
	r.b.close()
	return errors.Join(drainErr, err)
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
