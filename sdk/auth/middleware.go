package auth

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/internal/httperr"
	"github.com/greyrouter/greyrouter/login"
)

// errNoToken answers a request without a bearer token.
var errNoToken = apperr.New(apperr.Unauthenticated, "authentication required: send an access token as Authorization: Bearer")

// Middleware returns next behind authentication: a request whose
// Authorization header carries a valid access token reaches next with the
// token's principal in its context (see FromContext); any other gets 401,
// or 503 when the keys or a current revocation state are missing.
func (a *Authenticator) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := a.authenticate(r)
		if err != nil {
			a.reject(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), p)))
	})
}

// Gin returns the same middleware for gin. The principal goes into the
// request's context, so FromGin, FromContext and handlers wrapped from
// net/http all find it.
func (a *Authenticator) Gin() gin.HandlerFunc {
	return func(c *gin.Context) {
		p, err := a.authenticate(c.Request)
		if err != nil {
			a.reject(c.Writer, c.Request, err)
			c.Abort()
			return
		}
		c.Request = c.Request.WithContext(NewContext(c.Request.Context(), p))
		c.Next()
	}
}

func (a *Authenticator) authenticate(r *http.Request) (login.Principal, error) {
	token, ok := bearer(r)
	if !ok {
		return login.Principal{}, errNoToken
	}
	return a.verifier.Verify(r.Context(), token)
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

// reject answers a request that did not authenticate. Unavailable keys or
// revocation state are a 503 the client may retry; everything else is a
// 401 with the RFC 6750 challenge: without error for a request that sent
// no token, error="invalid_token" for one whose token failed.
func (a *Authenticator) reject(w http.ResponseWriter, r *http.Request, err error) {
	if apperr.Is(err, apperr.Unavailable) {
		a.warnLimited("refusing requests: token verification unavailable", "reason", apperr.MessageOf(err))
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, apperr.Unavailable, apperr.MessageOf(err))
		return
	}
	msg := "invalid access token"
	if apperr.Is(err, apperr.Unauthenticated) {
		msg = apperr.MessageOf(err)
	}
	if errors.Is(err, errNoToken) {
		w.Header().Set("WWW-Authenticate", "Bearer")
	} else {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="`+quotable(msg)+`"`)
	}
	a.cfg.Log.Debug("request not authenticated", "method", r.Method, "path", r.URL.Path, "reason", msg)
	writeError(w, http.StatusUnauthorized, apperr.Unauthenticated, msg)
}

func writeError(w http.ResponseWriter, status int, code apperr.Code, msg string) {
	httperr.Write(w, status, httperr.Doc{Code: code, Message: msg})
}

// quotable keeps what RFC 6750 allows in error_description: printable
// ASCII except the double quote and the backslash.
func quotable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return -1
		}
		return r
	}, s)
}
