package redisstore

import (
	"context"
	_ "embed"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/login"
)

var (
	//go:embed lua/session_lib.lua
	sessionLibSrc string
	//go:embed lua/session_create.lua
	sessionCreateSrc string
	//go:embed lua/session_use.lua
	sessionUseSrc string
	//go:embed lua/session_rotate.lua
	sessionRotateSrc string
	//go:embed lua/session_delete.lua
	sessionDeleteSrc string
	//go:embed lua/session_list.lua
	sessionListSrc string
)

// The session scripts, each with the shared helpers of session_lib.lua in
// front, wrapped once: Run sends EVALSHA and falls back to EVAL.
var (
	sessionCreateScript = redis.NewScript(sessionLibSrc + sessionCreateSrc)
	sessionUseScript    = redis.NewScript(sessionLibSrc + sessionUseSrc)
	sessionRotateScript = redis.NewScript(sessionLibSrc + sessionRotateSrc)
	sessionDeleteScript = redis.NewScript(sessionLibSrc + sessionDeleteSrc)
	sessionListScript   = redis.NewScript(sessionLibSrc + sessionListSrc)
)

// keyTTLMargin is added to every session key's TTL beyond its logical
// expiry, so that a replica whose clock runs behind Redis's still finds
// the key and decides by its own now; the logical check never uses TTLs.
const keyTTLMargin = time.Minute

// Sessions is login.SessionStore on Redis. All keys of one user share the
// hash tag {u:<user id>}:
//
//	lg:{u:<user id>}:s:<session id>   hash: the session
//	lg:{u:<user id>}:idx              sorted set: session id by creation ms
//
// so that every operation is one Lua script on one slot, also on Cluster.
// Timestamps are stored in whole milliseconds.
type Sessions struct {
	rdb redis.UniversalClient
}

var _ login.SessionStore = (*Sessions)(nil)

// NewSessions returns a session store on any client: standalone, Sentinel
// or Cluster.
func NewSessions(rdb redis.UniversalClient) *Sessions { return &Sessions{rdb: rdb} }

// CreateSession stores s. With limit > 0 the user ends up with at most
// limit live sessions, the new one included: the oldest are evicted and
// returned so that the caller can revoke their tokens. Sessions that are
// dead at s.CreatedAt are removed on the way and neither count nor are
// returned. A session id that is already in use is a Conflict.
func (st *Sessions) CreateSession(ctx context.Context, s login.Session, secretHash, refreshHash string, limit int) ([]login.Session, error) {
	if err := validNewSession(s, secretHash, refreshHash, limit); err != nil {
		return nil, err
	}
	if s.LastSeenAt.IsZero() {
		s.LastSeenAt = s.CreatedAt
	}
	if s.IdleExpiresAt.After(s.ExpiresAt) {
		s.IdleExpiresAt = s.ExpiresAt
	}
	k := keysOfUser(s.UserID)
	args := append([]any{s.CreatedAt.UnixMilli(), limit, keyTTLMargin.Milliseconds(), secretHash, refreshHash}, encodeSession(s)...)
	reply, err := sessionCreateScript.Run(ctx, st.rdb, []string{k.session(s.ID), k.index, k.prefix}, args...).Slice()
	if err != nil {
		return nil, apperr.Wrap(apperr.Unavailable, err, "create session")
	}
	if len(reply) == 0 || reply[0] != "ok" {
		return nil, apperr.New(apperr.Conflict, "create session: session id already in use")
	}
	return decodeSessions(reply[1:])
}

// UseSession returns the live session proven by secretHash and moves its
// idle expiry to min(now+idle, ExpiresAt).
func (st *Sessions) UseSession(ctx context.Context, userID, sid, secretHash string, now time.Time, idle time.Duration) (login.Session, error) {
	if idle <= 0 {
		return login.Session{}, apperr.New(apperr.Invalid, "use session: idle timeout must be positive")
	}
	if !known(userID, sid) || secretHash == "" {
		return login.Session{}, login.ErrSessionNotFound
	}
	k := keysOfUser(userID)
	return st.one(ctx, "use session", sessionUseScript, []string{k.session(sid), k.index},
		"use", sid, now.UnixMilli(), secretHash, idle.Milliseconds(), keyTTLMargin.Milliseconds())
}

