package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
)

func TestBadInputIsA4xxThatNamesTheProblem(t *testing.T) {
	onEveryBackend(t, func(t *testing.T, f *fixture) {
		u := f.createUser(t, "acme", "alice", alicePassword, false)
		form := header("Content-Type", "application/x-www-form-urlencoded")
		jsonCT := header("Content-Type", "application/json")
		huge := `{"tenant":"acme","username":"alice","password":"` + strings.Repeat("x", 2<<20) + `"}`
		cases := []struct {
			name, method, path string
			body               any
			opts               []opt
			status             int
			mention            string // in the message or the details
		}{
			{"malformed JSON", "POST", "/api/v1/login", `{"username":`, []opt{jsonCT}, 400, "malformed JSON"},
			{"not JSON at all", "POST", "/api/v1/login", `username=alice`, []opt{jsonCT}, 400, "malformed JSON"},
			{"an unknown field", "POST", "/api/v1/login", `{"username":"alice","password":"x","remember":true}`, []opt{jsonCT}, 400, "remember"},
			{"a field of the wrong type", "POST", "/api/v1/login", `{"username":5,"password":"x"}`, []opt{jsonCT}, 400, "username"},
			{"trailing data", "POST", "/api/v1/login", `{"username":"a","password":"b"} {}`, []opt{jsonCT}, 400, "after the first value"},
			{"an empty body", "POST", "/api/v1/login", ``, []opt{jsonCT}, 400, "empty"},
			{"an oversized body", "POST", "/api/v1/login", huge, []opt{jsonCT}, 413, "larger than"},
			{"a missing password", "POST", "/api/v1/login", map[string]string{"tenant": "acme", "username": "alice"}, nil, 422, "password"},
			{"a missing username", "POST", "/api/v1/login", map[string]string{"password": "x"}, nil, 422, "username"},
			{"the wrong content type on /token", "POST", "/api/v1/token", "grant_type=refresh_token", []opt{header("Content-Type", "text/plain")}, 400, "content type"},
			{"no content type on /token", "POST", "/api/v1/token", "grant_type=refresh_token", nil, 400, "content type"},
			{"a missing grant_type", "POST", "/api/v1/token", "refresh_token=x", []opt{form}, 422, "grant_type"},
			{"an unsupported grant_type", "POST", "/api/v1/token", "grant_type=password&username=a&password=b", []opt{form}, 400, "unsupported_grant_type"},
			{"a missing refresh_token", "POST", "/api/v1/token", "grant_type=refresh_token", []opt{form}, 422, "refresh_token"},
			{"a repeated parameter", "POST", "/api/v1/token", "grant_type=refresh_token&grant_type=client_credentials", []opt{form}, 400, "grant_type"},
			{"missing client credentials", "POST", "/api/v1/token", "grant_type=client_credentials", []opt{form}, 422, "client_id"},
			{"an oversized form", "POST", "/api/v1/token", "grant_type=refresh_token&refresh_token=" + strings.Repeat("x", 2<<20), []opt{form}, 413, "larger than"},
			{"an unknown JSON field on /token", "POST", "/api/v1/token", `{"grant_type":"refresh_token","refresh_token":"x","extra":1}`, []opt{jsonCT}, 400, "extra"},
			{"a missing token on /revoke", "POST", "/api/v1/revoke", "token_type_hint=access_token", []opt{form}, 422, "token"},
			{"an empty user patch", "PATCH", "/api/v1/tenants/acme/users/" + u.ID, `{}`, []opt{jsonCT, admin}, 422, "at least one"},
			{"an invalid status", "PATCH", "/api/v1/tenants/acme/users/" + u.ID, `{"status":"gone"}`, []opt{jsonCT, admin}, 422, "status"},
			{"an invalid username", "POST", "/api/v1/tenants/acme/users", `{"username":"Bad Name!","password":"a fine password"}`, []opt{jsonCT, admin}, 422, "username"},
			{"an invalid limit", "GET", "/api/v1/tenants/acme/users?limit=5000", nil, []opt{admin}, 400, "limit"},
			{"an invalid tenant name", "GET", "/api/v1/tenants/NOT%20A%20TENANT/users", nil, []opt{admin}, 400, "tenant"},
			{"an unknown user", "GET", "/api/v1/tenants/acme/users/nobody", nil, []opt{admin}, 404, "nobody"},
			{"a malformed session id", "DELETE", "/api/v1/tenants/acme/users/" + u.ID + "/sessions/xyz", nil, []opt{admin}, 404, "xyz"},
			{"an empty client patch", "PATCH", "/api/v1/tenants/acme/clients/gc-" + strings.Repeat("0", 32), `{}`, []opt{jsonCT, admin}, 422, "rotate_secret"},
			{"a logout without a session", "POST", "/api/v1/logout", nil, []opt{admin}, 400, "session"},
			{"sessions of a non-user", "GET", "/api/v1/me/sessions", nil, []opt{admin}, 403, "users"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := f.do(t, c.method, c.path, c.body, c.opts...).want(t, c.status)
				if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
					t.Errorf("Content-Type = %q, want JSON", ct)
				}
				e := r.errorBody(t)
				text := e.Message
				for k, v := range e.Details {
					text += " " + k + ": " + v
				}
				if !strings.Contains(text, c.mention) {
					t.Errorf("error %+v does not mention %q", e, c.mention)
				}
			})
		}
		// None of it hurt: the user still logs in.
		f.login(t, "acme", "alice", alicePassword)
		if r := f.do(t, "GET", "/api/v1/nowhere", nil); r.StatusCode != http.StatusNotFound {
			t.Errorf("unknown route: status %d", r.StatusCode)
		}
	})
}
