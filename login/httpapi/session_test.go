package httpapi_test

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/login"
)

const (
	alicePassword = "correct horse battery"
	newPassword   = "another staple entirely"
)

func TestLoginThenMeWithBearer(t *testing.T) {
	onEveryBackend(t, func(t *testing.T, f *fixture) {
		u := f.createUser(t, "acme", "alice", alicePassword, false)
		g := f.login(t, "acme", "Alice", alicePassword)
		// exp is whole seconds, so expires_in may lose the fraction.
		if g.Session.UserID != u.ID || g.ExpiresIn < int(tokenLifetime.Seconds())-1 || g.ExpiresIn > int(tokenLifetime.Seconds()) {
			t.Fatalf("grant session %+v expires_in %d, want user %s and %v", g.Session, g.ExpiresIn, u.ID, tokenLifetime)
		}
		r := f.me(t, bearer(g.AccessToken)).want(t, http.StatusOK)
		var me struct {
			Principal login.Principal `json:"principal"`
			CSRFToken string          `json:"csrf_token"`
		}
		r.decode(t, &me)
		if me.Principal.Subject != u.ID || me.Principal.Tenant != "acme" || me.Principal.SessionID != g.Session.ID || me.CSRFToken != "" {
			t.Fatalf("me = %s, want alice of acme in session %s and no csrf token", r.body, g.Session.ID)
		}
		if got := r.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("me Cache-Control = %q, want no-store", got)
		}
	})
}

func TestRefreshRotatesAndReuseKillsTheSession(t *testing.T) {
	onEveryBackend(t, func(t *testing.T, f *fixture) {
		f.createUser(t, "acme", "alice", alicePassword, false)
		first := f.login(t, "acme", "alice", alicePassword)

		var second grant
		r := f.refresh(t, first.RefreshToken).want(t, http.StatusOK)
		r.decode(t, &second)
		if second.RefreshToken == "" || second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken {
			t.Fatalf("refresh did not rotate: %s", r.body)
		}
		if got := r.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("token Cache-Control = %q, want no-store", got)
		}
		f.me(t, bearer(second.AccessToken)).want(t, http.StatusOK)

		// The first refresh token was copied: presenting it again ends
		// the whole session.
		f.refresh(t, first.RefreshToken).want(t, http.StatusUnauthorized)
		f.refresh(t, second.RefreshToken).want(t, http.StatusUnauthorized)
		f.me(t, bearer(second.AccessToken)).want(t, http.StatusUnauthorized)
		f.me(t, bearer(first.AccessToken)).want(t, http.StatusUnauthorized)
	})
}

func TestConcurrentRefreshesOfOneTokenSucceedOnce(t *testing.T) {
	onEveryBackend(t, func(t *testing.T, f *fixture) {
		f.createUser(t, "acme", "alice", alicePassword, false)
		g := f.login(t, "acme", "alice", alicePassword)
		const n = 20
		statuses := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { statuses[i] = f.refresh(t, g.RefreshToken).StatusCode })
		}
		wg.Wait()
		okCount := 0
		for _, s := range statuses {
			switch s {
			case http.StatusOK:
				okCount++
			case http.StatusUnauthorized:
			default:
				t.Errorf("a concurrent refresh answered %d, want 200 or 401", s)
			}
		}
		if okCount != 1 {
			t.Fatalf("%d of %d concurrent refreshes succeeded, want exactly 1 (statuses %v)", okCount, n, statuses)
		}
	})
}

func TestLogoutEndsAccessTokenRefreshTokenAndCookie(t *testing.T) {
	onEveryBackend(t, func(t *testing.T, f *fixture) {
		f.createUser(t, "acme", "alice", alicePassword, false)

		g := f.login(t, "acme", "alice", alicePassword)
		f.do(t, "POST", "/api/v1/logout", nil, bearer(g.AccessToken)).want(t, http.StatusNoContent)
		f.me(t, bearer(g.AccessToken)).want(t, http.StatusUnauthorized)
		f.refresh(t, g.RefreshToken).want(t, http.StatusUnauthorized)

		w := f.loginCookie(t, "acme", "alice", alicePassword)
		f.me(t, withCookie(w.cookie)).want(t, http.StatusOK)
		r := f.do(t, "POST", "/api/v1/logout", nil, withCookie(w.cookie), csrf(w.csrf)).want(t, http.StatusNoContent)
		if c, ok := r.cookie(); !ok || c.MaxAge >= 0 || c.Value != "" {
			t.Errorf("logout Set-Cookie = %v, want the cookie cleared", r.Header.Values("Set-Cookie"))
		}
		// A replayed cookie is dead, and a second logout cannot use it.
		f.me(t, withCookie(w.cookie)).want(t, http.StatusUnauthorized)
		f.do(t, "POST", "/api/v1/logout", nil, withCookie(w.cookie), csrf(w.csrf)).want(t, http.StatusUnauthorized)
	})
}

