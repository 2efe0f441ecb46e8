package auth

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/login"
)

// Requirement admits the principals for which it returns true. Put its
// Middleware or Gin after the Authenticator's: a request it refuses gets
// 403 (401 when no principal was verified at all).
type Requirement func(login.Principal) bool

// RequireTenant admits the users and clients of tenant, and platform
// administrators, as greyrouter's own tenant routes do.
func RequireTenant(tenant string) Requirement {
	return func(p login.Principal) bool {
		return p.Platform || tenant != "" && p.Tenant == tenant
	}
}

// RequirePlatform admits platform administrators only.
func RequirePlatform() Requirement {
	return func(p login.Principal) bool { return p.Platform }
}

// Middleware returns next behind the requirement.
func (req Requirement) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if req.refuse(w, r) {
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Gin returns the requirement as gin middleware.
func (req Requirement) Gin() gin.HandlerFunc {
	return func(c *gin.Context) {
		if req.refuse(c.Writer, c.Request) {
			c.Abort()
			return
		}
		c.Next()
	}
}

// refuse answers and reports true unless the request's principal meets
// the requirement. The answer does not say what would have done.
func (req Requirement) refuse(w http.ResponseWriter, r *http.Request) bool {
	p, ok := FromContext(r.Context())
	switch {
	case !ok:
		w.Header().Set("WWW-Authenticate", "Bearer")
		writeError(w, http.StatusUnauthorized, apperr.Unauthenticated, errNoToken.Message)
		return true
	case !req(p):
		writeError(w, http.StatusForbidden, apperr.Forbidden, "not allowed")
		return true
	}
	return false
}
