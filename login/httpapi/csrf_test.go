package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
)

func TestCookieRequestsNeedTheCSRFTokenAndTheSameOrigin(t *testing.T) {
	onEveryBackend(t, func(t *testing.T, f *fixture) {
		f.createUser(t, "acme", "boss", alicePassword, true)
		w := f.loginCookie(t, "acme", "boss", alicePassword)
		host := strings.TrimPrefix(f.url, "http://")
		// Introspection is an unsafe method that changes nothing.
		body := map[string]string{"token": "not-a-token"}
		post := func(opts ...opt) response {
			return f.do(t, "POST", "/api/v1/introspect", body, append([]opt{withCookie(w.cookie)}, opts...)...)
		}

		refused := []struct {
			name string
			opts []opt
		}{
			{"without X-CSRF-Token", nil},
			{"with a wrong X-CSRF-Token", []opt{csrf(w.csrf + "x")}},
			{"with another session's token shape", []opt{csrf(strings.Repeat("A", len(w.csrf)))}},
			{"from a cross Origin", []opt{csrf(w.csrf), header("Origin", "https://evil.example")}},
			{"from Origin null", []opt{csrf(w.csrf), header("Origin", "null")}},
			{"marked cross-site by Sec-Fetch-Site", []opt{csrf(w.csrf), header("Sec-Fetch-Site", "cross-site")}},
			{"marked same-site by Sec-Fetch-Site", []opt{csrf(w.csrf), header("Sec-Fetch-Site", "same-site")}},
		}
		for _, c := range refused {
			t.Run(c.name+" is refused", func(t *testing.T) {
				r := post(c.opts...).want(t, http.StatusForbidden)
				if e := r.errorBody(t); e.Code != "forbidden" || e.Message != "missing or invalid CSRF token" {
					t.Fatalf("error = %+v, want forbidden / missing or invalid CSRF token", e)
				}
			})
		}

		t.Run("with the right token from the same origin it passes", func(t *testing.T) {
			post(csrf(w.csrf)).want(t, http.StatusOK)
			post(csrf(w.csrf), header("Origin", "http://"+host), header("Sec-Fetch-Site", "same-origin")).want(t, http.StatusOK)
		})
		t.Run("safe methods need no token", func(t *testing.T) {
			f.me(t, withCookie(w.cookie)).want(t, http.StatusOK)
		})
		t.Run("bearer requests need no token", func(t *testing.T) {
			g := f.login(t, "acme", "boss", alicePassword)
			f.do(t, "POST", "/api/v1/introspect", body, bearer(g.AccessToken), header("Origin", "https://evil.example")).
				want(t, http.StatusOK)
		})
		t.Run("a cookie login from another origin is refused", func(t *testing.T) {
			r := f.do(t, "POST", "/api/v1/login",
				map[string]any{"tenant": "acme", "username": "boss", "password": alicePassword, "session_cookie": true},
				header("Origin", "https://evil.example")).want(t, http.StatusForbidden)
			if _, set := r.cookie(); set {
				t.Fatalf("refused login set a cookie")
			}
		})
	})
}

func TestMissingOrBadCredentialsAreChallenged(t *testing.T) {
	onEveryBackend(t, func(t *testing.T, f *fixture) {
		for name, opts := range map[string][]opt{
			"no credentials":          nil,
			"a wrong bootstrap token": {bearer(bootstrapToken + "x")},
			"a garbage bearer token":  {bearer("garbage")},
			"a garbage cookie":        {withCookie("garbage")},
		} {
			t.Run(name, func(t *testing.T) {
				r := f.me(t, opts...).want(t, http.StatusUnauthorized)
				if got := r.Header.Get("WWW-Authenticate"); got != `Bearer realm="greyrouter"` {
					t.Errorf("WWW-Authenticate = %q", got)
				}
				r.errorBody(t)
			})
		}
		var me struct {
			Principal struct {
				Kind     string `json:"kind"`
				Platform bool   `json:"platform"`
			} `json:"principal"`
		}
		f.me(t, admin).want(t, http.StatusOK).decode(t, &me)
		if me.Principal.Kind != "bootstrap" || !me.Principal.Platform {
			t.Fatalf("bootstrap principal = %+v", me.Principal)
		}
	})
}