func TestCookieIsHardened(t *testing.T) {
	onEveryBackend(t, func(t *testing.T, f *fixture) {
		f.createUser(t, "acme", "alice", alicePassword, false)
		r := f.do(t, "POST", "/api/v1/login",
			map[string]any{"tenant": "acme", "username": "alice", "password": alicePassword, "session_cookie": true}).
			want(t, http.StatusOK)
		raw := r.Header.Get("Set-Cookie")
		for _, want := range []string{"__Host-greyrouter_session=gs1.", "Path=/", "Secure", "HttpOnly", "SameSite=Lax",
			"Max-Age=" + strconv.Itoa(int(sessionLife.Seconds()))} {
			if !strings.Contains(raw, want) {
				t.Errorf("Set-Cookie %q lacks %q", raw, want)
			}
		}
		if strings.Contains(strings.ToLower(raw), "domain=") {
			t.Errorf("Set-Cookie %q has a Domain; __Host- cookies must not", raw)
		}
		c, _ := r.cookie()
		var me struct {
			CSRFToken string `json:"csrf_token"`
		}
		f.me(t, withCookie(c.Value)).want(t, http.StatusOK).decode(t, &me)
		if me.CSRFToken == "" {
			t.Errorf("me with a cookie returned no csrf_token")
		}
		// Sent as a bearer credential, the session is not ambient: no
		// CSRF token is needed, and none is handed out.
		me.CSRFToken = ""
		f.me(t, bearer(c.Value)).want(t, http.StatusOK).decode(t, &me)
		if me.CSRFToken != "" {
			t.Errorf("me with a bearer session credential returned a csrf_token")
		}
		f.do(t, "POST", "/api/v1/logout", nil, bearer(c.Value)).want(t, http.StatusNoContent)
		f.me(t, withCookie(c.Value)).want(t, http.StatusUnauthorized)
	})
}

func TestSessionFixationIsImpossible(t *testing.T) {
	onEveryBackend(t, func(t *testing.T, f *fixture) {
		u := f.createUser(t, "acme", "alice", alicePassword, false)
		// Well-formed, naming the real user, but never issued.
		planted := "gs1." + u.ID + "." + strings.Repeat("ab", 16) + "." + login.NewSecret()
		if _, ok := login.ParseCredential(planted, login.SessionCredential); !ok {
			t.Fatalf("planted cookie %q is not well-formed", planted)
		}
		f.me(t, withCookie(planted)).want(t, http.StatusUnauthorized)

		w := f.loginCookie(t, "acme", "alice", alicePassword, withCookie(planted))
		if w.cookie == planted {
			t.Fatalf("login kept the planted session credential")
		}
		f.me(t, withCookie(planted)).want(t, http.StatusUnauthorized)
		f.me(t, withCookie(w.cookie)).want(t, http.StatusOK)
	})
}

func TestIdleTimeout(t *testing.T) {
	onEveryBackend(t, func(t *testing.T, f *fixture) {
		f.createUser(t, "acme", "alice", alicePassword, false)
		w := f.loginCookie(t, "acme", "alice", alicePassword)
		g := f.login(t, "acme", "alice", alicePassword)

		f.clock.Advance(sessionIdle - time.Minute)
		f.me(t, withCookie(w.cookie)).want(t, http.StatusOK) // use extends the idle expiry
		f.clock.Advance(sessionIdle - time.Minute)
		f.me(t, withCookie(w.cookie)).want(t, http.StatusOK)

		f.clock.Advance(sessionIdle + time.Second)
		f.me(t, withCookie(w.cookie)).want(t, http.StatusUnauthorized)
		// The token session was idle all along.
		f.refresh(t, g.RefreshToken).want(t, http.StatusUnauthorized)
	})
}

func TestAbsoluteTimeout(t *testing.T) {
	onEveryBackend(t, func(t *testing.T, f *fixture) {
		f.createUser(t, "acme", "alice", alicePassword, false)
		start := f.clock.Now()
		w := f.loginCookie(t, "acme", "alice", alicePassword)
		g := f.login(t, "acme", "alice", alicePassword)
		step := sessionIdle / 2
		for f.clock.Now().Add(step).Before(start.Add(sessionLife)) {
			f.clock.Advance(step)
			f.me(t, withCookie(w.cookie)).want(t, http.StatusOK)
			var next grant
			f.refresh(t, g.RefreshToken).want(t, http.StatusOK).decode(t, &next)
			g = next
		}
		f.clock.Advance(step) // past the absolute expiry, well within idle
		f.me(t, withCookie(w.cookie)).want(t, http.StatusUnauthorized)
		f.refresh(t, g.RefreshToken).want(t, http.StatusUnauthorized)
	})
}

// sessions is one user's credentials across several logins.
type sessions struct {
	grants []grant
	web    []webSession
}

func (f *fixture) logins(t *testing.T, tenant, username, password string) sessions {
	t.Helper()
	return sessions{
		grants: []grant{f.login(t, tenant, username, password), f.login(t, tenant, username, password)},
		web:    []webSession{f.loginCookie(t, tenant, username, password)},
	}
}

