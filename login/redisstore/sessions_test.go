package redisstore_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/login"
	"github.com/greyrouter/greyrouter/login/redisstore"
)

// TestSessions runs every case against a standalone Redis and a 3-master
// Cluster; each case uses users of its own.
func TestSessions(t *testing.T) {
	cases := []sessionCase{
		{"a created session is used, got, listed and deleted", testSessionLifecycle},
		{"use moves the idle expiry but never past the absolute expiry", testUseExtends},
		{"a session idle for the idle timeout is gone", testIdleTimeout},
		{"a session used all along ends at its absolute expiry", testAbsoluteTimeout},
		{"a wrong secret is not found and does not extend the session", testWrongSecret},
		{"a session id that was never created is not found", testNeverCreated},
		{"one user's session id under another user's id is not found", testUserIsolation},
		{"the refresh token is exchanged once per rotation", testRotate},
		{"a reused refresh token deletes the session", testRefreshReuse},
		{"an unknown refresh token is not found and keeps the session", testUnknownRefresh},
		{"of 20 concurrent rotations with one token exactly one succeeds", testConcurrentRotate},
		{"the session limit evicts the oldest sessions", testSessionLimit},
		{"dead sessions neither count against the limit nor are evicted", testLimitIgnoresDead},
		{"listing prunes entries of sessions that are gone", testListPrunes},
		{"deleting all of a user's sessions returns them oldest first", testDeleteUserSessions},
		{"keys expire with the sessions", testSessionTTL},
		{"malformed sessions are refused before Redis", testCreateInvalid},
		{"a session id in use is a conflict", testDuplicateSession},
	}
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		st := redisstore.NewSessions(rdb)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) { c.fn(t, rdb, st) })
		}
	})
}

func testSessionLifecycle(t *testing.T, rdb redis.UniversalClient, st *redisstore.Sessions) {
	ctx := context.Background()
	is := created(t, st, login.NewUserID(), t0)
	now := t0.Add(time.Minute)

	got, err := st.GetSession(ctx, is.s.UserID, is.s.ID, now)
	if err != nil {
		t.Fatalf("GetSession: %v", err)
	}
	sameSession(t, "GetSession", got, is.s)

	want := is.s
	want.LastSeenAt, want.IdleExpiresAt = now, now.Add(idle)
	sameSession(t, "UseSession", mustUse(t, st, is, now), want)

	list, err := st.ListSessions(ctx, is.s.UserID, now)
	if err != nil || len(list) != 1 {
		t.Fatalf("ListSessions = %d sessions, %v; want 1", len(list), err)
	}
	sameSession(t, "ListSessions[0]", list[0], want)

	deleted, err := st.DeleteSession(ctx, is.s.UserID, is.s.ID)
	if err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}
	sameSession(t, "DeleteSession", deleted, want)
	_, err = use(st, is, now)
	wantNotFound(t, "UseSession after delete", err)
	_, err = st.DeleteSession(ctx, is.s.UserID, is.s.ID)
	wantNotFound(t, "second DeleteSession", err)
	key, index := redisstore.SessionKeysOf(is.s.UserID, is.s.ID)
	if keyExists(t, rdb, key) || keyExists(t, rdb, index) {
		t.Errorf("session hash or index left after the only session was deleted")
	}
}

func testUseExtends(t *testing.T, _ redis.UniversalClient, st *redisstore.Sessions) {
	is := created(t, st, login.NewUserID(), t0)
	// Each use just before the idle expiry keeps the session alive, until
	// the idle expiry meets the absolute one.
	near := is.s.ExpiresAt.Add(-time.Minute)
	for now := t0; now.Before(near); {
		now = earliest(now.Add(idle-time.Millisecond), near)
		s := mustUse(t, st, is, now)
		want := earliest(now.Add(idle), is.s.ExpiresAt)
		if !s.IdleExpiresAt.Equal(want) || !s.LastSeenAt.Equal(now) {
			t.Fatalf("after a use at t0+%v: LastSeenAt %v, IdleExpiresAt %v; want %v and %v",
				now.Sub(t0), s.LastSeenAt, s.IdleExpiresAt, now, want)
		}
	}
}

func testIdleTimeout(t *testing.T, rdb redis.UniversalClient, st *redisstore.Sessions) {
	is := created(t, st, login.NewUserID(), t0)
	mustUse(t, st, is, t0.Add(idle-time.Millisecond))
	at := t0.Add(idle - time.Millisecond).Add(idle) // exactly the idle expiry
	_, err := use(st, is, at)
	wantNotFound(t, "UseSession at the idle expiry", err)
	// The dead session was deleted: not even a use back in time finds it.
	_, err = use(st, is, t0)
	wantNotFound(t, "UseSession after the idle timeout", err)
	if key, _ := redisstore.SessionKeysOf(is.s.UserID, is.s.ID); keyExists(t, rdb, key) {
		t.Errorf("the idle session's hash was not deleted")
	}
}

func testAbsoluteTimeout(t *testing.T, _ redis.UniversalClient, st *redisstore.Sessions) {
	ctx := context.Background()
	is := created(t, st, login.NewUserID(), t0)
	now := t0
	for now.Add(idle / 2).Before(is.s.ExpiresAt) {
		now = now.Add(idle / 2)
		mustUse(t, st, is, now)
	}
	_, err := st.GetSession(ctx, is.s.UserID, is.s.ID, is.s.ExpiresAt)
	wantNotFound(t, "GetSession at the absolute expiry", err)
	_, err = use(st, is, now)
	wantNotFound(t, "UseSession after the absolute expiry", err)
}

