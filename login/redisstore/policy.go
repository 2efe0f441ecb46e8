package redisstore

import (
	"time"

	"github.com/greyrouter/greyrouter/internal/apperr"
)

// Policy says how many failures a subject may have in a sliding window
// before it is locked out, and for how long. The first lockout lasts
// BaseLockout and every further one twice the one before, up to MaxLockout;
// once a subject has stayed out of lockout for MaxLockout, it starts again
// from BaseLockout. Durations are used in whole milliseconds.
type Policy struct {
	Window      time.Duration
	MaxFailures int
	BaseLockout time.Duration
	MaxLockout  time.Duration
}

// AccountPolicy is the default for one account: five failures in 15
// minutes lock it for a minute, doubling to an hour. It is tight because
// a legitimate user seldom mistypes five times, and the lockout affects
// only logins to that account.
func AccountPolicy() Policy {
	return Policy{Window: 15 * time.Minute, MaxFailures: 5, BaseLockout: time.Minute, MaxLockout: time.Hour}
}

// IPPolicy is the default for one client IP (or IPv6 /64): fifty failures
// in 15 minutes, then a minute doubling to an hour. It is looser than the
// account policy because many users can share an address behind NAT; it
// catches one source guessing across many accounts.
func IPPolicy() Policy {
	return Policy{Window: 15 * time.Minute, MaxFailures: 50, BaseLockout: time.Minute, MaxLockout: time.Hour}
}

// Validate reports a policy the script cannot apply as apperr.Invalid.
func (p Policy) Validate() error {
	problems := map[string]string{}
	if p.Window < time.Millisecond {
		problems["window"] = "must be at least 1ms"
	}
	if p.MaxFailures < 1 {
		problems["max_failures"] = "must be at least 1"
	}
	if p.BaseLockout < time.Millisecond {
		problems["base_lockout"] = "must be at least 1ms"
	}
	if p.MaxLockout < p.BaseLockout {
		problems["max_lockout"] = "must not be shorter than base_lockout"
	}
	if len(problems) == 0 {
		return nil
	}
	return &apperr.Error{Code: apperr.Invalid, Message: "invalid login throttle policy", Details: problems}
}

// args are the policy's script arguments after the operation.
func (p Policy) args() []any {
	return []any{p.Window.Milliseconds(), p.MaxFailures, p.BaseLockout.Milliseconds(), p.MaxLockout.Milliseconds()}
}