// GetSession returns the live session without using it.
func (st *Sessions) GetSession(ctx context.Context, userID, sid string, now time.Time) (login.Session, error) {
	if !known(userID, sid) {
		return login.Session{}, login.ErrSessionNotFound
	}
	k := keysOfUser(userID)
	return st.one(ctx, "get session", sessionUseScript, []string{k.session(sid), k.index},
		"get", sid, now.UnixMilli(), "", 0, keyTTLMargin.Milliseconds())
}

// RotateRefresh exchanges the current refresh token for nextHash. On
// reuse of an exchanged token it returns the deleted session together with
// login.ErrRefreshReused.
func (st *Sessions) RotateRefresh(ctx context.Context, userID, sid, presentedHash, nextHash string, now time.Time, idle time.Duration) (login.Session, error) {
	switch {
	case idle <= 0:
		return login.Session{}, apperr.New(apperr.Invalid, "rotate refresh token: idle timeout must be positive")
	case nextHash == "" || nextHash == presentedHash:
		return login.Session{}, apperr.New(apperr.Invalid, "rotate refresh token: the next hash must be new")
	case !known(userID, sid) || presentedHash == "":
		return login.Session{}, login.ErrSessionNotFound
	}
	k := keysOfUser(userID)
	reply, err := sessionRotateScript.Run(ctx, st.rdb, []string{k.session(sid), k.index},
		sid, presentedHash, nextHash, now.UnixMilli(), idle.Milliseconds(), keyTTLMargin.Milliseconds()).Slice()
	if errors.Is(err, redis.Nil) {
		return login.Session{}, login.ErrSessionNotFound
	}
	if err != nil {
		return login.Session{}, apperr.Wrap(apperr.Unavailable, err, "rotate refresh token")
	}
	if len(reply) != 2 {
		return login.Session{}, apperr.New(apperr.Internal, "rotate refresh token: unexpected reply of %d elements", len(reply))
	}
	s, err := decodeSession(reply[1])
	if err != nil {
		return login.Session{}, err
	}
	if reply[0] == "reused" {
		return s, login.ErrRefreshReused
	}
	return s, nil
}

// ListSessions returns the user's live sessions, oldest first, removing
// index entries of sessions that are gone and sessions dead at now.
func (st *Sessions) ListSessions(ctx context.Context, userID string, now time.Time) ([]login.Session, error) {
	return st.list(ctx, "list sessions", userID, "list", now.UnixMilli())
}

// DeleteSession deletes one session and returns it.
func (st *Sessions) DeleteSession(ctx context.Context, userID, sid string) (login.Session, error) {
	if !known(userID, sid) {
		return login.Session{}, login.ErrSessionNotFound
	}
	k := keysOfUser(userID)
	return st.one(ctx, "delete session", sessionDeleteScript, []string{k.session(sid), k.index}, sid)
}

// DeleteUserSessions deletes every session of the user and its index and
// returns the sessions, oldest first. Sessions past their expiry whose
// keys have not expired yet are deleted and returned too: without a now
// the store cannot tell them apart, and revoking them is harmless.
func (st *Sessions) DeleteUserSessions(ctx context.Context, userID string) ([]login.Session, error) {
	return st.list(ctx, "delete user sessions", userID, "purge", 0)
}

// one runs a script that returns one session or nil (ErrSessionNotFound).
func (st *Sessions) one(ctx context.Context, doing string, sc *redis.Script, keys []string, args ...any) (login.Session, error) {
	reply, err := sc.Run(ctx, st.rdb, keys, args...).Result()
	if errors.Is(err, redis.Nil) {
		return login.Session{}, login.ErrSessionNotFound
	}
	if err != nil {
		return login.Session{}, apperr.Wrap(apperr.Unavailable, err, doing)
	}
	return decodeSession(reply)
}

// list runs session_list.lua for the user.
func (st *Sessions) list(ctx context.Context, doing, userID, op string, now int64) ([]login.Session, error) {
	if !userIDRE.MatchString(userID) {
		return nil, apperr.New(apperr.Invalid, "%s: invalid user id %q", doing, userID)
	}
	k := keysOfUser(userID)
	reply, err := sessionListScript.Run(ctx, st.rdb, []string{k.index, k.prefix}, op, now).Result()
	if err != nil {
		return nil, apperr.Wrap(apperr.Unavailable, err, doing)
	}
	return decodeSessions(reply)
}
