package nacos

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/nacos-group/nacos-sdk-go/v2/model"
	"github.com/nacos-group/nacos-sdk-go/v2/vo"

	"github.com/greyrouter/greyrouter/router"
)

// Target is where snapshots go: *router.Manager.
type Target interface {
	SyncInstances(ctx context.Context, snap router.RegistrySnapshot) (router.SyncResult, error)
	Store() router.Reader
}

// SyncConfig says what to sync and how carefully.
type SyncConfig struct {
	Group string // "" is DEFAULT_GROUP
	Mapping
	// CreateVersions creates router versions that Nacos instances announce
	// (as a revision by "registry:nacos"); otherwise such instances are
	// left out until an operator creates the version.
	CreateVersions bool
	// ServiceRefresh is how often the router's service list is read, so
	// that new services are subscribed without a restart (default 2 s).
	ServiceRefresh time.Duration
	// Resync re-applies every service from the SDK's cache this often
	// while the server is reachable, catching anything a failed apply
	// left behind (default 30 s).
	Resync time.Duration
	// EmptyGrace: an empty instance list for a service that has registry
	// instances is applied only once the connection to Nacos has been up
	// this long (default 10 s). A Nacos server that restarts without its
	// ephemeral instances serves empty lists until clients re-register;
	// this keeps those out of the routing table.
	EmptyGrace time.Duration
}

// Status is the syncer's health, for /readyz and metrics.
type Status struct {
	Connected  bool      `json:"connected"`
	Stale      bool      `json:"stale"` // not connected: the table keeps the last known instances
	Services   int       `json:"services"`
	LastSync   time.Time `json:"last_sync,omitzero"`
	LastError  string    `json:"last_error,omitempty"`
	Deferred   int       `json:"deferred_empty"` // empty lists held back by EmptyGrace
	Syncs      int64     `json:"syncs"`
	Changes    int64     `json:"changes"`
	Skipped    int64     `json:"skipped_stale"`
	Unversions int64     `json:"invalid_instances"`
}

// Syncer subscribes to every router service in Nacos and applies each
// push to the routing table. Nacos being unreachable never empties the
// table: only lists Nacos served are applied, and periodic resyncs pause
// while the connection is down.
type Syncer struct {
	target Target
	naming Naming
	cfg    SyncConfig
	log    *slog.Logger

	queue chan string
	mu    sync.Mutex
	subs  map[string]*vo.SubscribeParam
	st    Status
	// upSince is when the connection last came up (zero while down).
	upSince time.Time
	now     func() time.Time
}

// NewSyncer returns a Syncer; call Run.
func NewSyncer(target Target, naming Naming, cfg SyncConfig, log *slog.Logger) *Syncer {
	if cfg.VersionKey == "" {
		cfg.VersionKey = "version"
	}
	if cfg.Group == "" {
		cfg.Group = "DEFAULT_GROUP"
	}
	if cfg.ServiceRefresh <= 0 {
		cfg.ServiceRefresh = 2 * time.Second
	}
	if cfg.Resync <= 0 {
		cfg.Resync = 30 * time.Second
	}
	if cfg.EmptyGrace < 0 {
		cfg.EmptyGrace = 0
	} else if cfg.EmptyGrace == 0 {
		cfg.EmptyGrace = 10 * time.Second
	}
	return &Syncer{target: target, naming: naming, cfg: cfg, log: log,
		queue: make(chan string, 1024), subs: map[string]*vo.SubscribeParam{}, now: time.Now}
}

// Status returns the current health.
func (s *Syncer) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	st.Services = len(s.subs)
	st.Stale = !st.Connected
	return st
}

// Run syncs until ctx ends, then unsubscribes.
func (s *Syncer) Run(ctx context.Context) {
	defer s.unsubscribeAll()
	refresh := time.NewTicker(s.cfg.ServiceRefresh)
	defer refresh.Stop()
	resync := time.NewTicker(s.cfg.Resync)
	defer resync.Stop()
	health := time.NewTicker(time.Second)
	defer health.Stop()
	s.checkHealth()
	s.refreshServices(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case svc := <-s.queue:
			s.apply(ctx, svc)
		case <-health.C:
			s.checkHealth()
		case <-refresh.C:
			s.refreshServices(ctx)
		case <-resync.C:
			if s.Status().Connected {
				s.enqueueAll()
			}
		}
	}
}

// checkHealth follows the connection; when it comes back, every service
// is re-applied.
func (s *Syncer) checkHealth() {
	up := s.naming.ServerHealthy()
	s.mu.Lock()
	was := s.st.Connected
	s.st.Connected = up
	switch {
	case up && !was:
		s.upSince = s.now()
	case !up:
		s.upSince = time.Time{}
	}
	s.mu.Unlock()
	if up != was {
		if up {
			s.log.Info("nacos connected")
			s.enqueueAll()
		} else {
			s.log.Warn("nacos unreachable; keeping the last known instances")
		}
	}
}

