package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/greyrouter/greyrouter/internal/apperr"
)

// actorKey is the gin context key of the authenticated actor's name.
const actorKey = "greyrouter.actor"

// requireToken admits requests bearing the admin token. Both sides are
// hashed first so the comparison is constant-time regardless of length.
func (a *API) requireToken() gin.HandlerFunc {
	want := sha256.Sum256([]byte(a.adminToken))
	return func(c *gin.Context) {
		h := c.GetHeader("Authorization")
		token, ok := strings.CutPrefix(h, "Bearer ")
		got := sha256.Sum256([]byte(token))
		if !ok || token == "" || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			c.Header("WWW-Authenticate", `Bearer realm="greyrouter"`)
			writeError(c, a.log, apperr.New(apperr.Unauthenticated, "missing or invalid bearer token"))
			return
		}
		c.Set(actorKey, "admin-token")
		c.Next()
	}
}

func actor(c *gin.Context) string { return c.GetString(actorKey) }
