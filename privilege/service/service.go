package service

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/internal/batchlog"
	"github.com/greyrouter/greyrouter/privilege"
	"github.com/greyrouter/greyrouter/privilege/cache"
)

// Options configure a Service; zero values take the defaults.
type Options struct {
	// Redis shares decisions (L2) and announces policy changes; nil runs
	// without either (a single replica learns changes by polling only).
	Redis redis.UniversalClient
	// KeyPrefix prefixes every Redis key and the channel
	// (default "greyrouter:privilege:").
	KeyPrefix string
	// L1Size bounds the in-process decision cache (default 100,000).
	L1Size int
	// L1TTL bounds how long a decision stays in process (default 1 m);
	// versions make older entries unreachable sooner.
	L1TTL time.Duration
	// L2TTL bounds how long a decision stays in Redis (default 10 m).
	L2TTL time.Duration
	// L2Timeout bounds a Redis read in a check (default 50 ms).
	L2Timeout time.Duration
	// PollInterval is how often every tenant's version is read to catch
	// announcements missed (default 1 s).
	PollInterval time.Duration
	// MaxStaleness is how long cached answers are trusted after the
	// versions were last confirmed by a poll (default 5 m). Past it, a
	// check that cannot reach the database fails closed (or open, for
	// tenants that opted in).
	MaxStaleness time.Duration
	// Now is the clock (default time.Now); tests control expiries with it.
	Now func() time.Time
	// Audit keeps the decision audit; nil audits nothing. Denies and
	// fail-opens are always recorded, allowed decisions at the tenant's
	// AuditSampleRate; records are queued (AuditQueue, default 10,000)
	// and written in batches, dropped and counted when the queue is full.
	Audit      privilege.DecisionStore
	AuditQueue int
	// Metrics registers the service's series; nil leaves them unregistered.
	Metrics prometheus.Registerer
	// Log receives warnings; nil discards them.
	Log *slog.Logger
}

