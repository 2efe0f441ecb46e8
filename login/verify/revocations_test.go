package verify

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/greyrouter/greyrouter/login"
)

// fakeSource is an in-memory Source whose cursor is the index of the next
// event; fail makes reads fail until cleared.
type fakeSource struct {
	mu     sync.Mutex
	events []login.Revocation
	fail   error
	reads  int
}

func (s *fakeSource) Read(_ context.Context, cursor string, limit int) ([]login.Revocation, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	if s.fail != nil {
		return nil, cursor, s.fail
	}
	i := 0
	if cursor != "" {
		i, _ = strconv.Atoi(cursor)
	}
	end := min(i+limit, len(s.events))
	if i >= end {
		return nil, cursor, nil
	}
	return append([]login.Revocation(nil), s.events[i:end]...), strconv.Itoa(end), nil
}

func (s *fakeSource) publish(rs ...login.Revocation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, rs...)
}

func (s *fakeSource) setFail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = err
}

func accessClaims(sub, sid, jti string, gen int64) *login.AccessClaims {
	return &login.AccessClaims{RegisteredClaims: jwt.RegisteredClaims{Subject: sub, ID: jti}, SessionID: sid, Generation: gen}
}

func TestRevoked(t *testing.T) {
	clock := newFakeClock()
	now := clock.Now()
	exp := now.Add(15 * time.Minute)
	r := NewRevocations(clock.Now)
	r.Apply(
		login.Revocation{Kind: login.RevokeSubject, Subject: "u-1", Generation: 5, Reason: "password_change", ExpiresAt: exp},
		login.Revocation{Kind: login.RevokeSession, Subject: "s-1", Reason: "logout", ExpiresAt: exp},
		login.Revocation{Kind: login.RevokeToken, Subject: "j-1", ExpiresAt: exp},
		login.Revocation{Kind: "unknown", Subject: "x", ExpiresAt: exp},
		login.Revocation{Kind: login.RevokeSession, Subject: "s-old", ExpiresAt: now.Add(-ExpiryGrace)},
	)
	cases := []struct {
		name   string
		claims *login.AccessClaims
		at     time.Time
		reason string
	}{
		{"a generation below the subject's is revoked", accessClaims("u-1", "s-9", "j-9", 4), now, "password_change"},
		{"the subject's generation itself passes", accessClaims("u-1", "s-9", "j-9", 5), now, ""},
		{"another subject passes", accessClaims("u-2", "s-9", "j-9", 0), now, ""},
		{"a revoked session is revoked", accessClaims("u-2", "s-1", "j-9", 0), now, "logout"},
		{"a revoked jti is revoked, with a default reason", accessClaims("u-2", "", "j-1", 0), now, "token revoked"},
		{"an event of an unknown kind is ignored", accessClaims("x", "x", "x", 0), now, ""},
		{"an event that expired before it arrived is ignored", accessClaims("u-2", "s-old", "j-9", 0), now, ""},
		{"an event still matters during the grace after its expiry", accessClaims("u-2", "s-1", "j-9", 0), exp.Add(ExpiryGrace - time.Second), "logout"},
		{"an event stops mattering after the grace", accessClaims("u-2", "s-1", "j-9", 0), exp.Add(ExpiryGrace), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reason, revoked := r.Revoked(c.claims, c.at)
			if revoked != (c.reason != "") || reason != c.reason {
				t.Errorf("Revoked = %q, %v; want %q", reason, revoked, c.reason)
			}
		})
	}
	if n := r.Len(); n != 3 {
		t.Errorf("Len = %d, want 3 (unknown and expired events are not kept)", n)
	}
}

