package privilege

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/greyrouter/greyrouter/login"
	domain "github.com/greyrouter/greyrouter/privilege"
	"github.com/greyrouter/greyrouter/privilege/cache"
	"github.com/greyrouter/greyrouter/sdk/auth"
)

// The privilege domain's types, so that callers need only this package.
type (
	// Request is one question: may Subject do Action on Resource in Tenant?
	Request = domain.Request
	// Subject is who asks, with attributes for ABAC policies.
	Subject = domain.Subject
	// Resource is what is acted on, with attributes for ABAC policies.
	Resource = domain.Resource
	// Decision is the answer, with its reason and the tier that gave it.
	Decision = domain.Decision
)

// Tiers this client answers from (Decision.Tier). Remote answers keep
// the tier of greyrouter that answered them (l1, engine, l2, l3, ...:
// greyrouter's own caches).
const (
	TierLocal      = "local"       // this process's cache, trusted (see the package doc)
	TierLocalStale = "local-stale" // this process's cache, greyrouter unreachable
	TierFailClosed = "fail-closed" // greyrouter unreachable and nothing cached: denied
)

// Options configure a Client; zero values take the defaults.
type Options struct {
	// BaseURL is greyrouter's address, e.g. "http://greyrouter:8080".
	// Required.
	BaseURL string
	// TokenSource returns the bearer token of a check: the calling
	// service's machine client's access token (sdk/registry's
	// ClientCredentials fits). A machine client of a tenant may check any
	// subject of that tenant. Required.
	TokenSource func(ctx context.Context) (string, error)
	// HTTPClient sends checks (default: a client of its own).
	HTTPClient *http.Client
	// Timeout bounds one remote check, token included (default 1 s).
	Timeout time.Duration
	// RetryAfter is how long, after greyrouter could not be reached, checks
	// answer from the cache or fail closed without trying again (default
	// 500 ms): an outage costs each request microseconds, not a timeout,
	// and recovery is noticed within RetryAfter.
	RetryAfter time.Duration

	// Redis, when set, is greyrouter's Redis: the client follows policy
	// changes on it (announcements and polls of the versions hash), so
	// that cached answers stay usable until a change, not a TTL.
	Redis redis.UniversalClient
	// KeyPrefix is greyrouter's privilege key prefix (default
	// "greyrouter:privilege:", as greyrouter's).
	KeyPrefix string
	// PollInterval is how often the versions hash is read to catch
	// announcements missed (default 1 s).
	PollInterval time.Duration
	// VersionsTrust is how long after the last successful poll of Redis
	// the versions alone vouch for cached answers (default 3 s); beyond
	// it the client behaves as without Redis.
	VersionsTrust time.Duration

	// CacheTTL is how long an answer is used without asking again when
	// the versions do not vouch for it (no Redis, or Redis unreachable):
	// a change takes up to CacheTTL to show (default 1 s).
	CacheTTL time.Duration
	// MaxStale is how long an answer may still be used, as tier "local-stale",
	// while greyrouter cannot be reached (default 5 m). Past it, and for
	// checks never answered before, the client fails closed.
	MaxStale time.Duration
	// CacheSize bounds the number of cached answers (default 100,000).
	CacheSize int

	// Principal returns the authenticated caller of a request, for the
	// middleware (default: sdk/auth's FromContext).
	Principal func(ctx context.Context) (login.Principal, bool)
	// Log receives outage warnings and every fail-open admission; nil
	// discards them.
	Log *slog.Logger
}

