package httpapi_test

import (
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/internal/testutil"
	"github.com/greyrouter/greyrouter/login/redisstore"
)

func TestRepeatedWrongPasswordsAreThrottled(t *testing.T) {
	onEveryBackend(t, func(t *testing.T, f *fixture) {
		f.createUser(t, "acme", "alice", alicePassword, false)
		wrong := map[string]any{"tenant": "acme", "username": "alice", "password": "wrong password"}
		var r response
		for i := range 10 {
			r = f.do(t, "POST", "/api/v1/login", wrong)
			if r.StatusCode == http.StatusTooManyRequests {
				break
			}
			if r.StatusCode != http.StatusUnauthorized {
				t.Fatalf("attempt %d: status %d, want 401 until throttled", i+1, r.StatusCode)
			}
		}
		r.want(t, http.StatusTooManyRequests)
		secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
		if err != nil || secs < 1 {
			t.Fatalf("Retry-After = %q, want a positive number of seconds", r.Header.Get("Retry-After"))
		}
		if e := r.errorBody(t); e.Code != "rate_limited" {
			t.Fatalf("error code %q, want rate_limited", e.Code)
		}
		// While locked, even the right password is not checked.
		f.do(t, "POST", "/api/v1/login", map[string]any{"tenant": "acme", "username": "alice", "password": alicePassword}).
			want(t, http.StatusTooManyRequests)
	})
}

func TestLoginFailuresAreIndistinguishable(t *testing.T) {
	onEveryBackend(t, func(t *testing.T, f *fixture) {
		f.createUser(t, "acme", "alice", alicePassword, false)
		off := f.createUser(t, "acme", "mallory", alicePassword, false)
		f.do(t, "PATCH", "/api/v1/tenants/acme/users/"+off.ID, map[string]string{"status": "disabled"}, admin).want(t, http.StatusOK)

		attempt := func(username, password string) response {
			return f.do(t, "POST", "/api/v1/login", map[string]any{"tenant": "acme", "username": username, "password": password})
		}
		unknown := attempt("nobody", alicePassword)
		wrong := attempt("alice", "wrong password")
		disabled := attempt("mallory", alicePassword) // the right password of a disabled user
		for name, r := range map[string]response{"wrong password": wrong, "disabled user": disabled} {
			if r.StatusCode != unknown.StatusCode || string(r.body) != string(unknown.body) ||
				r.Header.Get("Content-Type") != unknown.Header.Get("Content-Type") {
				t.Errorf("%s: %d %q %s; unknown user: %d %q %s", name,
					r.StatusCode, r.Header.Get("Content-Type"), r.body,
					unknown.StatusCode, unknown.Header.Get("Content-Type"), unknown.body)
			}
		}
		unknown.want(t, http.StatusUnauthorized)
	})
}

// TestLoginTimingDoesNotRevealUsers compares logins to an unknown user
// with wrong passwords for a real user, at the real argon2id cost; the
// account throttle is reset between tries. Tries come in adjacent pairs
// and the test compares the median of the pairs' differences, so that
// load from other processes, which slows both logins of a pair alike,
// does not decide the outcome; a real leak (say, skipping argon2 for
// unknown users) shifts every pair.
func TestLoginTimingDoesNotRevealUsers(t *testing.T) {
	if testutil.RaceEnabled() {
		// The race detector slows the two paths by different factors (it
		// multiplies the cost of every memory access on the path that
		// decodes a user), which says nothing about production timing.
		t.Skip("timing is measured without -race (scripts/test.sh runs it in a separate step)")
	}
	onEveryBackend(t, func(t *testing.T, f *fixture) {
		f.createUser(t, "acme", "alice", alicePassword, false)
		const tries = 15
		timed := func(username string) time.Duration {
			start := time.Now()
			f.do(t, "POST", "/api/v1/login", map[string]any{"tenant": "acme", "username": username, "password": "wrong password"}).
				want(t, http.StatusUnauthorized)
			took := time.Since(start)
			// Reset the account and the client address: three rounds make
			// more failures than the address policy allows.
			for _, s := range []redisstore.Subject{redisstore.AccountSubject("acme", username), redisstore.IPSubject(netip.MustParseAddr("127.0.0.1"))} {
				if err := f.limiter.Reset(t.Context(), s); err != nil {
					t.Fatalf("reset throttle: %v", err)
				}
			}
			return took
		}
		timed("nobody") // first-use costs (connections, statement caches)
		timed("alice")
		// The order alternates: the second login of a pair tends to be
		// slower (garbage collection of the first one's argon2 memory).
		// A burst of load on this shared machine can still skew one
		// round, so up to three rounds are measured: a real leak skews
		// every one of them.
		var last string
		for round := 1; round <= 3; round++ {
			var unknown, known, diffs []time.Duration
			for i := range tries {
				var u, k time.Duration
				if i%2 == 0 {
					u, k = timed("nobody"), timed("alice")
				} else {
					k, u = timed("alice"), timed("nobody")
				}
				unknown, known, diffs = append(unknown, u), append(known, k), append(diffs, u-k)
			}
			mu, mk, md := median(unknown), median(known), median(diffs)
			t.Logf("round %d: median login time: unknown user %v, wrong password %v; median difference %v", round, mu, mk, md)
			if float64(md.Abs()) <= 0.10*float64(min(mu, mk)) {
				return
			}
			last = fmt.Sprintf("unknown users and wrong passwords differ by %v in the median, more than 10%% of %v", md, min(mu, mk))
		}
		t.Fatal(last + " (in each of 3 rounds)")
	})
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
