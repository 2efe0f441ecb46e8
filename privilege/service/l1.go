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

// l1 is the in-process decision cache: a bounded W-TinyLFU cache
// (otter) whose entries expire after the TTL or just before the earliest
// role-assignment expiry their decision rests on, whichever is sooner.
type l1 struct {
	c      *otter.Cache[l1Key, privilege.Decision]
	margin time.Duration
}

// l1Margin is how long before a decision's ValidUntil its entry expires:
// two ticks of the coarse clock.
const l1Margin = 2 * coarseTick

func newL1(size int, ttl time.Duration, clock otter.Clock) *l1 {
	c := &l1{margin: l1Margin}
	c.c = otter.Must(&otter.Options[l1Key, privilege.Decision]{
		MaximumSize: size,
		Clock:       clock,
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[l1Key, privilege.Decision]) time.Duration {
			d := ttl
			if until := e.Value.ValidUntil; !until.IsZero() {
				if left := time.Duration(until.UnixNano()-clock.NowNano()) - c.margin; left < d {
					d = max(left, 1)
				}
			}
			return d
		}),
	})
	return c
}

func (c *l1) get(k l1Key) (privilege.Decision, bool) { return c.c.GetIfPresent(k) }

// put caches d unless it is conditional (it depends on attributes or the
// time) or carries explanations.
func (c *l1) put(k l1Key, d privilege.Decision) {
	if d.Conditional || d.Votes != nil {
		return
	}
	c.c.Set(k, d)
}

func (c *l1) len() int { return c.c.EstimatedSize() }
