package httpapi

import (
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/internal/httpx"
	"github.com/greyrouter/greyrouter/login"
	"github.com/greyrouter/greyrouter/privilege"
)

// Who may do what (least privilege):
//
//   - the policy set, its history, rollback, the simulator, the settings
//     and the decision audit: administrators of the tenant and platform
//     administrators (httpx.RequireTenantAdmin);
//   - checks: members of the tenant (httpx.RequireTenantMember), but a
//     plain user only about itself (mayAskAbout);
//   - who-can: administrators and machine clients of the tenant, and
//     platform administrators (requireAsker);
//   - a subject's permissions: those, and the subject itself.

// principal returns the authenticated principal; the authentication
// middleware runs first on every route.
func principal(c *gin.Context) login.Principal {
	p, _ := httpx.PrincipalOf(c)
	return p
}

// asksForOthers reports whether p may ask about any subject of tenant:
// platform administrators, administrators of the tenant and its machine
// clients (services authorizing their own callers).
func asksForOthers(p login.Principal, tenant string) bool {
	return p.CanAdminTenant(tenant) || p.Kind == login.PrincipalClient && p.Tenant != "" && p.Tenant == tenant
}

// mayAskAbout reports whether p may ask what subject may do in tenant:
// those who ask for others, and a member of the tenant about itself.
func mayAskAbout(p login.Principal, tenant, subject string) bool {
	return asksForOthers(p, tenant) || p.Tenant != "" && p.Tenant == tenant && p.Subject == subject
}

// errOnlyItself refuses a plain user asking about someone else.
var errOnlyItself = apperr.New(apperr.Forbidden, "not allowed: a user may only ask about itself")

// requireAsker admits those who may ask about any subject of the route's
// tenant.
func requireAsker() gin.HandlerFunc {
	return func(c *gin.Context) {
		if !asksForOthers(principal(c), scope(c)) {
			httpx.WriteError(c, nil, apperr.New(apperr.Forbidden, "not allowed"))
			return
		}
		c.Next()
	}
}

// validTenant refuses a malformed tenant in the path before anything is
// read (it runs after authentication, so an unauthenticated request is a
// 401 whatever its path).
func (a *API) validTenant(c *gin.Context) {
	if t := c.Param("tenant"); !privilege.ValidRoleName(t) {
		a.fail(c, invalidField("tenant", "must be a tenant name, 1-63 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit"))
		return
	}
	c.Next()
}

// knownTenant answers 404 for a tenant that does not exist, when the API
// was given a way to tell.
func (a *API) knownTenant(c *gin.Context) {
	if a.tenantExists != nil {
		if err := a.tenantExists(c.Request.Context(), c.Param("tenant")); err != nil {
			a.fail(c, err)
			return
		}
	}
	c.Next()
}

// available answers 503 when the API has no service (route-table tests).
func (a *API) available(c *gin.Context) {
	if a.svc == nil {
		a.fail(c, apperr.New(apperr.Unavailable, "the privilege service is not running"))
		return
	}
	c.Next()
}

// subjectRule describes a valid subject in problem details.
const subjectRule = "must be 1-256 bytes of valid UTF-8 without control characters"

// validSubject reports whether s may name a subject (privilege's rule for
// assignments).
func validSubject(s string) bool {
	if s == "" || len(s) > privilege.MaxSubjectLen || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}