// wantAllDead fails unless every token, refresh token and cookie is
// refused.
func (f *fixture) wantAllDead(t *testing.T, s sessions) {
	t.Helper()
	for i, g := range s.grants {
		if r := f.me(t, bearer(g.AccessToken)); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("access token %d: status %d, want 401", i, r.StatusCode)
		}
		if r := f.refresh(t, g.RefreshToken); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("refresh token %d: status %d, want 401", i, r.StatusCode)
		}
	}
	for i, w := range s.web {
		if r := f.me(t, withCookie(w.cookie)); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("cookie %d: status %d, want 401", i, r.StatusCode)
		}
	}
}

func TestLogoutEverywhereEndsEverySession(t *testing.T) {
	onEveryBackend(t, func(t *testing.T, f *fixture) {
		f.createUser(t, "acme", "alice", alicePassword, false)
		s := f.logins(t, "acme", "alice", alicePassword)
		var list struct {
			Sessions []struct {
				ID      string `json:"id"`
				Current bool   `json:"current"`
			} `json:"items"`
		}
		f.do(t, "GET", "/api/v1/me/sessions", nil, bearer(s.grants[0].AccessToken)).want(t, http.StatusOK).decode(t, &list)
		current := 0
		for _, x := range list.Sessions {
			if x.Current {
				current++
				if x.ID != s.grants[0].Session.ID {
					t.Errorf("session %s marked current, want %s", x.ID, s.grants[0].Session.ID)
				}
			}
		}
		if len(list.Sessions) != 3 || current != 1 {
			t.Fatalf("me/sessions = %+v, want 3 with one current", list.Sessions)
		}

		f.do(t, "POST", "/api/v1/me/logout-everywhere", nil, withCookie(s.web[0].cookie), csrf(s.web[0].csrf)).
			want(t, http.StatusNoContent)
		f.wantAllDead(t, s)
		f.login(t, "acme", "alice", alicePassword) // logging in again works
	})
}

func TestPasswordChangeEndsEverySession(t *testing.T) {
	onEveryBackend(t, func(t *testing.T, f *fixture) {
		f.createUser(t, "acme", "alice", alicePassword, false)
		s := f.logins(t, "acme", "alice", alicePassword)
		tok := bearer(s.grants[0].AccessToken)

		r := f.do(t, "POST", "/api/v1/me/password", map[string]string{"current_password": "wrong password!", "new_password": newPassword}, tok)
		r.want(t, http.StatusUnprocessableEntity)
		f.do(t, "POST", "/api/v1/me/password", map[string]string{"current_password": alicePassword, "new_password": newPassword}, tok).
			want(t, http.StatusNoContent)
		f.wantAllDead(t, s)
		f.do(t, "POST", "/api/v1/login", map[string]any{"tenant": "acme", "username": "alice", "password": alicePassword}).
			want(t, http.StatusUnauthorized)
		f.login(t, "acme", "alice", newPassword)
	})
}

func TestAdminPasswordResetAndDisableEndEverySession(t *testing.T) {
	onEveryBackend(t, func(t *testing.T, f *fixture) {
		u := f.createUser(t, "acme", "alice", alicePassword, false)
		path := "/api/v1/tenants/acme/users/" + u.ID

		s := f.logins(t, "acme", "alice", alicePassword)
		f.do(t, "POST", path+"/password", map[string]string{"password": newPassword}, admin).want(t, http.StatusNoContent)
		f.wantAllDead(t, s)

		s = f.logins(t, "acme", "alice", newPassword)
		var got login.User
		f.do(t, "PATCH", path, map[string]string{"status": "disabled"}, admin).want(t, http.StatusOK).decode(t, &got)
		if got.Status != login.UserDisabled {
			t.Fatalf("PATCH status disabled returned %+v", got)
		}
		f.wantAllDead(t, s)
		f.do(t, "POST", "/api/v1/login", map[string]any{"tenant": "acme", "username": "alice", "password": newPassword}).
			want(t, http.StatusUnauthorized)
	})
}

func TestRevokingOneSession(t *testing.T) {
	onEveryBackend(t, func(t *testing.T, f *fixture) {
		u := f.createUser(t, "acme", "alice", alicePassword, false)
		a, b := f.login(t, "acme", "alice", alicePassword), f.login(t, "acme", "alice", alicePassword)
		f.do(t, "DELETE", "/api/v1/me/sessions/"+b.Session.ID, nil, bearer(a.AccessToken)).want(t, http.StatusNoContent)
		f.me(t, bearer(b.AccessToken)).want(t, http.StatusUnauthorized)
		f.me(t, bearer(a.AccessToken)).want(t, http.StatusOK)

		// An administrator ends the other one.
		f.do(t, "DELETE", "/api/v1/tenants/acme/users/"+u.ID+"/sessions/"+a.Session.ID, nil, admin).want(t, http.StatusNoContent)
		f.me(t, bearer(a.AccessToken)).want(t, http.StatusUnauthorized)
		f.do(t, "DELETE", "/api/v1/tenants/acme/users/"+u.ID+"/sessions/"+a.Session.ID, nil, admin).want(t, http.StatusNotFound)
	})
}
