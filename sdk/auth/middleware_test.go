package auth_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/internal/httpx"
	"github.com/greyrouter/greyrouter/internal/testutil"
	"github.com/greyrouter/greyrouter/login"
	"github.com/greyrouter/greyrouter/sdk/auth"
)

func TestAValidTokenPutsItsPrincipalInTheRequestContext(t *testing.T) {
	g := newGreyrouter(t)
	a := g.authenticator(t)
	gr := g.login(t, "acme", "alice")
	services := map[string]string{
		"net/http, FromContext":         netHTTPService(t, a) + "/whoami",
		"gin, FromGin":                  ginService(t, a) + "/whoami",
		"gin, FromContext(gin.Context)": ginService(t, a) + "/ctx",
	}
	for name, url := range services {
		t.Run(name, func(t *testing.T) {
			for range 2 { // first sight, then from the verified-token cache
				w := get(t, url, bearerOf(gr.AccessToken)).principal(t)
				if !w.Found || w.Kind != string(login.PrincipalUser) || w.Tenant != "acme" || w.Name != "alice" ||
					w.SessionID != gr.Session.ID || w.Subject == "" || w.Platform {
					t.Fatalf("handler saw %+v, want alice of acme in session %s", w, gr.Session.ID)
				}
			}
		})
	}
}

func TestRequestsWithoutAValidTokenGet401AndTheJSONError(t *testing.T) {
	g := newGreyrouter(t)
	a := g.authenticator(t)
	gr := g.login(t, "acme", "alice")
	segs := strings.Split(gr.AccessToken, ".")
	sig := []byte(segs[2])
	// Replace a character in the middle with another base64url letter (XOR
	// tricks can turn '-' into '.', a malformed token rather than a forged one).
	if sig[len(sig)/2] == 'A' {
		sig[len(sig)/2] = 'B'
	} else {
		sig[len(sig)/2] = 'A'
	}
	forged := segs[0] + "." + segs[1] + "." + string(sig)
	hourAgo := time.Now().Add(-time.Hour)
	expired := g.sign(t, func(c *login.AccessClaims) {
		c.IssuedAt, c.NotBefore, c.ExpiresAt = jwt.NewNumericDate(hourAgo), jwt.NewNumericDate(hourAgo), jwt.NewNumericDate(hourAgo.Add(tokenLifetime))
	})
	otherAudience := g.sign(t, func(c *login.AccessClaims) { c.Audience = jwt.ClaimStrings{"billing"} })
	otherIssuer := g.sign(t, func(c *login.AccessClaims) { c.Issuer = "https://elsewhere.test" })

	cases := []struct {
		name, authorization, message string
		challenge                    string // WWW-Authenticate
	}{
		{"a request without Authorization", "", "authentication required: send an access token as Authorization: Bearer", "Bearer"},
		{"a request with another scheme", "Basic YWxpY2U6c2VjcmV0", "authentication required: send an access token as Authorization: Bearer", "Bearer"},
		{"a request with an empty bearer", "Bearer   ", "authentication required: send an access token as Authorization: Bearer", "Bearer"},
		{"a malformed token", "Bearer not-a-jwt", "malformed access token", `Bearer error="invalid_token", error_description="malformed access token"`},
		{"a token whose signature was altered", bearerOf(forged), "invalid access token signature", `Bearer error="invalid_token", error_description="invalid access token signature"`},
		{"an expired token", bearerOf(expired), "access token expired", `Bearer error="invalid_token", error_description="access token expired"`},
		{"a token for another audience", bearerOf(otherAudience), "access token for another audience", `Bearer error="invalid_token", error_description="access token for another audience"`},
		{"a token from another issuer", bearerOf(otherIssuer), "access token from another issuer", `Bearer error="invalid_token", error_description="access token from another issuer"`},
	}
	for kind, url := range map[string]string{"net/http": netHTTPService(t, a), "gin": ginService(t, a)} {
		for _, c := range cases {
			t.Run(kind+": "+c.name, func(t *testing.T) {
				r := get(t, url+"/whoami", c.authorization)
				if r.status != http.StatusUnauthorized {
					t.Fatalf("status %d, want 401: %s", r.status, r.body)
				}
				if got := r.header.Get("WWW-Authenticate"); got != c.challenge {
					t.Errorf("WWW-Authenticate = %q, want %q", got, c.challenge)
				}
				if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
					t.Errorf("Content-Type = %q", ct)
				}
				var body httpx.ErrorBody
				dec := json.NewDecoder(bytes.NewReader(r.body))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&body); err != nil {
					t.Fatalf("body %s is not greyrouter's error shape: %v", r.body, err)
				}
				if body.Error.Code != apperr.Unauthenticated || body.Error.Message != c.message {
					t.Errorf("error = %+v, want unauthenticated %q", body.Error, c.message)
				}
				if tok, ok := strings.CutPrefix(c.authorization, "Bearer "); ok && !noSegmentOf(string(r.body)+r.header.Get("WWW-Authenticate"), tok) {
					t.Errorf("answer repeats part of the token: %s", r.body)
				}
			})
		}
	}
}

