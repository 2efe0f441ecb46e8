package redisstore

import (
	"context"
	"crypto/rand"
	_ "embed"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/greyrouter/greyrouter/internal/apperr"
)

//go:embed lua/limiter.lua
var limiterSrc string

// limiterScript is wrapped once: Run sends EVALSHA and falls back to EVAL
// when the server does not know the script yet.
var limiterScript = redis.NewScript(limiterSrc)

// Limiter throttles login failures per subject in Redis, shared by every
// replica of the login service. A login asks Check (or CheckAll) first and
// does not verify the password while locked, reports a wrong password with
// Fail and a success with Reset.
type Limiter struct {
	rdb redis.UniversalClient
}

// New returns a Limiter on any client: standalone, Sentinel or Cluster.
func New(rdb redis.UniversalClient) *Limiter { return &Limiter{rdb: rdb} }

// SubjectPolicy pairs a subject with the policy it is throttled by.
type SubjectPolicy struct {
	Subject Subject
	Policy  Policy
}

// Check returns how long the subject stays locked out, 0 when it may try.
func (l *Limiter) Check(ctx context.Context, s Subject, p Policy) (retryAfter time.Duration, err error) {
	return l.run(ctx, "check login throttle", s, p, "check", "")
}

// Fail records a failed login of the subject and returns how long it is
// locked out now, 0 when the failure did not reach the limit. A failure
// reported while the subject is already locked (a login that raced with
// the lock) is not counted and does not lengthen the lockout.
func (l *Limiter) Fail(ctx context.Context, s Subject, p Policy) (retryAfter time.Duration, err error) {
	return l.run(ctx, "record login failure", s, p, "fail", rand.Text())
}

// Reset forgets the subject's failures after a successful login. It keeps
// the lockout history: an account that is locked, then logged into, then
// locked again gets the doubled lockout, so a user's successes between
// rounds do not reset an attacker's back-off. The history expires on its
// own once the subject stayed unlocked for the policy's MaxLockout.
func (l *Limiter) Reset(ctx context.Context, s Subject) error {
	if s.IsZero() {
		return apperr.New(apperr.Invalid, "reset login throttle: empty subject")
	}
	if err := limiterScript.Run(ctx, l.rdb, s.keys(), "reset", 0, 0, 0, 0, "").Err(); err != nil {
		return apperr.Wrap(apperr.Unavailable, err, "reset login throttle")
	}
	return nil
}

// CheckAll checks several subjects (typically the account and the client
// IP of one login) in one pipelined round trip and returns the longest
// lockout among them. On Cluster the subjects may live on different nodes.
func (l *Limiter) CheckAll(ctx context.Context, sps []SubjectPolicy) (retryAfter time.Duration, err error) {
	for _, sp := range sps {
		if err := valid(sp.Subject, sp.Policy, "check login throttle"); err != nil {
			return 0, err
		}
	}
	if len(sps) == 0 {
		return 0, nil
	}
	cmds := make([]*redis.Cmd, len(sps))
	// Errors are read per command below; Exec's error is the first of them.
	_, _ = l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, sp := range sps {
			cmds[i] = p.EvalSha(ctx, limiterScript.Hash(), sp.Subject.keys(), scriptArgs("check", sp.Policy, "")...)
		}
		return nil
	})
	for i, sp := range sps {
		ms, err := cmds[i].Int64()
		if redis.HasErrorPrefix(err, "NOSCRIPT") {
			// Redis lost its script cache (restart, SCRIPT FLUSH): Run loads it.
			ms, err = limiterScript.Run(ctx, l.rdb, sp.Subject.keys(), scriptArgs("check", sp.Policy, "")...).Int64()
		}
		if err != nil {
			return 0, apperr.Wrap(apperr.Unavailable, err, "check login throttle")
		}
		retryAfter = max(retryAfter, time.Duration(ms)*time.Millisecond)
	}
	return retryAfter, nil
}

func (l *Limiter) run(ctx context.Context, doing string, s Subject, p Policy, op, id string) (time.Duration, error) {
	if err := valid(s, p, doing); err != nil {
		return 0, err
	}
	ms, err := limiterScript.Run(ctx, l.rdb, s.keys(), scriptArgs(op, p, id)...).Int64()
	if err != nil {
		return 0, apperr.Wrap(apperr.Unavailable, err, doing)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

func valid(s Subject, p Policy, doing string) error {
	if s.IsZero() {
		return apperr.New(apperr.Invalid, "%s: empty subject", doing)
	}
	return p.Validate()
}

func scriptArgs(op string, p Policy, id string) []any {
	return append(append([]any{op}, p.args()...), id)
}
