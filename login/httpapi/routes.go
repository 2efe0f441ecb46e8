package httpapi

import (
	"github.com/gin-gonic/gin"

	"github.com/greyrouter/greyrouter/internal/httpx"
)

// Routes registers every route of the login API on r:
//
//	public
//	  GET    /.well-known/jwks.json                    signing keys (RFC 7517)
//	  GET    /.well-known/oauth-authorization-server   metadata (RFC 8414)
//	  POST   /api/v1/login                             password login: tokens or session cookie
//	  POST   /api/v1/token                             refresh_token and client_credentials grants
//	  POST   /api/v1/revoke                            token revocation (RFC 7009)
//	authenticated (Authenticate)
//	  GET    /api/v1/me                                the caller (and CSRF token of a cookie session)
//	  POST   /api/v1/logout                            end the caller's session
//	  POST   /api/v1/introspect                        token introspection (RFC 7662); clients and admins
//	  GET    /api/v1/me/sessions                       the caller's sessions; users only
//	  DELETE /api/v1/me/sessions/:session
//	  POST   /api/v1/me/logout-everywhere
//	  POST   /api/v1/me/password                       change password (current one required)
//	tenant administrators (RequireTenantAdmin) under /api/v1/tenants/:tenant
//	  GET    /users              POST /users
//	  GET    /users/:user        PATCH /users/:user
//	  POST   /users/:user/password                     reset
//	  GET    /users/:user/sessions
//	  DELETE /users/:user/sessions/:session
//	  POST   /users/:user/logout-everywhere
//	  GET    /clients            POST /clients          the secret is shown once
//	  GET    /clients/:client    PATCH /clients/:client DELETE /clients/:client
//	  GET    /audit                                    ?user= &kind= &before= &limit=
//	platform administrators (RequirePlatform) under /api/v1
//	  GET    /admins             POST /admins           the user routes above,
//	  GET    /admins/:user       PATCH /admins/:user    for platform administrators
//	  POST   /admins/:user/password
//	  GET    /admins/:user/sessions
//	  DELETE /admins/:user/sessions/:session
//	  POST   /admins/:user/logout-everywhere
//	  GET    /platform-clients   POST /platform-clients
//	  GET    /platform-clients/:client  PATCH  DELETE
//	  GET    /signing-keys                             public information only
//	  POST   /signing-keys/rotate
//	  GET    /audit                                    every tenant, or ?tenant=
func (a *API) Routes(r gin.IRouter) {
	r.GET("/.well-known/jwks.json", a.jwks)
	r.GET("/.well-known/oauth-authorization-server", a.metadata)

	public := r.Group("/api/v1")
	public.POST("/login", a.login)
	public.POST("/token", a.token)
	public.POST("/revoke", a.revoke)

	authed := r.Group("/api/v1", a.Authenticate())
	authed.GET("/me", a.me)
	authed.POST("/logout", a.logout)
	authed.POST("/introspect", a.introspect)

	me := authed.Group("/me", requireUser())
	me.GET("/sessions", a.mySessions)
	me.DELETE("/sessions/:session", a.revokeMySession)
	me.POST("/logout-everywhere", a.myLogoutEverywhere)
	me.POST("/password", a.changePassword)

	tenant := authed.Group("/tenants/:tenant", a.validTenant, httpx.RequireTenantAdmin("tenant"))
	a.userRoutes(tenant.Group("/users"))
	a.clientRoutes(tenant.Group("/clients"))
	tenant.GET("/audit", a.tenantAudit)

	platform := authed.Group("", httpx.RequirePlatform())
	a.userRoutes(platform.Group("/admins"))
	a.clientRoutes(platform.Group("/platform-clients"))
	platform.GET("/signing-keys", a.listKeys)
	platform.POST("/signing-keys/rotate", a.rotateKeys)
	platform.GET("/audit", a.platformAudit)
}

// userRoutes are the same for a tenant's users and platform
// administrators; the handlers take the scope from the path.
func (a *API) userRoutes(g *gin.RouterGroup) {
	g.GET("", a.listUsers)
	g.POST("", a.createUser)
	g.GET("/:user", a.getUser)
	g.PATCH("/:user", a.patchUser)
	g.POST("/:user/password", a.resetPassword)
	g.GET("/:user/sessions", a.userSessions)
	g.DELETE("/:user/sessions/:session", a.revokeUserSession)
	g.POST("/:user/logout-everywhere", a.userLogoutEverywhere)
}

func (a *API) clientRoutes(g *gin.RouterGroup) {
	g.GET("", a.listClients)
	g.POST("", a.createClient)
	g.GET("/:client", a.getClient)
	g.PATCH("/:client", a.patchClient)
	g.DELETE("/:client", a.deleteClient)
}
