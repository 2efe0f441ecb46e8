package storetest

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/login"
)

// revocation returns an event of kind for subject at at(minute) that
// expires at at(expires).
func revocation(kind login.RevocationKind, subject string, minute, expires int) login.Revocation {
	return login.Revocation{
		Kind: kind, Subject: subject, Tenant: "acme", Reason: fmt.Sprintf("r%d", minute),
		At: at(minute), ExpiresAt: at(expires),
	}
}

// revocationsAre checks the events active at now, oldest first.
func revocationsAre(t *testing.T, s Store, now time.Time, want ...login.Revocation) {
	t.Helper()
	got, err := s.ActiveRevocations(t.Context(), now)
	must(t, err, "list active revocations")
	if got == nil {
		t.Fatalf("revocations active at %v = nil, want a non-nil list", now)
	}
	if len(got) != len(want) {
		t.Fatalf("revocations active at %v: got %d %+v, want %d %+v", now, len(got), got, len(want), want)
	}
	for i := range got {
		g, w := got[i], want[i]
		g.At, g.ExpiresAt = normTime(g.At), normTime(g.ExpiresAt)
		w.At, w.ExpiresAt = normTime(w.At), normTime(w.ExpiresAt)
		if !reflect.DeepEqual(g, w) {
			t.Errorf("revocation %d active at %v:\n got %+v\nwant %+v", i, now, g, w)
		}
	}
}

func addRevocations(t *testing.T, s Store, rs ...login.Revocation) {
	t.Helper()
	for _, r := range rs {
		must(t, s.AddRevocation(t.Context(), r), fmt.Sprintf("add %s revocation of %s", r.Kind, r.Subject))
	}
}

func testRevocations(t *testing.T, open func(t *testing.T) Store) {
	t.Run("events matter until they expire and are listed oldest first", func(t *testing.T) {
		s := open(t)
		subject := revocation(login.RevokeSubject, "u-1", 1, 60)
		subject.Generation = 3
		session := revocation(login.RevokeSession, fmt.Sprintf("%032x", 7), 2, 30)
		session.Tenant = ""
		token := revocation(login.RevokeToken, "jti-1", 3, 10)
		addRevocations(t, s, token, subject, session)
		revocationsAre(t, s, at(5), subject, session, token)
		revocationsAre(t, s, at(10), subject, session) // expired at its ExpiresAt
		revocationsAre(t, s, at(59), subject)
		revocationsAre(t, s, at(60))
	})
	t.Run("prune deletes the events that expired, and only those", func(t *testing.T) {
		s := open(t)
		a, b, c := revocation(login.RevokeToken, "jti-a", 1, 10), revocation(login.RevokeToken, "jti-b", 2, 20), revocation(login.RevokeToken, "jti-c", 3, 30)
		addRevocations(t, s, a, b, c)
		for _, step := range []struct {
			now  time.Time
			n    int
			left []login.Revocation
		}{
			{at(9), 0, []login.Revocation{a, b, c}},
			{at(20), 2, []login.Revocation{c}},
			{at(20), 0, []login.Revocation{c}},
			{at(31), 1, nil},
		} {
			n, err := s.PruneRevocations(t.Context(), step.now)
			must(t, err, "prune revocations")
			if n != step.n {
				t.Errorf("prune at %v = %d, want %d", step.now, n, step.n)
			}
			revocationsAre(t, s, at(0), step.left...) // at(0): pruned rows are gone, not just inactive
		}
	})
	t.Run("a later event for a subject keeps the higher generation and the later expiry", func(t *testing.T) {
		s := open(t)
		first := revocation(login.RevokeSubject, "u-1", 1, 60)
		first.Generation, first.Reason = 3, "password_change"
		addRevocations(t, s, first)

		higher := revocation(login.RevokeSubject, "u-1", 5, 50) // higher generation, earlier expiry
		higher.Generation, higher.Reason, higher.Tenant = 5, "disabled", "acme2"
		addRevocations(t, s, higher)
		merged := higher
		merged.ExpiresAt = first.ExpiresAt
		revocationsAre(t, s, at(0), merged)

		stale := revocation(login.RevokeSubject, "u-1", 7, 80) // lower generation, later expiry
		stale.Generation, stale.Reason = 4, "logout_everywhere"
		addRevocations(t, s, stale)
		merged.ExpiresAt = stale.ExpiresAt
		revocationsAre(t, s, at(0), merged)
		revocationsAre(t, s, at(70), merged)
	})
	t.Run("of events with equal generations the later one names the reason", func(t *testing.T) {
		s := open(t)
		sid := fmt.Sprintf("%032x", 9)
		later, earlier := revocation(login.RevokeSession, sid, 5, 40), revocation(login.RevokeSession, sid, 2, 30)
		later.Reason, earlier.Reason = "refresh_reused", "logout"
		addRevocations(t, s, later, earlier)
		revocationsAre(t, s, at(0), later)
	})
	t.Run("events of different kinds for one subject are kept apart", func(t *testing.T) {
		s := open(t)
		id := fmt.Sprintf("%032x", 1)
		session, token := revocation(login.RevokeSession, id, 1, 30), revocation(login.RevokeToken, id, 2, 20)
		addRevocations(t, s, session, token)
		revocationsAre(t, s, at(0), session, token)
	})
}
