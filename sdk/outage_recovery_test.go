package sdk_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/sdk/privilege"
)

// condRouterConfirmed names the router client's recovery sign.
const condRouterConfirmed = "router client: snapshot fresh"

// freshStaleness is the staleness of a healthy follower of Redis: the
// authenticator and the privilege client read it every second.
const freshStaleness = 1500 * time.Millisecond

// recoveryWait bounds how long recover waits for a condition, well past
// recoveryBound, so that a slow recovery is measured rather than cut off.
const recoveryWait = 10 * time.Second

// recovery is how long after a dependency returned each sign of health
// first showed (-1: not within recoveryWait).
type recovery struct {
	names []string
	after map[string]time.Duration
}

func (r *recovery) String() string {
	var b strings.Builder
	for _, n := range r.names {
		d := r.after[n]
		v := d.Round(time.Millisecond).String()
		if d < 0 {
			v = fmt.Sprintf("not within %v", recoveryWait)
		}
		fmt.Fprintf(&b, "  %-48s %s\n", n, v)
	}
	return b.String()
}

// check fails the test for every sign of health that took longer than
// recoveryBound.
func (r *recovery) check(t *testing.T, dep string) {
	t.Helper()
	for _, n := range r.names {
		if d := r.after[n]; d < 0 || d > recoveryBound {
			t.Errorf("after %s returned, %q took %v; want at most %v", dep, n, d.Round(time.Millisecond), recoveryBound)
		}
	}
}

var recoveryChecks atomic.Int64

// recover polls, from back (when the dependency answered again), every
// sign that the SDK and greyrouter are healthy, and returns when each
// showed.
func (s *sdks) recover(t *testing.T, w *world, back time.Time) *recovery {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), recoveryWait+time.Second)
	defer cancel()
	// A staleness is healthy once the state was confirmed after the
	// return, or when it is no older than a poll interval or so (the
	// router's outage leaves Redis's followers alone).
	fresh := func(st time.Duration) bool { return st < time.Since(back) || st < freshStaleness }
	conds := []struct {
		name string
		ok   func() bool
	}{
		{condRouterConfirmed, func() bool { return fresh(s.router.Staleness()) }},
		{"auth: revocation state fresh", func() bool { return fresh(s.auth.Staleness()) }},
		{"auth (MaxStaleness 4s): a token verifies", func() bool {
			_, err := s.authStrict.Verify(ctx, s.tokens[0].token)
			return err == nil
		}},
		{"privilege: policy versions fresh", func() bool { return fresh(s.priv.Staleness()) }},
		{"privilege: a new check is allowed", func() bool {
			n := recoveryChecks.Add(1)
			d, err := s.priv.Check(ctx, checkReq(readers[1], fmt.Sprintf("orders/recovery-%d", n)), privilege.CheckOptions{})
			return err == nil && d.Allowed && d.Tier != privilege.TierFailClosed
		}},
		{"privilege (no Redis): greyrouter answers again", func() bool {
			d, err := s.privTTL.Check(ctx, s.ttlChecks[0].req, privilege.CheckOptions{})
			return err == nil && d.Allowed && d.Tier != privilege.TierFailClosed && d.Tier != privilege.TierLocalStale
		}},
		{"greyrouter: /readyz 200", w.ready},
	}
	r := &recovery{after: map[string]time.Duration{}}
	for _, c := range conds {
		r.names = append(r.names, c.name)
		r.after[c.name] = -1
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for left := len(conds); left > 0 && time.Since(back) < recoveryWait; {
		for _, c := range conds {
			if r.after[c.name] < 0 && c.ok() {
				r.after[c.name] = time.Since(back)
				left--
			}
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return r
		}
	}
	return r
}