// refreshServices subscribes to new router services and drops removed ones.
func (s *Syncer) refreshServices(ctx context.Context) {
	svcs, err := s.target.Store().ListServices(ctx, router.Page{})
	if err != nil {
		s.log.Warn("cannot list services for nacos sync", "err", err)
		return
	}
	want := map[string]bool{}
	for _, svc := range svcs {
		want[svc.Name] = true
		s.mu.Lock()
		_, have := s.subs[svc.Name]
		s.mu.Unlock()
		if !have {
			s.subscribe(svc.Name)
		}
	}
	s.mu.Lock()
	var gone []string
	for name := range s.subs {
		if !want[name] {
			gone = append(gone, name)
		}
	}
	s.mu.Unlock()
	for _, name := range gone {
		s.unsubscribe(name)
	}
}

func (s *Syncer) subscribe(service string) {
	p := &vo.SubscribeParam{ServiceName: service, GroupName: s.cfg.Group,
		SubscribeCallback: func([]model.Instance, error) { s.enqueue(service) }}
	if err := s.naming.Subscribe(p); err != nil {
		s.setError("subscribe " + service + ": " + err.Error())
		return
	}
	s.mu.Lock()
	s.subs[service] = p
	s.mu.Unlock()
	s.enqueue(service)
}

func (s *Syncer) unsubscribe(service string) {
	s.mu.Lock()
	p := s.subs[service]
	delete(s.subs, service)
	s.mu.Unlock()
	if p != nil {
		if err := s.naming.Unsubscribe(p); err != nil {
			s.log.Warn("nacos unsubscribe failed", "service", service, "err", err)
		}
	}
}

func (s *Syncer) unsubscribeAll() {
	for _, n := range s.subscribedNames() {
		s.unsubscribe(n)
	}
}

// subscribedNames returns the services subscribed to.
func (s *Syncer) subscribedNames() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Collect(maps.Keys(s.subs))
}

// enqueue asks for a service to be applied; the SDK's callback goroutine
// must not block, so a full queue drops the request (the resync catches
// up).
func (s *Syncer) enqueue(service string) {
	select {
	case s.queue <- service:
	default:
	}
}

func (s *Syncer) enqueueAll() {
	for _, n := range s.subscribedNames() {
		s.enqueue(n)
	}
}

// apply reads the SDK's current view of a service and syncs it.
func (s *Syncer) apply(ctx context.Context, service string) {
	s.mu.Lock()
	_, subscribed := s.subs[service]
	upSince, connected := s.upSince, s.st.Connected
	s.mu.Unlock()
	if !subscribed {
		return
	}
	info, err := s.naming.GetService(vo.GetServiceParam{ServiceName: service, GroupName: s.cfg.Group})
	if err != nil {
		s.setError("read " + service + ": " + err.Error())
		return
	}
	snap := router.RegistrySnapshot{Service: service, Ref: int64(info.LastRefTime),
		CreateVersions: s.cfg.CreateVersions, Actor: "registry:nacos"}
	for _, n := range info.Hosts {
		in, reason, ok := s.cfg.Instance(n)
		if !ok {
			s.log.Debug("nacos instance ignored", "service", service, "ip", n.Ip, "port", n.Port, "reason", reason)
			continue
		}
		snap.Instances = append(snap.Instances, in)
	}
	if len(snap.Instances) == 0 {
		// An empty list right after (re)connecting may be a restarted
		// server that has not yet heard from its clients: hold it back.
		if !connected || s.now().Sub(upSince) < s.cfg.EmptyGrace {
			if s.hasRegistryInstances(ctx, service) {
				s.deferEmpty(service, upSince)
				return
			}
		}
	}
	res, err := s.target.SyncInstances(ctx, snap)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.Syncs++
	if err != nil {
		s.st.LastError = "sync " + service + ": " + err.Error()
		s.log.Warn("nacos sync failed; the resync retries", "service", service, "err", err)
		return
	}
	s.st.LastSync = s.now()
	if res.Stale {
		s.st.Skipped++
	}
	if res.Changed() {
		s.st.Changes++
		s.log.Info("registry instances synced", "service", service, "added", res.Added, "updated", res.Updated,
			"removed", res.Removed, "created_versions", res.CreatedVersions)
	}
	if len(res.Invalid) > 0 {
		s.st.Unversions += int64(len(res.Invalid))
		s.log.Warn("nacos instances left out", "service", service, "instances", res.Invalid)
	}
}

func (s *Syncer) hasRegistryInstances(ctx context.Context, service string) bool {
	ins, err := s.target.Store().ListInstances(ctx, service)
	if err != nil {
		return true // unknown: be careful
	}
	for _, in := range ins {
		if in.Source == router.SourceRegistry && !in.Draining {
			return true
		}
	}
	return false
}

// deferEmpty re-applies the service once the grace has passed.
func (s *Syncer) deferEmpty(service string, upSince time.Time) {
	s.mu.Lock()
	s.st.Deferred++
	s.mu.Unlock()
	wait := s.cfg.EmptyGrace
	if !upSince.IsZero() {
		wait = s.cfg.EmptyGrace - s.now().Sub(upSince)
	}
	s.log.Info("empty nacos instance list held back", "service", service, "recheck_in", wait.Round(time.Millisecond))
	time.AfterFunc(max(wait, 100*time.Millisecond), func() {
		s.mu.Lock()
		s.st.Deferred--
		s.mu.Unlock()
		s.enqueue(service)
	})
}

func (s *Syncer) setError(msg string) {
	s.mu.Lock()
	s.st.LastError = msg
	s.mu.Unlock()
	s.log.Warn("nacos", "err", msg)
}
