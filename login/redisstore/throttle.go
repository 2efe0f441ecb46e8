package redisstore

import (
	"context"
	"net/netip"
	"time"

	"github.com/greyrouter/greyrouter/login"
)

// Throttle is login.Throttle on the Limiter: every attempt is counted
// against its account and against its client address (IPv6 by /64).
type Throttle struct {
	l           *Limiter
	account, ip Policy
}

var _ login.Throttle = (*Throttle)(nil)

// NewThrottle returns a Throttle with the given policies.
func NewThrottle(l *Limiter, account, ip Policy) *Throttle {
	return &Throttle{l: l, account: account, ip: ip}
}

func (t *Throttle) subjects(tenant, username string, ip netip.Addr) []SubjectPolicy {
	sps := []SubjectPolicy{{AccountSubject(tenant, username), t.account}}
	if ip.IsValid() {
		sps = append(sps, SubjectPolicy{IPSubject(ip), t.ip})
	}
	return sps
}

// Allow checks the account and the address in one round trip.
func (t *Throttle) Allow(ctx context.Context, tenant, username string, ip netip.Addr) (time.Duration, error) {
	return t.l.CheckAll(ctx, t.subjects(tenant, username, ip))
}

// Failed counts the failure against both and returns the longer lockout.
func (t *Throttle) Failed(ctx context.Context, tenant, username string, ip netip.Addr) (time.Duration, error) {
	var longest time.Duration
	for _, sp := range t.subjects(tenant, username, ip) {
		d, err := t.l.Fail(ctx, sp.Subject, sp.Policy)
		if err != nil {
			return 0, err
		}
		longest = max(longest, d)
	}
	return longest, nil
}

// Succeeded forgets the account's failures (not the address's).
func (t *Throttle) Succeeded(ctx context.Context, tenant, username string) error {
	return t.l.Reset(ctx, AccountSubject(tenant, username))
}
