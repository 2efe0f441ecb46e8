package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/internal/httpx"
	"github.com/greyrouter/greyrouter/login"
)

// authenticate returns the configured authentication middleware, or, when
// none is configured (the router API alone, in its own tests), one that
// admits only the admin token as the platform's bootstrap principal.
func (a *API) authenticate() gin.HandlerFunc {
	if a.auth != nil {
		return a.auth
	}
	want := sha256.Sum256([]byte(a.adminToken))
	return func(c *gin.Context) {
		token, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
		got := sha256.Sum256([]byte(token))
		if !ok || token == "" || a.adminToken == "" || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			c.Header("WWW-Authenticate", `Bearer realm="greyrouter"`)
			httpx.WriteError(c, a.log, apperr.New(apperr.Unauthenticated, "missing or invalid bearer token"))
			return
		}
		httpx.SetPrincipal(c, login.Principal{Kind: login.PrincipalBootstrap, Subject: "bootstrap", Platform: true})
		c.Next()
	}
}

// actor names the request's principal in revisions.
func actor(c *gin.Context) string { return httpx.Actor(c) }

// mayUseTenant reports whether the principal may resolve for tenant:
// platform principals for any tenant, others for their own only.
func mayUseTenant(c *gin.Context, tenant string) bool {
	p, ok := httpx.PrincipalOf(c)
	return ok && (p.Platform || p.Tenant != "" && p.Tenant == tenant)
}

// requireReporter admits machine clients and platform principals: outcome
// reports feed circuit breakers every tenant shares, so people (whose
// credentials are easier to come by) may not send them.
func requireReporter() gin.HandlerFunc {
	return func(c *gin.Context) {
		p, ok := httpx.PrincipalOf(c)
		if !ok || !(p.Platform || p.Kind == login.PrincipalClient) {
			httpx.WriteError(c, nil, apperr.New(apperr.Forbidden, "outcome reports are for machine clients and platform administrators"))
			return
		}
		c.Next()
	}
}
