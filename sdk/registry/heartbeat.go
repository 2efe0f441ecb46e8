package registry

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// keepAlive sends a heartbeat every third of the TTL until ctx ends. A
// failed heartbeat is retried sooner, with backoff capped at the interval,
// so a router that comes back within the TTL finds the instance alive; an
// instance the router no longer knows is registered again. Failures are
// logged, never fatal: the process keeps serving whoever still calls it.
func (r *Registration) keepAlive(ctx context.Context) {
	defer close(r.beatsDone)
	interval := time.Duration(r.opts.ttlSeconds()) * time.Second / 3
	bo := newBackoff(max(interval/8, 50*time.Millisecond), interval)
	failures := 0
	wait := interval
	for sleep(ctx, wait) {
		err := r.b.heartbeat(ctx, r.in)
		if errors.Is(err, errGone) {
			r.log.Warn("router lost the instance, registering it again")
			err = r.b.register(ctx, r.in, r.opts.ttlSeconds())
		}
		if ctx.Err() != nil {
			return // stopped mid-request: not a failure
		}
		if err != nil {
			failures++
			// One line per failure would flood the log during a long
			// outage; the first and then every tenth say enough.
			if failures == 1 || failures%10 == 0 {
				r.log.Warn("heartbeat failed, retrying", "err", err, "failures", failures)
			}
			wait = bo.next()
			continue
		}
		if failures > 0 {
			r.log.Info("heartbeat recovered", "failures", failures)
		}
		failures, wait = 0, interval
		bo.reset()
	}
}

// backoff doubles a delay from min up to max, with ±20% jitter so that
// instances that lost the router together do not return in step.
type backoff struct {
	min, max, cur time.Duration
}

func newBackoff(lo, hi time.Duration) *backoff { return &backoff{min: lo, max: hi} }

func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(b.cur*2, b.max)
	}
	return time.Duration(float64(b.cur) * (0.8 + 0.4*rand.Float64()))
}

func (b *backoff) reset() { b.cur = 0 }