func TestApplyMergesAndPrunes(t *testing.T) {
	clock := newFakeClock()
	r := NewRevocations(clock.Now)
	early, late := clock.Now().Add(10*time.Minute), clock.Now().Add(20*time.Minute)
	r.Apply(login.Revocation{Kind: login.RevokeSubject, Subject: "u-1", Generation: 7, ExpiresAt: early})
	r.Apply(login.Revocation{Kind: login.RevokeSubject, Subject: "u-1", Generation: 3, ExpiresAt: late}) // out of order

	if _, revoked := r.Revoked(accessClaims("u-1", "", "", 6), clock.Now()); !revoked {
		t.Error("an older event lowered the subject's generation")
	}
	if _, revoked := r.Revoked(accessClaims("u-1", "", "", 2), early.Add(ExpiryGrace+time.Minute)); !revoked {
		t.Error("an older event's later expiry was lost")
	}

	before := r.state.Load()
	r.Apply(login.Revocation{Kind: login.RevokeToken, Subject: "j-1", ExpiresAt: early})
	if _, revoked := r.Revoked(accessClaims("u-9", "", "j-1", 0), clock.Now()); !revoked {
		t.Error("the new event is missing")
	}
	if len(before.byKind[tokens]) != 0 {
		t.Error("Apply changed a published snapshot")
	}

	clock.Advance(late.Sub(clock.Now()) + ExpiryGrace + time.Second)
	r.Apply()
	if n := r.Len(); n != 0 {
		t.Errorf("Len after every event expired = %d, want 0", n)
	}
}

func TestFollow(t *testing.T) {
	clock := newFakeClock()
	exp := clock.Now().Add(15 * time.Minute)
	src := &fakeSource{}
	for i := range 1234 {
		src.publish(login.Revocation{Kind: login.RevokeToken, Subject: "j-" + strconv.Itoa(i), ExpiresAt: exp})
	}
	r := NewRevocations(clock.Now)
	notify := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Follow(ctx, src, notify, time.Hour) }()

	waitFor(t, "the first sync", r.Ready)
	if n := r.Len(); n != 1234 {
		t.Fatalf("after the first sync Len = %d, want all 1234 events (in pages)", n)
	}
	if !r.Synced().Equal(clock.Now()) {
		t.Errorf("Synced = %v, want %v", r.Synced(), clock.Now())
	}

	clock.Advance(time.Second)
	src.publish(login.Revocation{Kind: login.RevokeSession, Subject: "s-1", ExpiresAt: exp})
	notify <- struct{}{}
	waitFor(t, "the notified event", func() bool {
		_, revoked := r.Revoked(accessClaims("u", "s-1", "", 0), clock.Now())
		return revoked
	})
	waitFor(t, "the sync time to move", func() bool { return r.Synced().Equal(clock.Now()) })

	t.Run("a failed read keeps the state and the sync time", func(t *testing.T) {
		synced := r.Synced()
		src.setFail(errors.New("redis down"))
		clock.Advance(time.Second)
		notify <- struct{}{}
		waitFor(t, "the error", func() bool { return r.Err() != nil })
		if !r.Synced().Equal(synced) {
			t.Errorf("Synced moved to %v on a failed read", r.Synced())
		}
		if _, revoked := r.Revoked(accessClaims("u", "s-1", "", 0), clock.Now()); !revoked {
			t.Error("a failed read lost state")
		}

		src.setFail(nil)
		src.publish(login.Revocation{Kind: login.RevokeSession, Subject: "s-2", ExpiresAt: exp})
		notify <- struct{}{}
		waitFor(t, "recovery", func() bool { return r.Err() == nil && r.Synced().Equal(clock.Now()) })
		if _, revoked := r.Revoked(accessClaims("u", "s-2", "", 0), clock.Now()); !revoked {
			t.Error("the event published during the outage is missing")
		}
	})

	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Follow returned %v, want context.Canceled", err)
	}
}

func TestFollowPolls(t *testing.T) {
	clock := newFakeClock()
	src := &fakeSource{}
	r := NewRevocations(clock.Now)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	closed := make(chan struct{})
	close(closed) // a closed notification channel must not spin
	go func() { _ = r.Follow(ctx, src, closed, time.Millisecond) }()
	waitFor(t, "the first sync", r.Ready)
	src.publish(login.Revocation{Kind: login.RevokeToken, Subject: "j-1", ExpiresAt: clock.Now().Add(time.Hour)})
	waitFor(t, "a poll to pick up the event", func() bool {
		_, revoked := r.Revoked(accessClaims("u", "", "j-1", 0), clock.Now())
		return revoked
	})
}
