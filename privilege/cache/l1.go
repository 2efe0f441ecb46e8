package cache

import (
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/greyrouter/greyrouter/privilege"
)

// Key identifies a cached decision. Tenant is the tenant's interned
// number (Tenant.ID, never reused within a Versions), and both policy
// versions are part of the key: a write makes every older entry of the
// tenant unreachable at once, without touching the cache.
type Key struct {
	Tenant                    uint32
	Subject, Action, Resource string
	Version, PlatformVersion  int64
}

// Entry is a cached decision, when it was stored and the instant from
// which it must not be served (both Unix nanoseconds on the L1's clock).
// Entries are shared between readers and must not be modified.
type Entry struct {
	Decision privilege.Decision
	Stored   int64
	Deadline int64
}

// L1 is the in-process decision cache: otter (W-TinyLFU admission and
// eviction, lock-free reads) bounds the number of entries; expiry is
// checked on every read against the entry's deadline with a cheap clock,
// which costs less than the cache's own per-entry expiry bookkeeping
// (measured: 95 against 215 ns a read). Expired entries are never served
// and are evicted like any other by size.
type L1 struct {
	c   *otter.Cache[Key, *Entry]
	ttl int64
	now func() int64
}

// Margin is how long before a decision's ValidUntil its entry stops
// being served: two ticks of the coarse clock, so a late tick never
// serves an answer at or past the expiry it rests on.
const Margin = 2 * CoarseTick

// L1Options configure an L1.
type L1Options struct {
	// Size bounds the number of entries (default 100,000).
	Size int
	// TTL bounds how long an entry is served (default 1 m).
	TTL time.Duration
	// Now is the clock in Unix nanoseconds, e.g. CoarseClock.NowNano
	// (default time.Now).
	Now func() int64
}

// NewL1 returns an empty cache.
func NewL1(o L1Options) *L1 {
	if o.Size <= 0 {
		o.Size = 100_000
	}
	if o.TTL <= 0 {
		o.TTL = time.Minute
	}
	if o.Now == nil {
		o.Now = func() int64 { return time.Now().UnixNano() }
	}
	return &L1{
		c:   otter.Must(&otter.Options[Key, *Entry]{MaximumSize: o.Size}),
		ttl: int64(o.TTL),
		now: o.Now,
	}
}

// Get returns the entry under k when present and not expired, else nil.
func (c *L1) Get(k Key) *Entry {
	e, ok := c.c.GetIfPresent(k)
	if !ok || c.now() >= e.Deadline {
		return nil
	}
	return e
}

// Put caches d under k unless it is conditional (it depends on
// attributes or the time) or carries explanations, until the TTL or
// Margin before d.ValidUntil, whichever is sooner.
func (c *L1) Put(k Key, d privilege.Decision) {
	if d.Conditional || d.Votes != nil {
		return
	}
	now := c.now()
	deadline := now + c.ttl
	if !d.ValidUntil.IsZero() {
		deadline = min(deadline, d.ValidUntil.UnixNano()-int64(Margin))
	}
	if deadline <= now {
		return
	}
	c.c.Set(k, &Entry{Decision: d, Stored: now, Deadline: deadline})
}

// Len estimates the number of entries.
func (c *L1) Len() int { return c.c.EstimatedSize() }
