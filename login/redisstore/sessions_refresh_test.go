package redisstore_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/greyrouter/greyrouter/login"
	"github.com/greyrouter/greyrouter/login/redisstore"
)

// rotate exchanges presented for a fresh refresh token hash at now and
// returns that hash with the result.
func rotate(st *redisstore.Sessions, is issued, presented string, now time.Time) (string, login.Session, error) {
	next := login.HashSecret(login.NewSecret())
	s, err := st.RotateRefresh(context.Background(), is.s.UserID, is.s.ID, presented, next, now, idle)
	return next, s, err
}

func testRotate(t *testing.T, _ redis.UniversalClient, st *redisstore.Sessions) {
	is := created(t, st, login.NewUserID(), t0)
	presented, now := is.rtHash, t0
	for i := range 3 {
		now = now.Add(idle - time.Second)
		next, s, err := rotate(st, is, presented, now)
		if err != nil {
			t.Fatalf("rotation %d: %v", i+1, err)
		}
		if s.ID != is.s.ID || !s.IdleExpiresAt.Equal(now.Add(idle)) {
			t.Fatalf("rotation %d returned session %s idle until %v, want %s idle until %v",
				i+1, s.ID, s.IdleExpiresAt, is.s.ID, now.Add(idle))
		}
		presented = next
	}
	// The session credential is not affected by rotations.
	mustUse(t, st, is, now)
}

func testRefreshReuse(t *testing.T, _ redis.UniversalClient, st *redisstore.Sessions) {
	ctx := context.Background()
	is := created(t, st, login.NewUserID(), t0)
	next, _, err := rotate(st, is, is.rtHash, t0.Add(time.Minute))
	if err != nil {
		t.Fatalf("first rotation: %v", err)
	}
	_, s, err := rotate(st, is, is.rtHash, t0.Add(2*time.Minute))
	if !errors.Is(err, login.ErrRefreshReused) {
		t.Fatalf("rotation with the exchanged token: err = %v, want ErrRefreshReused", err)
	}
	if s.ID != is.s.ID || s.UserID != is.s.UserID || s.Tenant != is.s.Tenant {
		t.Errorf("reuse returned session %+v, want the revoked session %s", s, is.s.ID)
	}
	_, err = use(st, is, t0.Add(2*time.Minute))
	wantNotFound(t, "UseSession after reuse", err)
	_, _, err = rotate(st, is, next, t0.Add(2*time.Minute))
	wantNotFound(t, "rotation with the current token after reuse", err)
	if list, err := st.ListSessions(ctx, is.s.UserID, t0); err != nil || len(list) != 0 {
		t.Errorf("ListSessions after reuse = %v, %v; want none", ids(list), err)
	}
}

func testUnknownRefresh(t *testing.T, _ redis.UniversalClient, st *redisstore.Sessions) {
	is := created(t, st, login.NewUserID(), t0)
	for _, h := range []string{login.HashSecret(login.NewSecret()), is.secretHash, ""} {
		_, _, err := rotate(st, is, h, t0)
		wantNotFound(t, "rotation with hash "+h, err)
	}
	if _, _, err := rotate(st, is, is.rtHash, t0); err != nil {
		t.Fatalf("rotation with the current token after unknown ones: %v", err)
	}
	// A dead session's current token is not found either.
	other := created(t, st, is.s.UserID, t0)
	_, _, err := rotate(st, other, other.rtHash, t0.Add(idle))
	wantNotFound(t, "rotation at the idle expiry", err)
}

func testConcurrentRotate(t *testing.T, _ redis.UniversalClient, st *redisstore.Sessions) {
	const n = 20
	is := created(t, st, login.NewUserID(), t0)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			_, _, errs[i] = rotate(st, is, is.rtHash, t0.Add(time.Second))
		})
	}
	close(start)
	wg.Wait()
	var ok, reused, notFound int
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, login.ErrRefreshReused):
			reused++
		case errors.Is(err, login.ErrSessionNotFound):
			notFound++
		default:
			t.Fatalf("RotateRefresh: %v", err)
		}
	}
	// One exchanges the token, the next sees it exchanged and revokes the
	// session, and the rest find no session.
	if ok != 1 || reused != 1 || notFound != n-2 {
		t.Errorf("%d rotations succeeded, %d saw reuse, %d found nothing; want 1, 1 and %d", ok, reused, notFound, n-2)
	}
	_, err := use(st, is, t0.Add(time.Second))
	wantNotFound(t, "UseSession after the race", err)
}

func testSessionLimit(t *testing.T, _ redis.UniversalClient, st *redisstore.Sessions) {
	ctx := context.Background()
	uid := login.NewUserID()
	var all []issued
	for i := range 3 {
		all = append(all, created(t, st, uid, t0.Add(time.Duration(i)*time.Second)))
	}
	fourth := newSession(uid, t0.Add(3*time.Second))
	ev := create(t, st, fourth, 3)
	all = append(all, fourth)
	if got, want := ids(ev), []string{all[0].s.ID}; !slices.Equal(got, want) {
		t.Fatalf("limit 3 with 3 sessions evicted %v, want the oldest %v", got, want)
	}
	sameSession(t, "evicted session", ev[0], all[0].s)

	fifth := newSession(uid, t0.Add(4*time.Second))
	ev = create(t, st, fifth, 2)
	all = append(all, fifth)
	if got, want := ids(ev), []string{all[1].s.ID, all[2].s.ID}; !slices.Equal(got, want) {
		t.Fatalf("limit 2 with 3 sessions evicted %v, want the two oldest %v", got, want)
	}
	list, err := st.ListSessions(ctx, uid, t0.Add(5*time.Second))
	if got, want := ids(list), []string{all[3].s.ID, all[4].s.ID}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("ListSessions = %v, %v; want %v", got, err, want)
	}
	for _, e := range all[:3] {
		_, err := use(st, e, t0.Add(5*time.Second))
		wantNotFound(t, "UseSession of an evicted session", err)
	}
	// Under the limit nothing is evicted.
	if ev := create(t, st, newSession(uid, t0.Add(6*time.Second)), 5); len(ev) != 0 {
		t.Errorf("limit 5 with 2 sessions evicted %v", ids(ev))
	}
}

func testLimitIgnoresDead(t *testing.T, _ redis.UniversalClient, st *redisstore.Sessions) {
	uid := login.NewUserID()
	dead := created(t, st, uid, t0)
	live := created(t, st, uid, t0.Add(idle))
	mustUse(t, st, live, t0.Add(idle+time.Minute))
	// At t0+idle+2m the first session is idle-dead: only one is live.
	ev := create(t, st, newSession(uid, t0.Add(idle+2*time.Minute)), 2)
	if len(ev) != 0 {
		t.Fatalf("limit 2 with one live and one dead session evicted %v", ids(ev))
	}
	_, err := use(st, dead, t0)
	wantNotFound(t, "UseSession of the dead session after it was pruned", err)
}
