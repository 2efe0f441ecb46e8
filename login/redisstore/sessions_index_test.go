package redisstore_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/greyrouter/greyrouter/login"
	"github.com/greyrouter/greyrouter/login/redisstore"
)

func testListPrunes(t *testing.T, rdb redis.UniversalClient, st *redisstore.Sessions) {
	ctx := context.Background()
	uid := login.NewUserID()
	a := created(t, st, uid, t0)
	b := created(t, st, uid, t0.Add(time.Second))
	c := created(t, st, uid, t0.Add(2*time.Second))
	// b's hash vanishes behind the store's back (as when its key expires).
	bKey, index := redisstore.SessionKeysOf(uid, b.s.ID)
	if err := rdb.Del(ctx, bKey).Err(); err != nil {
		t.Fatalf("DEL %s: %v", bKey, err)
	}
	list, err := st.ListSessions(ctx, uid, t0.Add(time.Minute))
	if got, want := ids(list), []string{a.s.ID, c.s.ID}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("ListSessions = %v, %v; want %v", got, err, want)
	}
	if n := rdb.ZCard(ctx, index).Val(); n != 2 {
		t.Errorf("index holds %d entries after listing, want 2", n)
	}
	// At t0+idle+1s a is idle-dead: listing drops it too.
	list, err = st.ListSessions(ctx, uid, t0.Add(idle+time.Second))
	if got, want := ids(list), []string{c.s.ID}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("ListSessions later = %v, %v; want %v", got, err, want)
	}
	if aKey, _ := redisstore.SessionKeysOf(uid, a.s.ID); keyExists(t, rdb, aKey) {
		t.Errorf("listing kept the dead session's hash")
	}
	if rdb.ZScore(ctx, index, a.s.ID).Err() != redis.Nil {
		t.Errorf("listing kept the dead session's index entry")
	}
}

func testDeleteUserSessions(t *testing.T, rdb redis.UniversalClient, st *redisstore.Sessions) {
	ctx := context.Background()
	uid := login.NewUserID()
	var want []string
	for i := range 3 {
		// Created out of order: the index orders by creation time.
		want = append(want, created(t, st, uid, t0.Add(time.Duration(3-i)*time.Second)).s.ID)
	}
	slices.Reverse(want)
	other := created(t, st, login.NewUserID(), t0)

	got, err := st.DeleteUserSessions(ctx, uid)
	if err != nil || !slices.Equal(ids(got), want) {
		t.Fatalf("DeleteUserSessions = %v, %v; want %v", ids(got), err, want)
	}
	for _, sid := range want {
		if key, index := redisstore.SessionKeysOf(uid, sid); keyExists(t, rdb, key) || keyExists(t, rdb, index) {
			t.Errorf("session %s or the index survived DeleteUserSessions", sid)
		}
	}
	if got, err := st.DeleteUserSessions(ctx, uid); err != nil || len(got) != 0 {
		t.Errorf("second DeleteUserSessions = %v, %v; want none", ids(got), err)
	}
	mustUse(t, st, other, t0)
}

func testSessionTTL(t *testing.T, rdb redis.UniversalClient, st *redisstore.Sessions) {
	ctx := context.Background()
	is := created(t, st, login.NewUserID(), t0)
	key, index := redisstore.SessionKeysOf(is.s.UserID, is.s.ID)
	// The TTL is the time left at the passed now, plus a margin under a
	// few minutes, whatever the real clock says.
	const margin = 5 * time.Minute
	between(t, "PTTL of the new session", rdb.PTTL(ctx, key).Val(), idle-time.Second, idle+margin)
	between(t, "PTTL of the index", rdb.PTTL(ctx, index).Val(), idle-time.Second, idle+margin)

	// Near the absolute expiry the TTL shrinks to what is left of it.
	near := is.s.ExpiresAt.Add(-10 * time.Minute)
	for now := t0; now.Before(near); {
		now = earliest(now.Add(idle/2), near)
		mustUse(t, st, is, now)
	}
	between(t, "PTTL near the absolute expiry", rdb.PTTL(ctx, key).Val(), 10*time.Minute-time.Second, 10*time.Minute+margin)
	// A second session lives longer; the index follows the longest.
	created(t, st, is.s.UserID, near)
	between(t, "PTTL of the index with two sessions", rdb.PTTL(ctx, index).Val(), idle-time.Second, idle+margin)
}
