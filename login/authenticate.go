package login

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"strconv"
	"time"

	"github.com/greyrouter/greyrouter/internal/apperr"
)

// Throttle limits password attempts per account and per client address.
// Implementations fail closed: an error means "do not try".
type Throttle interface {
	// Allow returns how long the caller must wait before an attempt; 0
	// means go ahead.
	Allow(ctx context.Context, tenant, username string, ip netip.Addr) (time.Duration, error)
	// Failed records a failed attempt and returns the lockout it caused.
	Failed(ctx context.Context, tenant, username string, ip netip.Addr) (time.Duration, error)
	// Succeeded forgets the account's failures.
	Succeeded(ctx context.Context, tenant, username string) error
}

// AuditEvent is one authentication event, kept for operators. Kinds:
// login_success, login_failure, login_throttled, login_lockout (a failure
// started a lockout of the account or address), logout, session_revoked,
// logout_everywhere, refresh_reused, password_changed, password_reset,
// user_disabled, user_enabled, token_revoked, client_token,
// client_token_failure, signing_key_rotated.
type AuditEvent struct {
	ID        string    `json:"id"` // assigned by the store
	Kind      string    `json:"kind"`
	Reason    string    `json:"reason,omitempty"` // for failures: unknown_user, wrong_password, inactive_user
	Tenant    string    `json:"tenant,omitempty"`
	Username  string    `json:"username,omitempty"`
	UserID    string    `json:"user_id,omitempty"`
	SessionID string    `json:"session_id,omitempty"`
	Actor     string    `json:"actor,omitempty"` // who did it when not the user (an administrator)
	IP        string    `json:"ip,omitempty"`
	UserAgent string    `json:"user_agent,omitempty"`
	At        time.Time `json:"at"`
}

// Auditor receives audit events; it must not block for long.
type Auditor interface {
	Record(ctx context.Context, e AuditEvent)
}

// Attempt is one login attempt as the HTTP layer received it.
type Attempt struct {
	Tenant    string
	Username  string
	Password  string
	IP        netip.Addr
	UserAgent string
}

// ErrInvalidCredentials is the one answer for an unknown user, a wrong
// password and a user that may not log in: callers cannot tell them apart.
var ErrInvalidCredentials = apperr.New(apperr.Unauthenticated, "invalid credentials")

// Authenticator checks passwords with throttling, flat timing and an audit
// trail. It does not create sessions or tokens; its caller does.
type Authenticator struct {
	users    UserStore
	hasher   *Hasher
	throttle Throttle
	audit    Auditor
	log      *slog.Logger
	now      func() time.Time
}

// NewAuthenticator wires an Authenticator; now may be nil for time.Now.
func NewAuthenticator(users UserStore, hasher *Hasher, throttle Throttle, audit Auditor, log *slog.Logger, now func() time.Time) *Authenticator {
	if now == nil {
		now = time.Now
	}
	return &Authenticator{users: users, hasher: hasher, throttle: throttle, audit: audit, log: log, now: now}
}

// Authenticate returns the user whose password matches. Unknown users,
// wrong passwords and users that are not active all cost one argon2
// verification and yield ErrInvalidCredentials; a throttled caller gets a
// RateLimited error with the wait in its details; a throttle or store
// failure denies (Unavailable).
func (a *Authenticator) Authenticate(ctx context.Context, at Attempt) (User, error) {
	at.Username = NormalizeUsername(at.Username)
	ev := AuditEvent{Tenant: at.Tenant, Username: at.Username, IP: at.IP.String(), UserAgent: at.UserAgent, At: a.now().UTC()}
	if len(at.Username) > MaxUsernameLen || len(at.Tenant) > 64 {
		// Too long to be anyone: spend the same work as any failure, but
		// keep the oversized name out of throttle keys and the audit.
		if err := a.hasher.VerifyDummy(ctx, at.Password); err != nil {
			return User{}, err
		}
		ev.Kind, ev.Reason, ev.Username, ev.Tenant = "login_failure", "unknown_user", "", ""
		a.audit.Record(ctx, ev)
		return User{}, ErrInvalidCredentials
	}
	wait, err := a.throttle.Allow(ctx, at.Tenant, at.Username, at.IP)
	if err != nil {
		return User{}, apperr.Wrap(apperr.Unavailable, err, "login temporarily unavailable")
	}
	if wait > 0 {
		ev.Kind = "login_throttled"
		a.audit.Record(ctx, ev)
		return User{}, throttled(wait)
	}
	u, err := a.users.GetUser(ctx, at.Tenant, at.Username)
	switch {
	case apperr.Is(err, apperr.NotFound):
		if err := a.hasher.VerifyDummy(ctx, at.Password); err != nil {
			return User{}, err
		}
		return User{}, a.fail(ctx, at, ev, "unknown_user")
	case err != nil:
		return User{}, apperr.Wrap(apperr.Unavailable, err, "login temporarily unavailable")
	}
	ev.UserID = u.ID
	ok, rehash, err := a.hasher.Verify(ctx, at.Password, u.PasswordHash)
	if err != nil {
		return User{}, err
	}
	if !ok {
		return User{}, a.fail(ctx, at, ev, "wrong_password")
	}
	if u.Status != UserActive {
		return User{}, a.fail(ctx, at, ev, "inactive_user")
	}
	if err := a.throttle.Succeeded(ctx, at.Tenant, at.Username); err != nil {
		a.log.Warn("could not clear login failures", "tenant", at.Tenant, "err", err)
	}
	u.LastLoginAt = ev.At
	if rehash {
		// The stored hash predates the current parameters: upgrade it
		// now that the plaintext is at hand.
		if h, err := a.hasher.Hash(ctx, at.Password); err == nil {
			u.PasswordHash = h
		}
	}
	if err := a.users.UpdateUser(ctx, u); err != nil {
		a.log.Warn("could not record the login", "tenant", at.Tenant, "user", u.ID, "err", err)
	}
	ev.Kind = "login_success"
	a.audit.Record(ctx, ev)
	return u, nil
}

// fail records a failed attempt (audit and throttle) and returns the one
// error every failure gets.
func (a *Authenticator) fail(ctx context.Context, at Attempt, ev AuditEvent, reason string) error {
	ev.Kind, ev.Reason = "login_failure", reason
	a.audit.Record(ctx, ev)
	lockout, err := a.throttle.Failed(ctx, at.Tenant, at.Username, at.IP)
	if err != nil {
		a.log.Warn("could not record a login failure", "tenant", at.Tenant, "err", err)
	}
	if lockout > 0 {
		ev.Kind, ev.Reason = "login_lockout", "locked for "+lockout.Round(time.Second).String()
		a.audit.Record(ctx, ev)
	}
	return ErrInvalidCredentials
}

// throttled is the RateLimited error for a wait, rounded up to seconds.
func throttled(wait time.Duration) error {
	secs := int(math.Ceil(wait.Seconds()))
	return &apperr.Error{Code: apperr.RateLimited, Message: fmt.Sprintf("too many attempts; retry in %d s", secs),
		Details: map[string]string{"retry_after_seconds": strconv.Itoa(secs)}}
}

// RetryAfter extracts the wait of a RateLimited error, for a Retry-After header.
func RetryAfter(err error) (time.Duration, bool) {
	var e *apperr.Error
	if !errors.As(err, &e) || e.Code != apperr.RateLimited {
		return 0, false
	}
	n, convErr := strconv.Atoi(e.Details["retry_after_seconds"])
	return time.Duration(n) * time.Second, convErr == nil
}