func (o *Options) defaults() {
	if o.KeyPrefix == "" {
		o.KeyPrefix = "greyrouter:privilege:"
	}
	if o.L1Size <= 0 {
		o.L1Size = 100_000
	}
	if o.L1TTL <= 0 {
		o.L1TTL = time.Minute
	}
	if o.L2TTL <= 0 {
		o.L2TTL = 10 * time.Minute
	}
	if o.L2Timeout <= 0 {
		o.L2Timeout = 50 * time.Millisecond
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.MaxStaleness <= 0 {
		o.MaxStaleness = 5 * time.Minute
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
}

// Tiers that answer a check (Decision.Tier).
const (
	TierL1         = "l1"          // the in-process decision cache
	TierEngine     = "engine"      // the tenant's compiled policy set, in process
	TierL2         = "l2"          // the Redis decision cache
	TierL3         = "l3"          // the policy set loaded from the database and compiled for this check
	TierStale      = "stale"       // a compiled set older than the newest version known, the database unreachable
	TierFailClosed = "fail-closed" // nothing applicable could be reached: denied
	TierFailOpen   = "fail-open"   // nothing applicable could be reached: allowed (tenant opt-in)
)

// Service answers privilege checks for every tenant through three cache
// tiers and applies writes; see the package documentation.
type Service struct {
	store privilege.Store
	rdb   redis.UniversalClient
	opts  Options
	now   func() time.Time

	l1       *cache.L1
	l2       *l2                                        // nil without Redis
	audit    *batchlog.Writer[privilege.DecisionRecord] // nil without Options.Audit
	coarse   *cache.CoarseClock                         // nil when Options.Now is set
	versions *cache.Versions                            // follows announcements and polls (events.go)
	metrics  *metrics

	// tenants is copied on write (under mu) so that a check finds its
	// tenant with one atomic load and a map read.
	mu      sync.Mutex
	tenants atomic.Pointer[map[string]*tenantState]

	closeOnce sync.Once
}

// tenantState is what a replica knows of one tenant: the newest version
// it has heard of (the shared cache's record, whose ID keys L1) and its
// compiled policy set.
type tenantState struct {
	*cache.Tenant
	engine atomic.Pointer[privilege.Engine]
	// compiling serializes loads of the tenant's set: one load serves
	// every check waiting for it.
	compiling sync.Mutex
	// failedAt and failure remember the last failed load (under
	// compiling), so that during an outage checks fail at once instead of
	// queueing for a load each.
	failedAt time.Time
	failure  error
}

// loadRetry is how long a failed load of a tenant's set is not retried;
// loadTimeout bounds one load.
const (
	loadRetry   = time.Second
	loadTimeout = 5 * time.Second
)

// New returns a started Service: it polls the versions once (an error
// there is returned only if neither the database nor Redis answers and
// is otherwise retried in the background), then follows announcements
// and polls until Close.
func New(ctx context.Context, store privilege.Store, opts Options) (*Service, error) {
	opts.defaults()
	s := &Service{store: store, rdb: opts.Redis, opts: opts}
	s.tenants.Store(&map[string]*tenantState{})
	if opts.Now != nil {
		s.now = opts.Now
	} else {
		s.now = time.Now
		s.coarse = cache.NewCoarseClock()
	}
	s.metrics = newMetrics(opts.Metrics, s)
	s.versions = s.newVersions()
	s.l1 = cache.NewL1(cache.L1Options{Size: opts.L1Size, TTL: opts.L1TTL, Now: s.nowNano})
	if opts.Audit != nil {
		s.audit = batchlog.New(opts.Audit.AddDecisions, opts.Log, batchlog.Options[privilege.DecisionRecord]{
			Name:     "privilege decisions",
			Capacity: opts.AuditQueue,
			Describe: func(d privilege.DecisionRecord) []any { return []any{"tenant", d.Tenant, "allowed", d.Allowed} },
		})
	}
	if s.rdb != nil {
		s.l2 = newL2(s.rdb, opts.KeyPrefix, opts.L2TTL, opts.L2Timeout, s.metrics)
	}
	if err := s.versions.PollOnce(ctx); err != nil {
		opts.Log.Warn("privilege: could not read the policy versions at start; will retry", "err", err)
	}
	s.versions.Start()
	return s, nil
}

// Close stops following changes and writing the Redis cache.
func (s *Service) Close() {
	s.closeOnce.Do(func() {
		s.versions.Close()
		if s.l2 != nil {
			s.l2.close()
		}
		if s.coarse != nil {
			s.coarse.Close()
		}
		if s.audit != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := s.audit.Close(ctx); err != nil {
				s.opts.Log.Warn("privilege: decision audit not fully written at close", "err", err)
			}
		}
	})
}

// nowNano is the time for cache decisions: the coarse clock by default.
func (s *Service) nowNano() int64 {
	if s.coarse != nil {
		return s.coarse.NowNano()
	}
	return s.now().UnixNano()
}

// KnownVersion returns the newest version of tenant ("" the platform)
// this replica has heard of.
func (s *Service) KnownVersion(tenant string) int64 { return s.versions.Known(tenant) }

// Staleness is how long ago the versions were last confirmed by a poll.
func (s *Service) Staleness() time.Duration { return s.versions.Staleness() }

// tenant returns the tenant's state, creating it on first use.
func (s *Service) tenant(name string) *tenantState {
	if ts := (*s.tenants.Load())[name]; ts != nil {
		return ts
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := *s.tenants.Load()
	if ts := old[name]; ts != nil {
		return ts
	}
	ts := &tenantState{Tenant: s.versions.Tenant(name)}
	m := make(map[string]*tenantState, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[name] = ts
	s.tenants.Store(&m)
	return ts
}

// learn records that tenant ("" the platform) is at version or later.
func (s *Service) learn(tenant string, version int64, source string) {
	s.versions.Learn(tenant, version, source)
}

// CheckOptions qualify a check.
type CheckOptions struct {
	// AtLeast, when set, makes the check answer from a policy set at least
	// as fresh as the write that returned the token.
	AtLeast *Token
	// Explain returns every applicable vote (and bypasses the caches).
	Explain bool
	// Caller names who asked (the principal's actor), for the audit.
	Caller string
}

// Check answers req. It fails only for malformed requests, a token it
// cannot honour (apperr.Invalid / Unprocessable), a token naming a
// version the store does not have (apperr.Unavailable), or ctx ending
// while the store is consulted (ctx.Err()); an unreachable store is
// answered with a fail-closed (or, by the tenant's choice, fail-open)
// decision.
func (s *Service) Check(ctx context.Context, req privilege.Request, o CheckOptions) (privilege.Decision, error) {
	d, ts, err := s.check(ctx, req, o)
	if err != nil || s.audit == nil {
		return d, err
	}
	failOpen := d.Tier == TierFailOpen
	if d.Allowed && !failOpen {
		e := ts.engine.Load()
		if e == nil || e.Settings.AuditSampleRate <= 0 || rand.Float64() >= e.Settings.AuditSampleRate {
			return d, nil
		}
	}
	rec := privilege.NewDecisionRecord(req, d, s.now())
	rec.FailOpen, rec.Caller = failOpen, o.Caller
	d.ID = rec.ID
	s.audit.Record(rec)
	return d, nil
}

// check is Check without the audit; it returns the tenant's state too.
func (s *Service) check(ctx context.Context, req privilege.Request, o CheckOptions) (privilege.Decision, *tenantState, error) {
	ts := (*s.tenants.Load())[req.Tenant] // known tenants were validated
	if ts == nil {
		if err := privilege.CheckTenant(req.Tenant); err != nil || req.Tenant == "" {
			return privilege.Decision{}, nil, apperr.Fields("invalid check", map[string]string{"tenant": "must be a tenant name"})
		}
		ts = s.tenant(req.Tenant)
	}
	var wantV, wantPV int64
	if o.AtLeast != nil {
		v, pv, err := o.AtLeast.floor(req.Tenant)
		if err != nil {
			return privilege.Decision{}, nil, err
		}
		wantV, wantPV = v, pv
	}
	// A token raises the floor of this check only: what the replica
	// knows is raised by what the store confirms, so a forged token
	// cannot make the replica wait for versions that never come.
	v, pv := max(ts.Known(), wantV), max(s.versions.Platform(), wantPV)
	key := cache.Key{Tenant: ts.ID(), Subject: req.Subject.ID, Action: req.Action, Resource: req.Resource.Name, Version: v, PlatformVersion: pv}
	// Cached answers and compiled sets are trusted while the versions
	// were confirmed within MaxStaleness; past it (the database and
	// Redis both unreachable for that long) only a fresh load answers.
	trusted := s.versions.Confirmed() >= s.nowNano()-int64(s.opts.MaxStaleness)
	if !trusted {
		return s.uncached(ctx, req, o, ts, v, pv, wantV, wantPV, true)
	}
	if !o.Explain {
		if e := s.l1.Get(key); e != nil {
			s.metrics.l1Hits[b2i(e.Decision.Allowed)].Inc()
			d := e.Decision
			d.Tier = TierL1
			return d, ts, nil
		}
	}
	now := s.now()
	if e := ts.engine.Load(); e != nil && e.Version >= v && e.PlatformVersion >= pv {
		return s.evaluate(e, req, now, o.Explain, key, TierEngine), ts, nil
	}
	var l2key string
	if s.l2 != nil && !o.Explain {
		l2key = s.l2.key(req.Tenant, v, pv, req.Subject.ID, req.Action, req.Resource.Name)
		d, ok, err := s.l2.get(ctx, l2key, now)
		if err != nil {
			s.metrics.l2Errors.Inc()
		}
		if ok {
			d.Tier = TierL2
			s.l1.Put(key, d)
			s.metrics.count(TierL2, d.Allowed)
			s.compileAsync(ts)
			return d, ts, nil
		}
	}
	return s.uncached(ctx, req, o, ts, v, pv, wantV, wantPV, false)
}

// uncached answers from the tenant's set loaded from the database at
// version v (platform pv) or later, or, when the store is unreachable,
// from the compiled set while it is trusted, else fails closed (or open).
// reload loads the set even when the compiled one is at v: the versions
// are not trusted.
func (s *Service) uncached(ctx context.Context, req privilege.Request, o CheckOptions, ts *tenantState, v, pv, wantV, wantPV int64, reload bool) (privilege.Decision, *tenantState, error) {
	now := s.now()
	e, err := s.compile(ctx, ts, v, pv, reload)
	switch {
	case err == nil && (e.Version < wantV || e.PlatformVersion < wantPV):
		return privilege.Decision{}, ts, apperr.New(apperr.Unavailable, "policy version %d (platform %d) of tenant %q is not in the store (it has %d, platform %d)", wantV, wantPV, req.Tenant, e.Version, e.PlatformVersion)
	case err == nil:
		d := s.evaluate(e, req, now, o.Explain, cache.Key{Tenant: ts.ID(), Subject: req.Subject.ID, Action: req.Action, Resource: req.Resource.Name, Version: e.Version, PlatformVersion: e.PlatformVersion}, TierL3)
		if s.l2 != nil {
			s.l2.put(s.l2.key(req.Tenant, e.Version, e.PlatformVersion, req.Subject.ID, req.Action, req.Resource.Name), d, now)
		}
		return d, ts, nil
	case apperr.Is(err, apperr.Unprocessable):
		// The stored set does not compile (a platform role it relies on
		// went away): deny, whatever the tenant's fail-open choice, since
		// nothing is unreachable.
		return s.fail(req, ts, false, "denied: the tenant's stored policy set does not compile: "+apperr.MessageOf(err)), ts, nil
	}
	if ctx.Err() != nil { // the caller gave up; that says nothing of the store
		return privilege.Decision{}, ts, ctx.Err()
	}
	// The store is unreachable. A compiled set is still an answer when no
	// token demands more and the versions were confirmed recently.
	if e := ts.engine.Load(); e != nil && e.Version >= wantV && e.PlatformVersion >= wantPV && s.Staleness() <= s.opts.MaxStaleness && !o.Explain {
		return s.evaluate(e, req, now, o.Explain, cache.Key{}, TierStale), ts, nil
	}
	s.opts.Log.Warn("privilege: policy store unreachable and nothing cached applies", "tenant", req.Tenant, "err", err)
	return s.fail(req, ts, true, "the policy store is unreachable and no cached answer applies"), ts, nil
}

// evaluate answers from a compiled set and caches the answer under key
// (a zero key is not cached).
func (s *Service) evaluate(e *privilege.Engine, req privilege.Request, now time.Time, explain bool, key cache.Key, tier string) privilege.Decision {
	d := e.Check(req, now, explain)
	d.Tier = tier
	if key.Tenant != 0 {
		s.l1.Put(key, d)
	}
	s.metrics.count(tier, d.Allowed)
	return d
}

// fail answers when no tier could: denied, or allowed when the tenant
// opted in to fail open and the cause is unreachability.
func (s *Service) fail(req privilege.Request, ts *tenantState, unreachable bool, why string) privilege.Decision {
	// No policy version answered: PolicyVersion stays 0. The fail-open
	// choice is the tenant's settings as last loaded.
	d := privilege.Decision{Tier: TierFailClosed, Reason: "denied (fail closed): " + why}
	if e := ts.engine.Load(); e != nil {
		if unreachable && e.Settings.FailOpen {
			d.Allowed, d.Tier = true, TierFailOpen
			d.Reason = "allowed (fail open, the tenant's choice): " + why
		}
	}
	if !unreachable {
		d.Reason = why
	}
	s.metrics.count(d.Tier, d.Allowed)
	return d
}

// compile returns the tenant's compiled set at the newest version known,
// loading and compiling it when the one held is older; concurrent
// callers share one load.
func (s *Service) compile(ctx context.Context, ts *tenantState, floor, platformFloor int64, reload bool) (*privilege.Engine, error) {
	ts.compiling.Lock()
	defer ts.compiling.Unlock()
	floor, platformFloor = max(floor, ts.Known()), max(platformFloor, s.versions.Platform())
	if e := ts.engine.Load(); !reload && e != nil && e.Version >= floor && e.PlatformVersion >= platformFloor {
		return e, nil
	}
	now := time.Now()
	if ts.failure != nil && now.Sub(ts.failedAt) < loadRetry {
		return nil, ts.failure
	}
	lctx, cancel := context.WithTimeout(ctx, loadTimeout)
	defer cancel()
	snap, err := s.store.Snapshot(lctx, ts.Name())
	if err != nil {
		s.metrics.compileErrors.Inc()
		if ctx.Err() == nil { // the store failed, not the caller
			ts.failedAt, ts.failure = now, fmt.Errorf("load policy set of tenant %q: %w", ts.Name(), err)
		}
		return nil, fmt.Errorf("load policy set of tenant %q: %w", ts.Name(), err)
	}
	ts.failure = nil
	s.metrics.compiles.Inc()
	e, err := privilege.CompileSnapshot(snap)
	if err != nil {
		s.metrics.compileErrors.Inc()
		s.opts.Log.Error("privilege: a stored policy set does not compile; its checks are denied", "tenant", ts.Name(), "version", snap.Version, "err", err)
		return nil, err
	}
	if old := ts.engine.Load(); old == nil || old.Version < e.Version || old.Version == e.Version && old.PlatformVersion <= e.PlatformVersion {
		ts.engine.Store(e)
	}
	s.learn(ts.Name(), e.Version, "load")
	s.learn("", e.PlatformVersion, "load")
	return e, nil
}

// compileAsync compiles the tenant's set in the background, after an L2
// hit, so the next checks are answered in process.
func (s *Service) compileAsync(ts *tenantState) {
	if !ts.compiling.TryLock() {
		return // a load is under way
	}
	ts.compiling.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = s.compile(ctx, ts, 0, 0, false)
	}()
}

// Engine returns the tenant's compiled policy set at the newest version
// known (at least the token's, when given), loading it if needed; for
// "what can this subject do", "who can do this" and simulation.
func (s *Service) Engine(ctx context.Context, tenant string, atLeast *Token) (*privilege.Engine, error) {
	if err := privilege.CheckTenant(tenant); err != nil || tenant == "" {
		return nil, apperr.Fields("invalid tenant", map[string]string{"tenant": "must be a tenant name"})
	}
	ts := s.tenant(tenant)
	var wantV, wantPV int64
	if atLeast != nil {
		v, pv, err := atLeast.floor(tenant)
		if err != nil {
			return nil, err
		}
		wantV, wantPV = v, pv
	}
	e, err := s.compile(ctx, ts, wantV, wantPV, false)
	if err != nil {
		if apperr.Is(err, apperr.Unprocessable) {
			return nil, apperr.Wrap(apperr.Conflict, err, "the tenant's stored policy set does not compile")
		}
		return nil, apperr.Wrap(apperr.Unavailable, err, "policy store unreachable")
	}
	if e.Version < wantV || e.PlatformVersion < wantPV {
		return nil, apperr.New(apperr.Unavailable, "policy version %d (platform %d) of tenant %q is not in the store", wantV, wantPV, tenant)
	}
	return e, nil
}

// Decisions lists the tenant's audited decisions (see
// privilege.DecisionQuery).
func (s *Service) Decisions(ctx context.Context, q privilege.DecisionQuery) ([]privilege.DecisionRecord, error) {
	if s.opts.Audit == nil {
		return nil, apperr.New(apperr.Unavailable, "the decision audit is not configured")
	}
	return s.opts.Audit.ListDecisions(ctx, q)
}

// FlushAudit writes every decision audited so far.
func (s *Service) FlushAudit(ctx context.Context) error {
	if s.audit == nil {
		return nil
	}
	return s.audit.Flush(ctx)
}

// AuditDropped counts audit records never written (queue full or the
// store rejecting them).
func (s *Service) AuditDropped() uint64 {
	if s.audit == nil {
		return 0
	}
	return s.audit.Dropped()
}
