package httpx

import (
	"github.com/gin-gonic/gin"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/login"
)

// principalKey is the gin context key of the authenticated principal.
const principalKey = "greyrouter.principal"

// SetPrincipal records the authenticated principal of the request; the
// authentication middleware calls it.
func SetPrincipal(c *gin.Context, p login.Principal) { c.Set(principalKey, p) }

// PrincipalOf returns the authenticated principal of the request.
func PrincipalOf(c *gin.Context) (login.Principal, bool) {
	v, ok := c.Get(principalKey)
	if !ok {
		return login.Principal{}, false
	}
	p, ok := v.(login.Principal)
	return p, ok
}

// Actor names the request's principal for revisions and audit trails.
func Actor(c *gin.Context) string {
	p, ok := PrincipalOf(c)
	if !ok {
		return "anonymous"
	}
	return p.Actor()
}

// errNotAllowed is the answer for an authenticated principal without the
// right; it does not say which right would do.
var errNotAllowed = apperr.New(apperr.Forbidden, "not allowed")

// RequirePlatform admits platform administrators (and the bootstrap
// token) only. It must run after the authentication middleware.
func RequirePlatform() gin.HandlerFunc {
	return func(c *gin.Context) {
		if p, ok := PrincipalOf(c); !ok || !p.Platform {
			WriteError(c, nil, errNotAllowed)
			return
		}
		c.Next()
	}
}

// RequireTenantAdmin admits administrators of the tenant named by the
// route parameter param, and platform administrators.
func RequireTenantAdmin(param string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if p, ok := PrincipalOf(c); !ok || !p.CanAdminTenant(c.Param(param)) {
			WriteError(c, nil, errNotAllowed)
			return
		}
		c.Next()
	}
}

// RequireTenantMember admits principals of the tenant named by the route
// parameter param (any user or client of it), and platform administrators.
func RequireTenantMember(param string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if p, ok := PrincipalOf(c); !ok || !(p.Platform || p.Tenant != "" && p.Tenant == c.Param(param)) {
			WriteError(c, nil, errNotAllowed)
			return
		}
		c.Next()
	}
}
