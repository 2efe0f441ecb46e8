package cache

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	_ "embed"

	"github.com/redis/go-redis/v9"
)

// DefaultKeyPrefix prefixes the versions hash and the channel unless
// configured otherwise; the service and the SDK must agree on it.
const DefaultKeyPrefix = "greyrouter:privilege:"

// VersionsOptions configure a Versions; zero values take the defaults.
type VersionsOptions struct {
	// Redis carries announcements and, by default, the versions polled;
	// nil follows nothing but Poll (and Learn).
	Redis redis.UniversalClient
	// KeyPrefix prefixes the hash (<prefix>versions) and the channel
	// (<prefix>changes); default DefaultKeyPrefix.
	KeyPrefix string
	// PollInterval is how often every version is read to catch
	// announcements missed (default 1 s).
	PollInterval time.Duration
	// Poll reads every tenant's version ("" the platform) and names its
	// source for OnLearn; default the Redis hash, source "poll". The
	// service reads its database first. Without Redis and Poll nothing
	// is polled and Staleness never ends.
	Poll func(ctx context.Context) (versions map[string]int64, source string, err error)
	// Now is the clock of Confirmed and Staleness (default time.Now).
	Now func() time.Time
	// OnLearn is called whenever a newer version is learned, with its
	// source ("pubsub", the poll's, or Learn's caller's); for metrics.
	OnLearn func(source string)
	// OnPollError is called when a poll fails; for metrics and logs.
	OnPollError func(err error)
}

// Versions knows the newest policy version of every tenant and of the
// platform heard of so far, and how recently a poll confirmed them.
// Versions only go up.
type Versions struct {
	rdb       redis.UniversalClient
	o         VersionsOptions
	hash, ch  string
	platform  *Tenant
	confirmed atomic.Int64 // Unix nanoseconds of the last confirmed poll

	// tenants is copied on write (under mu) so that finding a tenant
	// takes one atomic load and a map read.
	mu      sync.Mutex
	tenants atomic.Pointer[map[string]*Tenant]
	nextID  uint32

	subMu     sync.Mutex
	sub       *redis.PubSub // the current subscription; Close closes it
	kick      chan struct{}
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	startOnce sync.Once
	closeOnce sync.Once
}

// Tenant is what a Versions knows of one tenant (or, named "", of the
// platform): its interned number for Keys and its newest version.
type Tenant struct {
	id    uint32
	name  string
	known atomic.Int64
}

// ID is the tenant's number in cache Keys, unique within its Versions.
func (t *Tenant) ID() uint32 { return t.id }

// Name is the tenant's name; "" for the platform.
func (t *Tenant) Name() string { return t.name }

// Known is the tenant's newest version heard of.
func (t *Tenant) Known() int64 { return t.known.Load() }

// NewVersions returns a Versions that knows nothing yet; PollOnce reads
// the versions, Start follows them until Close.
func NewVersions(o VersionsOptions) *Versions {
	if o.KeyPrefix == "" {
		o.KeyPrefix = DefaultKeyPrefix
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	v := &Versions{rdb: o.Redis, o: o, hash: o.KeyPrefix + "versions", ch: o.KeyPrefix + "changes",
		kick: make(chan struct{}, 1), cancel: func() {}}
	if v.o.Poll == nil && v.rdb != nil {
		v.o.Poll = v.pollHash
	}
	v.platform = &Tenant{name: ""}
	v.tenants.Store(&map[string]*Tenant{})
	return v
}

// Tenant returns the tenant's record, creating it on first use; "" is
// the platform.
func (v *Versions) Tenant(name string) *Tenant {
	if name == "" {
		return v.platform
	}
	if t := (*v.tenants.Load())[name]; t != nil {
		return t
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	old := *v.tenants.Load()
	if t := old[name]; t != nil {
		return t
	}
	v.nextID++
	t := &Tenant{id: v.nextID, name: name}
	m := make(map[string]*Tenant, len(old)+1)
	for k, x := range old {
		m[k] = x
	}
	m[name] = t
	v.tenants.Store(&m)
	return t
}

// Lookup returns the tenant's record if it exists, without creating it.
func (v *Versions) Lookup(name string) *Tenant {
	if name == "" {
		return v.platform
	}
	return (*v.tenants.Load())[name]
}

// Known returns the tenant's ("" the platform's) newest version heard of.
func (v *Versions) Known(tenant string) int64 {
	if t := v.Lookup(tenant); t != nil {
		return t.Known()
	}
	return 0
}

// Platform returns the platform's newest version heard of.
func (v *Versions) Platform() int64 { return v.platform.known.Load() }

// Learn records that tenant ("" the platform) is at version or later,
// and reports whether that was news. source names who said so, for
// OnLearn.
func (v *Versions) Learn(tenant string, version int64, source string) bool {
	known := &v.Tenant(tenant).known
	for {
		cur := known.Load()
		if version <= cur {
			return false
		}
		if known.CompareAndSwap(cur, version) {
			if v.o.OnLearn != nil {
				v.o.OnLearn(source)
			}
			return true
		}
	}
}

// Confirm records that every version was confirmed now (by a poll).
func (v *Versions) Confirm() { v.confirmed.Store(v.o.Now().UnixNano()) }

// Confirmed returns when the versions were last confirmed, in Unix
// nanoseconds; 0 before the first confirmation.
func (v *Versions) Confirmed() int64 { return v.confirmed.Load() }

// Staleness is how long ago the versions were last confirmed by a poll;
// the largest duration before the first.
func (v *Versions) Staleness() time.Duration {
	c := v.confirmed.Load()
	if c == 0 {
		return time.Duration(1<<63 - 1)
	}
	return v.o.Now().Sub(time.Unix(0, c))
}

//go:embed announce.lua
var announceLua string

var announceScript = redis.NewScript(announceLua)

// Announce tells every follower that tenant ("" the platform) is at
// version: the hash field is raised and the change published, in one
// script. Without Redis it does nothing. It is bounded by two seconds
// and survives the cancellation of ctx (a committed write must be
// announced even if its caller went away).
func (v *Versions) Announce(ctx context.Context, tenant string, version int64) error {
	if v.rdb == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	return announceScript.Run(ctx, v.rdb, []string{v.hash}, field(tenant), version, v.ch).Err()
}

// ReadHash reads every version announced in Redis ("" the platform).
func (v *Versions) ReadHash(ctx context.Context) (map[string]int64, error) {
	m, err := v.rdb.HGetAll(ctx, v.hash).Result()
	if err != nil {
		return nil, err
	}
	vs := make(map[string]int64, len(m))
	for f, s := range m {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			vs[unfield(f)] = n
		}
	}
	return vs, nil
}

func (v *Versions) pollHash(ctx context.Context) (map[string]int64, string, error) {
	vs, err := v.ReadHash(ctx)
	return vs, "poll", err
}

// field is a tenant's field in the versions hash: the platform's is "-"
// (hash fields cannot be usefully empty in logs).
func field(tenant string) string {
	if tenant == "" {
		return "-"
	}
	return tenant
}

func unfield(f string) string {
	if f == "-" {
		return ""
	}
	return f
}