func TestRequirementsAdmitByTenantAndPlatform(t *testing.T) {
	g := newGreyrouter(t)
	a := g.authenticator(t)
	alice := g.login(t, "acme", "alice").AccessToken
	bob := g.login(t, "globex", "bob").AccessToken
	root := g.login(t, "", "root").AccessToken
	cases := []struct {
		name, token, path string
		want              int
	}{
		{"acme's user reaches acme's route", alice, "/acme", http.StatusOK},
		{"globex's user is refused acme's route", bob, "/acme", http.StatusForbidden},
		{"a platform administrator reaches acme's route", root, "/acme", http.StatusOK},
		{"a tenant user is refused the platform route", alice, "/platform", http.StatusForbidden},
		{"a platform administrator reaches the platform route", root, "/platform", http.StatusOK},
	}
	for kind, url := range map[string]string{"net/http": netHTTPService(t, a), "gin": ginService(t, a)} {
		for _, c := range cases {
			t.Run(kind+": "+c.name, func(t *testing.T) {
				r := get(t, url+c.path, bearerOf(c.token))
				if r.status != c.want {
					t.Fatalf("status %d, want %d: %s", r.status, c.want, r.body)
				}
				if c.want == http.StatusForbidden && !strings.Contains(string(r.body), `{"error":{"code":"forbidden","message":"not allowed"}}`) {
					t.Errorf("body %s", r.body)
				}
			})
		}
	}
}

func TestARequirementWithoutAPrincipalIsUnauthenticated(t *testing.T) {
	h := auth.RequirePlatform().Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusUnauthorized || rec.Header().Get("WWW-Authenticate") != "Bearer" {
		t.Fatalf("without the authenticator: status %d, challenge %q", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}

	req := httptest.NewRequest("GET", "/", nil)
	req = req.WithContext(auth.NewContext(req.Context(), login.Principal{Kind: login.PrincipalUser, Subject: "u-1", Platform: true}))
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNoContent {
		t.Fatalf("with a platform principal from NewContext: status %d, want 204", rec.Code)
	}
}

// syncBuffer is a concurrent-safe log and output buffer.
type syncBuffer = testutil.SyncBuffer

func TestTheLogNeverCarriesATokenEvenAtDebugLevel(t *testing.T) {
	g := newGreyrouter(t)
	var logs syncBuffer
	a := g.authenticator(t, func(c *auth.Config) {
		c.Log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	url := netHTTPService(t, a) + "/whoami"
	good := g.login(t, "acme", "alice").AccessToken
	otherAudience := g.sign(t, func(c *login.AccessClaims) { c.Audience = jwt.ClaimStrings{"billing"} })
	tokens := []string{good, good[:len(good)-4] + "AAAA", otherAudience, "not-a-jwt.at-all.really"}
	for _, tok := range tokens {
		get(t, url, bearerOf(tok))
	}
	out := logs.String()
	if !strings.Contains(out, "request not authenticated") {
		t.Fatalf("no rejection was logged at debug level:\n%s", out)
	}
	for _, tok := range tokens {
		if !noSegmentOf(out, tok) {
			t.Fatalf("the log repeats part of a token:\n%s", out)
		}
	}
}