func testWrongSecret(t *testing.T, _ redis.UniversalClient, st *redisstore.Sessions) {
	ctx := context.Background()
	is := created(t, st, login.NewUserID(), t0)
	now := t0.Add(idle / 2)
	for _, h := range []string{login.HashSecret(login.NewSecret()), is.rtHash, ""} {
		_, err := st.UseSession(ctx, is.s.UserID, is.s.ID, h, now, idle)
		wantNotFound(t, "UseSession with hash "+h, err)
	}
	// The failed uses did not extend the session: it ends at t0+idle.
	_, err := use(st, is, t0.Add(idle))
	wantNotFound(t, "UseSession at the original idle expiry", err)
}

func testNeverCreated(t *testing.T, _ redis.UniversalClient, st *redisstore.Sessions) {
	ctx := context.Background()
	is := created(t, st, login.NewUserID(), t0)
	uid, h := is.s.UserID, is.secretHash
	for _, sid := range []string{login.NewSessionID(), "", "not-a-session-id", is.s.ID + "0"} {
		_, err := st.UseSession(ctx, uid, sid, h, t0, idle)
		wantNotFound(t, "UseSession of "+sid, err)
		_, err = st.GetSession(ctx, uid, sid, t0)
		wantNotFound(t, "GetSession of "+sid, err)
		_, err = st.RotateRefresh(ctx, uid, sid, is.rtHash, login.HashSecret(login.NewSecret()), t0, idle)
		wantNotFound(t, "RotateRefresh of "+sid, err)
		_, err = st.DeleteSession(ctx, uid, sid)
		wantNotFound(t, "DeleteSession of "+sid, err)
	}
	mustUse(t, st, is, t0)
}

func testUserIsolation(t *testing.T, _ redis.UniversalClient, st *redisstore.Sessions) {
	ctx := context.Background()
	a := created(t, st, login.NewUserID(), t0)
	b := created(t, st, login.NewUserID(), t0)
	for _, uid := range []string{b.s.UserID, "", "{" + a.s.UserID + "}", a.s.UserID + "}"} {
		_, err := st.UseSession(ctx, uid, a.s.ID, a.secretHash, t0, idle)
		wantNotFound(t, "UseSession as "+uid, err)
		_, err = st.GetSession(ctx, uid, a.s.ID, t0)
		wantNotFound(t, "GetSession as "+uid, err)
		_, err = st.RotateRefresh(ctx, uid, a.s.ID, a.rtHash, login.HashSecret(login.NewSecret()), t0, idle)
		wantNotFound(t, "RotateRefresh as "+uid, err)
		_, err = st.DeleteSession(ctx, uid, a.s.ID)
		wantNotFound(t, "DeleteSession as "+uid, err)
	}
	list, err := st.ListSessions(ctx, b.s.UserID, t0)
	if err != nil || !slices.Equal(ids(list), []string{b.s.ID}) {
		t.Errorf("ListSessions of b = %v, %v; want only b's session", ids(list), err)
	}
	mustUse(t, st, a, t0)
}

func testCreateInvalid(t *testing.T, _ redis.UniversalClient, st *redisstore.Sessions) {
	ctx := context.Background()
	good := newSession(login.NewUserID(), t0)
	for _, tt := range []struct {
		name   string
		mutate func(is *issued)
		limit  int
	}{
		{"empty user id", func(is *issued) { is.s.UserID = "" }, 0},
		{"user id with a hash tag", func(is *issued) { is.s.UserID = "a}{b" }, 0},
		{"empty session id", func(is *issued) { is.s.ID = "" }, 0},
		{"upper-case session id", func(is *issued) { is.s.ID = "ABCDEF0123456789ABCDEF0123456789" }, 0},
		{"empty secret hash", func(is *issued) { is.secretHash = "" }, 0},
		{"empty refresh hash", func(is *issued) { is.rtHash = "" }, 0},
		{"refresh hash equal to the secret hash", func(is *issued) { is.rtHash = is.secretHash }, 0},
		{"no creation time", func(is *issued) { is.s.CreatedAt = time.Time{} }, 0},
		{"expired at creation", func(is *issued) { is.s.ExpiresAt = is.s.CreatedAt }, 0},
		{"idle expired at creation", func(is *issued) { is.s.IdleExpiresAt = is.s.CreatedAt.Add(-time.Second) }, 0},
		{"negative limit", func(*issued) {}, -1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			is := good
			tt.mutate(&is)
			_, err := st.CreateSession(ctx, is.s, is.secretHash, is.rtHash, tt.limit)
			if !apperr.Is(err, apperr.Invalid) {
				t.Fatalf("CreateSession: err = %v, want an Invalid error", err)
			}
		})
	}
	_, err := st.GetSession(ctx, good.s.UserID, good.s.ID, t0)
	wantNotFound(t, "GetSession after refused creations", err)
}

func testDuplicateSession(t *testing.T, _ redis.UniversalClient, st *redisstore.Sessions) {
	is := created(t, st, login.NewUserID(), t0)
	dup := newSession(is.s.UserID, t0.Add(time.Second))
	dup.s.ID = is.s.ID
	_, err := st.CreateSession(context.Background(), dup.s, dup.secretHash, dup.rtHash, 0)
	if !apperr.Is(err, apperr.Conflict) {
		t.Fatalf("CreateSession with a taken id: err = %v, want a Conflict", err)
	}
	// The first session is untouched: its own secret still works.
	sameSession(t, "the first session", mustUse(t, st, is, t0), func() login.Session {
		s := is.s
		s.IdleExpiresAt = t0.Add(idle)
		return s
	}())
}
