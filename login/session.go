package login

import (
	"context"
	"time"

	"github.com/greyrouter/greyrouter/internal/apperr"
)

// Session is one login of one user: created at every successful password
// login (never reused, so a session id planted before login is useless
// after it), ended by logout, revocation, or its idle or absolute timeout.
//
// A session is found by its public ID together with its user id (both
// appear in tokens and listings); proving possession needs the secret of
// its session credential or of its current refresh token, of which only
// SHA-256 hashes are stored (see credentials.go).
type Session struct {
	ID         string `json:"id"` // 32 lower-case hex characters; the sid claim of its access tokens
	Tenant     string `json:"tenant,omitempty"`
	UserID     string `json:"user_id"`
	Username   string `json:"username"`
	Platform   bool   `json:"platform,omitempty"`
	Admin      bool   `json:"admin,omitempty"`
	Generation int64  `json:"generation"` // the user's generation when the session began
	IP         string `json:"ip,omitempty"`
	UserAgent  string `json:"user_agent,omitempty"`
	// CSRFToken is the synchronizer token a cookie-authenticated request
	// must echo in X-CSRF-Token; it is random per session.
	CSRFToken     string    `json:"-"`
	CreatedAt     time.Time `json:"created_at"`
	LastSeenAt    time.Time `json:"last_seen_at"`
	IdleExpiresAt time.Time `json:"idle_expires_at"`
	ExpiresAt     time.Time `json:"expires_at"` // absolute; nothing extends it
}

// Live reports whether the session is usable at now.
func (s Session) Live(now time.Time) bool {
	return now.Before(s.IdleExpiresAt) && now.Before(s.ExpiresAt)
}

// ErrSessionNotFound is the answer for a missing, expired or revoked
// session and for a wrong secret: callers cannot tell them apart.
var ErrSessionNotFound = apperr.New(apperr.Unauthenticated, "session expired or revoked")

// ErrRefreshReused reports that a refresh token that was already exchanged
// was presented again: the token was copied, so its session (the whole
// token family) has been revoked.
var ErrRefreshReused = apperr.New(apperr.Unauthenticated, "refresh token reused; the session has been revoked")

// SessionStore keeps sessions, the per-user index of them, and their
// refresh tokens. Every operation on one user's sessions is atomic (on
// Redis: one Lua script over keys in the user's hash slot). Times come
// from the caller so that tests control the clock; idle is the idle
// timeout, and every successful use moves IdleExpiresAt to
// min(now+idle, ExpiresAt).
type SessionStore interface {
	// CreateSession stores s, proven later by secretHash (the session
	// credential) and refreshHash (its first refresh token). When limit >
	// 0 and the user already has limit or more live sessions, the oldest
	// are deleted in the same step so that limit remain, and returned.
	CreateSession(ctx context.Context, s Session, secretHash, refreshHash string, limit int) (evicted []Session, err error)
	// UseSession returns the live session (userID, sid) whose credential
	// hashes to secretHash and extends its idle expiry. Anything else is
	// ErrSessionNotFound.
	UseSession(ctx context.Context, userID, sid, secretHash string, now time.Time, idle time.Duration) (Session, error)
	// RotateRefresh exchanges the session's current refresh token
	// (presentedHash) for nextHash and extends the idle expiry, atomically:
	// of concurrent calls with one token exactly one succeeds. A token that
	// was current before (already exchanged) deletes the session and
	// returns it with ErrRefreshReused; an unknown token, or a session that
	// is missing or expired, is ErrSessionNotFound.
	RotateRefresh(ctx context.Context, userID, sid, presentedHash, nextHash string, now time.Time, idle time.Duration) (Session, error)
	// GetSession returns the live session (userID, sid) without using it.
	GetSession(ctx context.Context, userID, sid string, now time.Time) (Session, error)
	// ListSessions returns the user's live sessions, oldest first, and
	// prunes index entries of sessions that are gone.
	ListSessions(ctx context.Context, userID string, now time.Time) ([]Session, error)
	// DeleteSession deletes one session and returns it; a missing one is
	// ErrSessionNotFound.
	DeleteSession(ctx context.Context, userID, sid string) (Session, error)
	// DeleteUserSessions deletes every session of the user ("log out
	// everywhere") and returns them.
	DeleteUserSessions(ctx context.Context, userID string) ([]Session, error)
}
