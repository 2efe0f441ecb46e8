package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/internal/httpx"
	"github.com/greyrouter/greyrouter/login"
)

// sessionKey is the gin context key of the session behind a
// cookie-authenticated request.
const sessionKey = "greyrouter.login.session"

var (
	errNoCredentials = apperr.New(apperr.Unauthenticated, "authentication required: send a bearer token or the session cookie")
	errCSRF          = apperr.New(apperr.Forbidden, "missing or invalid CSRF token")
	errCrossSite     = &apperr.Error{Code: apperr.Forbidden, Message: "missing or invalid CSRF token",
		Details: map[string]string{"origin": "cross-site requests are refused: Origin must match the Host and Sec-Fetch-Site must be same-origin"}}
)

// Authenticate is the authentication middleware of every API in the
// binary. It accepts, in order: a bearer access token (or the bootstrap
// token, or a session credential for API clients that prefer sessions),
// then the session cookie. A cookie is ambient authority, so
// cookie-authenticated requests with unsafe methods must also come from
// the same origin and echo the session's CSRF token in X-CSRF-Token.
func (a *API) Authenticate() gin.HandlerFunc {
	return func(c *gin.Context) {
		if token, ok := bearer(c.Request); ok {
			a.authenticateBearer(c, token)
			return
		}
		if cookie, err := c.Request.Cookie(a.cookie); err == nil && cookie.Value != "" {
			a.authenticateCookie(c, cookie.Value)
			return
		}
		a.unauthenticated(c, errNoCredentials)
	}
}

func (a *API) authenticateBearer(c *gin.Context, token string) {
	ctx := c.Request.Context()
	if a.hasBoot {
		got := sha256Sum(token)
		if subtle.ConstantTimeCompare(got[:], a.bootstrap[:]) == 1 {
			httpx.SetPrincipal(c, login.Principal{Kind: login.PrincipalBootstrap, Subject: "bootstrap", Platform: true})
			c.Next()
			return
		}
	}
	var p login.Principal
	var err error
	if _, isSession := login.ParseCredential(token, login.SessionCredential); isSession {
		// Sent explicitly, not by the browser: no CSRF check needed.
		p, _, err = a.svc.AuthenticateSession(ctx, token)
	} else {
		p, err = a.svc.AuthenticateToken(ctx, token)
	}
	if err != nil {
		a.unauthenticated(c, err)
		return
	}
	httpx.SetPrincipal(c, p)
	c.Next()
}

func (a *API) authenticateCookie(c *gin.Context, value string) {
	unsafe := !safeMethod(c.Request.Method)
	if unsafe {
		if err := sameOrigin(c.Request); err != nil {
			a.fail(c, err)
			return
		}
	}
	p, sess, err := a.svc.AuthenticateSession(c.Request.Context(), value)
	if err != nil {
		if apperr.Is(err, apperr.Unauthenticated) {
			a.clearCookie(c) // a dead cookie is useless; drop it
		}
		a.unauthenticated(c, err)
		return
	}
	if unsafe && !equalSecret(c.GetHeader("X-CSRF-Token"), sess.CSRFToken) {
		a.fail(c, errCSRF)
		return
	}
	httpx.SetPrincipal(c, p)
	c.Set(sessionKey, sess)
	c.Next()
}

// unauthenticated writes err, with the challenge RFC 6750 asks for when
// it is a 401.
func (a *API) unauthenticated(c *gin.Context, err error) {
	if apperr.Is(err, apperr.Unauthenticated) {
		c.Header("WWW-Authenticate", `Bearer realm="greyrouter"`)
	}
	a.fail(c, err)
}

// cookieSession returns the session of a cookie-authenticated request.
func cookieSession(c *gin.Context) (login.Session, bool) {
	v, ok := c.Get(sessionKey)
	if !ok {
		return login.Session{}, false
	}
	s, ok := v.(login.Session)
	return s, ok
}

// bearer returns the token of an "Authorization: Bearer" header; the
// scheme is case-insensitive (RFC 9110 section 11.1).
func bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// sameOrigin refuses requests a browser marks as coming from another
// site: an Origin whose host is not the request's Host (or "null"), or
// Sec-Fetch-Site other than same-origin or none. Requests without either
// header (non-browser clients, old browsers) pass; the CSRF token still
// protects them.
func sameOrigin(r *http.Request) error {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return errCrossSite
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || !strings.EqualFold(u.Host, r.Host) {
		return errCrossSite
	}
	return nil
}

// equalSecret compares two secrets in constant time; an empty one never
// matches.
func equalSecret(got, want string) bool {
	if got == "" || want == "" {
		return false
	}
	g, w := sha256Sum(got), sha256Sum(want)
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

func sha256Sum(s string) [32]byte { return sha256.Sum256([]byte(s)) }
