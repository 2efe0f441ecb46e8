package httpapi

import (
	"github.com/gin-gonic/gin"

	"github.com/greyrouter/greyrouter/internal/httpx"
)

// Routes registers every route of the privilege API on r, behind
// authenticate (login/httpapi's middleware, which sets the principal):
//
//	members of the tenant under /api/v1/tenants/:tenant/privilege
//	  POST   /check                 a user only about itself; clients and admins about anyone
//	  POST   /check-batch           up to 100 checks, answered in order
//	  GET    /subjects/:subject/permissions   the subject itself, clients and admins
//	clients and administrators of the tenant
//	  GET    /who-can               ?resource= &action= (RBAC only)
//	administrators of the tenant (RequireTenantAdmin)
//	  POST   /simulate              a draft against requests and replayed decisions
//	  GET    /roles                 GET PUT DELETE /roles/:name
//	  GET    /roles/:name/members   PUT DELETE /roles/:name/members/:subject
//	  GET    /assignments           ?subject=
//	  GET    /policies              GET PUT DELETE /policies/:id
//	  GET    /settings              PUT /settings
//	  GET    /revisions             GET /revisions/:version
//	  POST   /revisions/:version/rollback
//	  GET    /decisions             the decision audit
//	platform administrators (RequirePlatform) under /api/v1/privilege
//	  GET    /roles                 GET PUT DELETE /roles/:name          platform roles
//	  GET    /roles/:name/members   PUT DELETE /roles/:name/members/:subject   platform-wide
//	  GET    /revisions             GET /revisions/:version   POST /revisions/:version/rollback
//
// Every write answers with the stored record, the policy version and the
// revision token (also in X-Privilege-Revision).
func (a *API) Routes(r gin.IRouter, authenticate gin.HandlerFunc) {
	t := r.Group("/api/v1/tenants/:tenant/privilege", authenticate, a.validTenant, a.available)
	member := httpx.RequireTenantMember("tenant")
	t.POST("/check", member, a.check)
	t.POST("/check-batch", member, a.checkBatch)
	t.GET("/subjects/:subject/permissions", member, a.permissions)
	t.GET("/who-can", requireAsker(), a.whoCan)

	admin := t.Group("", httpx.RequireTenantAdmin("tenant"), a.knownTenant)
	admin.POST("/simulate", a.simulate)
	a.roleRoutes(admin)
	admin.GET("/assignments", a.listAssignments)
	admin.GET("/policies", a.listPolicies)
	admin.GET("/policies/:id", a.getPolicy)
	admin.PUT("/policies/:id", a.putPolicy)
	admin.DELETE("/policies/:id", a.deletePolicy)
	admin.GET("/settings", a.getSettings)
	admin.PUT("/settings", a.putSettings)
	a.revisionRoutes(admin)
	admin.GET("/decisions", a.listDecisions)

	platform := r.Group("/api/v1/privilege", authenticate, httpx.RequirePlatform(), a.available)
	a.roleRoutes(platform)
	a.revisionRoutes(platform)
}

// roleRoutes are the same for a tenant's roles and the platform's; the
// handlers take the scope from the path.
func (a *API) roleRoutes(g *gin.RouterGroup) {
	g.GET("/roles", a.listRoles)
	g.GET("/roles/:name", a.getRole)
	g.PUT("/roles/:name", a.putRole)
	g.DELETE("/roles/:name", a.deleteRole)
	g.GET("/roles/:name/members", a.listMembers)
	g.PUT("/roles/:name/members/:subject", a.putMember)
	g.DELETE("/roles/:name/members/:subject", a.deleteMember)
}

func (a *API) revisionRoutes(g *gin.RouterGroup) {
	g.GET("/revisions", a.listRevisions)
	g.GET("/revisions/:version", a.getRevision)
	g.POST("/revisions/:version/rollback", a.rollback)
}
