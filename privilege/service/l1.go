package service

import (
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/greyrouter/greyrouter/privilege"
)

// l1Key identifies a cached decision. The tenant is its interned number
// (tenantState.id, never reused), and both policy versions are part of
// the key: a write makes every older entry of the tenant unreachable at
// once, without touching the cache.
type l1Key struct {
	tenant                    uint32
	subject, action, resource string
	version, platformVersion  int64
}

// l1Entry is a cached decision and the instant (Unix nanoseconds) from
// which it must not be served: the TTL, or just before the earliest
// role-assignment expiry the decision rests on, whichever is sooner.
type l1Entry struct {
	d        privilege.Decision
	deadline int64
}

// l1 is the in-process decision cache: otter (W-TinyLFU admission and
// eviction, lock-free reads) bounds the number of entries; expiry is
// checked on every read against the entry's deadline with the service's
// cheap clock, which costs less than the cache's own per-entry expiry
// bookkeeping (measured: 95 against 215 ns a read). Expired entries are
// never served and are evicted like any other by size.
type l1 struct {
	c      *otter.Cache[l1Key, *l1Entry]
	ttl    time.Duration
	margin time.Duration
	now    func() int64
}

// l1Margin is how long before a decision's ValidUntil its entry stops
// being served: two ticks of the coarse clock, so a late tick never
// serves an answer at or past the expiry it rests on.
const l1Margin = 2 * coarseTick

func newL1(size int, ttl time.Duration, now func() int64) *l1 {
	return &l1{
		c:      otter.Must(&otter.Options[l1Key, *l1Entry]{MaximumSize: size}),
		ttl:    ttl,
		margin: l1Margin,
		now:    now,
	}
}

// get returns the cached entry when present and not expired; the entry
// is shared and must not be modified.
func (c *l1) get(k l1Key) *l1Entry {
	e, ok := c.c.GetIfPresent(k)
	if !ok || c.now() >= e.deadline {
		return nil
	}
	return e
}

// put caches d unless it is conditional (it depends on attributes or the
// time) or carries explanations.
func (c *l1) put(k l1Key, d privilege.Decision) {
	if d.Conditional || d.Votes != nil {
		return
	}
	deadline := c.now() + int64(c.ttl)
	if !d.ValidUntil.IsZero() {
		deadline = min(deadline, d.ValidUntil.UnixNano()-int64(c.margin))
	}
	c.c.Set(k, &l1Entry{d: d, deadline: deadline})
}

func (c *l1) len() int { return c.c.EstimatedSize() }
