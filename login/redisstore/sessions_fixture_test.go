package redisstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/greyrouter/greyrouter/login"
	"github.com/greyrouter/greyrouter/login/redisstore"
)

// sessionCase is one behaviour of Sessions, run on every backend.
type sessionCase struct {
	name string
	fn   func(t *testing.T, rdb redis.UniversalClient, st *redisstore.Sessions)
}

// Timeouts of the test sessions. t0 is the clock's start; the store only
// ever sees the times the tests pass, so it need not be the real time.
const (
	idle     = 30 * time.Minute
	lifetime = 8 * time.Hour
)

var t0 = time.Date(2030, 5, 6, 7, 8, 9, 123_000_000, time.UTC)

// issued is a session as the login service creates it, with the hashes of
// its session credential and first refresh token.
type issued struct {
	s                     login.Session
	secretHash, rtHash    string
	secret, refreshSecret string
}

// newSession returns a new session of userID created at created.
func newSession(userID string, created time.Time) issued {
	is := issued{secret: login.NewSecret(), refreshSecret: login.NewSecret()}
	is.secretHash, is.rtHash = login.HashSecret(is.secret), login.HashSecret(is.refreshSecret)
	is.s = login.Session{
		ID: login.NewSessionID(), Tenant: "acme", UserID: userID, Username: "alice@example.com",
		Admin: true, Generation: 7, IP: "192.0.2.1", UserAgent: "test/1.0", CSRFToken: login.NewSecret(),
		CreatedAt: created, LastSeenAt: created,
		IdleExpiresAt: created.Add(idle), ExpiresAt: created.Add(lifetime),
	}
	return is
}

// create stores is and returns what it evicted.
func create(t *testing.T, st *redisstore.Sessions, is issued, limit int) []login.Session {
	t.Helper()
	ev, err := st.CreateSession(context.Background(), is.s, is.secretHash, is.rtHash, limit)
	if err != nil {
		t.Fatalf("CreateSession(%s): %v", is.s.ID, err)
	}
	return ev
}

// created stores a new session of userID created at created.
func created(t *testing.T, st *redisstore.Sessions, userID string, at time.Time) issued {
	t.Helper()
	is := newSession(userID, at)
	create(t, st, is, 0)
	return is
}

// use calls UseSession with the session's own secret at now.
func use(st *redisstore.Sessions, is issued, now time.Time) (login.Session, error) {
	return st.UseSession(context.Background(), is.s.UserID, is.s.ID, is.secretHash, now, idle)
}

// mustUse fails the test unless the session is usable at now.
func mustUse(t *testing.T, st *redisstore.Sessions, is issued, now time.Time) login.Session {
	t.Helper()
	s, err := use(st, is, now)
	if err != nil {
		t.Fatalf("UseSession at t0+%v: %v", now.Sub(t0), err)
	}
	return s
}

// wantNotFound fails the test unless err is login.ErrSessionNotFound.
func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, login.ErrSessionNotFound) {
		t.Fatalf("%s: err = %v, want ErrSessionNotFound", what, err)
	}
}

// sameSession fails the test unless got equals want field by field,
// times compared as instants.
func sameSession(t *testing.T, what string, got, want login.Session) {
	t.Helper()
	g, w := got, want
	for _, p := range []struct {
		name   string
		gt, wt *time.Time
	}{
		{"CreatedAt", &g.CreatedAt, &w.CreatedAt}, {"LastSeenAt", &g.LastSeenAt, &w.LastSeenAt},
		{"IdleExpiresAt", &g.IdleExpiresAt, &w.IdleExpiresAt}, {"ExpiresAt", &g.ExpiresAt, &w.ExpiresAt},
	} {
		if !p.gt.Equal(*p.wt) {
			t.Errorf("%s: %s = %v, want %v", what, p.name, *p.gt, *p.wt)
		}
		*p.gt, *p.wt = time.Time{}, time.Time{}
	}
	if g != w {
		t.Errorf("%s:\n got  %+v\n want %+v", what, g, w)
	}
}

// ids returns the ids of sessions in order.
func ids(ss []login.Session) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.ID
	}
	return out
}

// keyExists reports whether key exists.
func keyExists(t *testing.T, rdb redis.UniversalClient, key string) bool {
	t.Helper()
	n, err := rdb.Exists(context.Background(), key).Result()
	if err != nil {
		t.Fatalf("EXISTS %s: %v", key, err)
	}
	return n == 1
}

// earliest returns the earlier of a and b.
func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