func (o *Options) defaults() error {
	if o.BaseURL == "" || o.TokenSource == nil {
		return errors.New("privilege client: BaseURL and TokenSource are required")
	}
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     90 * time.Second,
		}}
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Second
	}
	if o.RetryAfter <= 0 {
		o.RetryAfter = 500 * time.Millisecond
	}
	if o.KeyPrefix == "" {
		o.KeyPrefix = cache.DefaultKeyPrefix
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.VersionsTrust <= 0 {
		o.VersionsTrust = 3 * time.Second
	}
	if o.CacheTTL <= 0 {
		o.CacheTTL = time.Second
	}
	if o.MaxStale <= 0 {
		o.MaxStale = 5 * time.Minute
	}
	if o.Principal == nil {
		o.Principal = auth.FromContext
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Client answers privilege checks for a calling service: from its cache
// (shared in kind with greyrouter's own L1, privilege/cache) when it can
// vouch for the answer, else by asking greyrouter's check API, and when
// greyrouter cannot be reached, from answers it had (bounded) or by
// denying. It is safe for concurrent use; one per process is enough.
type Client struct {
	o        Options
	clock    *cache.CoarseClock
	l1       *cache.L1
	versions *cache.Versions

	downUntil atomic.Int64 // Unix nanoseconds until which remote checks are skipped
}

// New returns a Client; with Redis it reads the versions once (an
// unreachable Redis is retried in the background, not an error) and
// follows them until Close.
func New(ctx context.Context, o Options) (*Client, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	c := &Client{o: o, clock: cache.NewCoarseClock()}
	c.l1 = cache.NewL1(cache.L1Options{Size: o.CacheSize, TTL: max(o.MaxStale, o.CacheTTL), Now: c.clock.NowNano})
	c.versions = cache.NewVersions(cache.VersionsOptions{Redis: o.Redis, KeyPrefix: o.KeyPrefix, PollInterval: o.PollInterval})
	if o.Redis != nil {
		if err := c.versions.PollOnce(ctx); err != nil {
			o.Log.Warn("privilege client: could not read the policy versions from Redis; answers are cached for CacheTTL until it answers", "err", err)
		}
		c.versions.Start()
	}
	return c, nil
}

// Close stops following policy changes.
func (c *Client) Close() {
	c.versions.Close()
	c.clock.Close()
}

// Staleness is how long ago Redis last confirmed the policy versions;
// the largest duration without Redis.
func (c *Client) Staleness() time.Duration { return c.versions.Staleness() }

// CheckOptions qualify a check.
type CheckOptions struct {
	// AtLeast is a revision token (what a privilege write returned, as in
	// greyrouter's X-Privilege-Revision header): the answer reflects that
	// write or a later one, never anything older.
	AtLeast string
	// Explain asks for every applicable vote; it bypasses the cache.
	Explain bool
}

// Check answers req. It returns an error only when the check cannot be
// asked (an invalid request or token, a credential greyrouter refuses:
// *Error) or ctx ended; when greyrouter is unreachable the answer is a
// cached one (tier "local-stale") or a denial (tier "fail-closed").
func (c *Client) Check(ctx context.Context, req Request, o CheckOptions) (Decision, error) {
	t := c.versions.Lookup(req.Tenant)
	if t == nil {
		if err := validTenant(req.Tenant); err != nil {
			return Decision{}, err
		}
		t = c.versions.Tenant(req.Tenant)
	}
	v, pv := t.Known(), c.versions.Platform()
	if o.AtLeast != "" {
		// The token raises the floor of this lookup only; greyrouter
		// honours it for a remote answer.
		tv, tpv, err := tokenFloor(o.AtLeast, req.Tenant)
		if err != nil {
			return Decision{}, err
		}
		v, pv = max(v, tv), max(pv, tpv)
	}
	key := cache.Key{Tenant: t.ID(), Subject: req.Subject.ID, Action: req.Action, Resource: req.Resource.Name, Version: v, PlatformVersion: pv}
	now := c.clock.NowNano()
	var cached *cache.Entry
	if !o.Explain {
		if cached = c.l1.Get(key); cached != nil && c.trusted(cached, now) {
			d := cached.Decision
			d.Tier = TierLocal
			return d, nil
		}
	}
	if err := validRequest(req); err != nil {
		return Decision{}, err
	}
	if now < c.downUntil.Load() {
		return c.unreachable(cached, now), nil
	}
	d, err := c.remote(ctx, req, o)
	var apiErr *Error
	switch {
	case err == nil:
		c.remember(t, req, d)
		return d, nil
	case ctx.Err() != nil:
		return Decision{}, ctx.Err()
	case errors.As(err, &apiErr) && (!apiErr.outage() || apiErr.Status == http.StatusServiceUnavailable && o.AtLeast != ""):
		// Refused: a 4xx, or a token naming a version the store lacks
		// (503). A property of this request, not an outage.
		return Decision{}, err
	}
	c.downUntil.Store(now + int64(c.o.RetryAfter))
	c.o.Log.Warn("privilege client: greyrouter unreachable; answering from the cache or failing closed", "tenant", req.Tenant, "err", err)
	return c.unreachable(cached, now), nil
}

// trusted reports whether a cached answer may be served without asking:
// the versions it was found under were confirmed by Redis recently, or
// it is younger than CacheTTL.
func (c *Client) trusted(e *cache.Entry, now int64) bool {
	if now-e.Stored <= int64(c.o.CacheTTL) {
		return true
	}
	return c.o.Redis != nil && c.versions.Confirmed() >= now-int64(c.o.VersionsTrust)
}

// remember learns the versions a remote answer names and caches it
// under them, unless it is not an answer of the policy set (fail-closed,
// fail-open and stale tiers) or depends on attributes (Conditional;
// L1.Put skips those).
func (c *Client) remember(t *cache.Tenant, req Request, d Decision) {
	switch d.Tier {
	case "stale", "fail-closed", "fail-open": // greyrouter could not reach its store
		return
	}
	c.versions.Learn(req.Tenant, d.PolicyVersion, "answer")
	c.versions.Learn("", d.PlatformVersion, "answer")
	c.l1.Put(cache.Key{Tenant: t.ID(), Subject: req.Subject.ID, Action: req.Action, Resource: req.Resource.Name,
		Version: d.PolicyVersion, PlatformVersion: d.PlatformVersion}, d)
}

// unreachable answers when greyrouter cannot be: from the cached answer
// when it is younger than MaxStale, else denied.
func (c *Client) unreachable(cached *cache.Entry, now int64) Decision {
	if cached != nil && now-cached.Stored <= int64(c.o.MaxStale) {
		d := cached.Decision
		d.Tier = TierLocalStale
		return d
	}
	return Decision{Tier: TierFailClosed, Reason: "denied (fail closed): the privilege service is unreachable and no cached answer applies"}
}
