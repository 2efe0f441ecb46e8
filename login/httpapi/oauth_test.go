package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/greyrouter/greyrouter/login"
)

func TestRevocationEndpoint(t *testing.T) {
	onEveryBackend(t, func(t *testing.T, f *fixture) {
		f.createUser(t, "acme", "alice", alicePassword, false)
		form := header("Content-Type", "application/x-www-form-urlencoded")

		t.Run("an access token is rejected afterwards", func(t *testing.T) {
			g := f.login(t, "acme", "alice", alicePassword)
			r := f.do(t, "POST", "/api/v1/revoke", "token="+g.AccessToken+"&token_type_hint=access_token", form).want(t, http.StatusOK)
			if string(r.body) != "{}" {
				t.Errorf("revoke body %s, want {}", r.body)
			}
			f.me(t, bearer(g.AccessToken)).want(t, http.StatusUnauthorized)
		})
		t.Run("a refresh token ends its session", func(t *testing.T) {
			g := f.login(t, "acme", "alice", alicePassword)
			f.do(t, "POST", "/api/v1/revoke", map[string]string{"token": g.RefreshToken}).want(t, http.StatusOK)
			f.refresh(t, g.RefreshToken).want(t, http.StatusUnauthorized)
			f.me(t, bearer(g.AccessToken)).want(t, http.StatusUnauthorized)
		})
		t.Run("a session cookie value ends its session", func(t *testing.T) {
			w := f.loginCookie(t, "acme", "alice", alicePassword)
			f.do(t, "POST", "/api/v1/revoke", map[string]string{"token": w.cookie}).want(t, http.StatusOK)
			f.me(t, withCookie(w.cookie)).want(t, http.StatusUnauthorized)
		})
		t.Run("unknown tokens are fine", func(t *testing.T) {
			for _, tok := range []string{"garbage", "gr1.nobody." + strings.Repeat("0", 32) + "." + login.NewSecret(), "a.b.c"} {
				f.do(t, "POST", "/api/v1/revoke", "token="+tok, form).want(t, http.StatusOK)
			}
		})
	})
}

// kidOf reads the kid from a JWT's header.
func kidOf(t *testing.T, token string) string {
	t.Helper()
	head, _, _ := strings.Cut(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatalf("decode JWT header: %v", err)
	}
	var h struct {
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatalf("decode JWT header: %v", err)
	}
	return h.Kid
}

func TestJWKSAndKeyRotation(t *testing.T) {
	onEveryBackend(t, func(t *testing.T, f *fixture) {
		f.createUser(t, "acme", "alice", alicePassword, false)
		kid := kidOf(t, f.login(t, "acme", "alice", alicePassword).AccessToken)

		jwks := func() login.JWKSet {
			var set login.JWKSet
			r := f.do(t, "GET", "/.well-known/jwks.json", nil).want(t, http.StatusOK)
			if got := r.Header.Get("Cache-Control"); got != "public, max-age=60" {
				t.Errorf("JWKS Cache-Control = %q", got)
			}
			r.decode(t, &set)
			return set
		}
		set := jwks()
		if len(set.Keys) != 1 || set.Keys[0].KeyID != kid {
			t.Fatalf("JWKS %+v, want the one key %s that signs", set, kid)
		}
		if _, err := set.Keys[0].PublicKey(); err != nil {
			t.Fatalf("published JWK does not parse: %v", err)
		}

		var rotated struct {
			Key map[string]any `json:"key"`
		}
		f.do(t, "POST", "/api/v1/signing-keys/rotate", nil, admin).want(t, http.StatusCreated).decode(t, &rotated)
		next, _ := rotated.Key["kid"].(string)
		if next == "" || next == kid || rotated.Key["status"] != "pending" {
			t.Fatalf("rotation returned %+v, want a new pending key", rotated.Key)
		}
		set = jwks()
		kids := map[string]bool{}
		for _, k := range set.Keys {
			kids[k.KeyID] = true
		}
		if len(kids) != 2 || !kids[kid] || !kids[next] {
			t.Fatalf("JWKS after rotation has %v, want %s and %s", kids, kid, next)
		}

		r := f.do(t, "GET", "/api/v1/signing-keys", nil, admin).want(t, http.StatusOK)
		var fields struct {
			Keys []map[string]any `json:"items"`
		}
		r.decode(t, &fields)
		public := map[string]bool{"kid": true, "alg": true, "status": true, "created_at": true, "activates_at": true, "retires_at": true}
		for _, k := range fields.Keys {
			for name := range k {
				if !public[name] {
					t.Fatalf("signing-key listing has field %q: %s", name, r.body)
				}
			}
		}
		var listed struct {
			Keys []struct {
				Kid    string `json:"kid"`
				Alg    string `json:"alg"`
				Status string `json:"status"`
			} `json:"items"`
		}
		r.decode(t, &listed)
		if len(listed.Keys) != 2 || listed.Keys[0].Kid != kid || listed.Keys[0].Status != "active" || listed.Keys[1].Status != "pending" {
			t.Fatalf("signing keys %s, want the active %s and the pending %s", r.body, kid, next)
		}
	})
}

func TestAuthorizationServerMetadata(t *testing.T) {
	onEveryBackend(t, func(t *testing.T, f *fixture) {
		var md map[string]any
		f.do(t, "GET", "/.well-known/oauth-authorization-server", nil).want(t, http.StatusOK).decode(t, &md)
		want := map[string]string{
			"issuer":                 issuer,
			"token_endpoint":         f.url + "/api/v1/token",
			"revocation_endpoint":    f.url + "/api/v1/revoke",
			"introspection_endpoint": f.url + "/api/v1/introspect",
			"jwks_uri":               f.url + "/.well-known/jwks.json",
		}
		for k, v := range want {
			if md[k] != v {
				t.Errorf("metadata %s = %v, want %s", k, md[k], v)
			}
		}
		grants, _ := md["grant_types_supported"].([]any)
		if len(grants) != 2 {
			t.Errorf("grant_types_supported = %v", md["grant_types_supported"])
		}
	})
}
