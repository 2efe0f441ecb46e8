package httpapi

import (
	"github.com/gin-gonic/gin"

	"github.com/greyrouter/greyrouter/internal/httpx"
)

// routes lists every route and its middleware. docs/openapi.yaml documents
// exactly these; a test keeps the two in step.
func (a *API) routes(r *gin.Engine) {
	r.GET("/healthz", a.healthz)
	r.GET("/readyz", a.readyz)
	r.GET("/metrics", a.metricsHandler())

	// Authorization: the platform's configuration (services, versions,
	// instances, tenants, revisions) is changed by platform principals
	// only; anyone authenticated may read services and versions; a
	// tenant's bindings belong to its administrators; resolve checks the
	// tenant in the request against the principal's.
	v1 := r.Group("/api/v1", a.authenticate())
	platform := httpx.RequirePlatform()
	tenantAdmin := httpx.RequireTenantAdmin("tenant")
	tenantMember := httpx.RequireTenantMember("tenant")

	v1.GET("/tenants", platform, a.listTenants)
	v1.POST("/tenants", platform, a.createTenant)
	v1.GET("/tenants/:tenant", tenantMember, a.getTenant)
	v1.PUT("/tenants/:tenant", platform, a.updateTenant)
	v1.DELETE("/tenants/:tenant", platform, a.deleteTenant)

	v1.GET("/tenants/:tenant/bindings", tenantMember, a.listBindings)
	v1.GET("/tenants/:tenant/bindings/:service", tenantMember, a.getBinding)
	v1.PUT("/tenants/:tenant/bindings/:service", tenantAdmin, a.putBinding)
	v1.DELETE("/tenants/:tenant/bindings/:service", tenantAdmin, a.deleteBinding)

	v1.GET("/services", a.listServices)
	v1.POST("/services", platform, a.createService)
	v1.GET("/services/:service", a.getService)
	v1.PUT("/services/:service", platform, a.updateService)
	v1.DELETE("/services/:service", platform, a.deleteService)

	v1.GET("/services/:service/versions", a.listVersions)
	v1.POST("/services/:service/versions", platform, a.createVersion)
	v1.GET("/services/:service/versions/:version", a.getVersion)
	v1.PUT("/services/:service/versions/:version", platform, a.updateVersion)
	v1.DELETE("/services/:service/versions/:version", platform, a.deleteVersion)

	v1.GET("/services/:service/instances", a.listInstances)
	v1.POST("/services/:service/instances", platform, a.registerInstance)
	v1.GET("/services/:service/instances/:instance", a.getInstance)
	v1.PATCH("/services/:service/instances/:instance", platform, a.patchInstance)
	v1.DELETE("/services/:service/instances/:instance", platform, a.deregisterInstance)
	v1.POST("/services/:service/instances/:instance/heartbeat", platform, a.heartbeat)

	v1.POST("/resolve", a.resolve)
	v1.POST("/report", requireReporter(), a.report)
	v1.GET("/routing-snapshot", requireSnapshotReader(), a.routingSnapshot())

	v1.GET("/revisions", platform, a.listRevisions)
	v1.GET("/revisions/:revision", platform, a.getRevision)
	v1.POST("/revisions/:revision/rollback", platform, a.rollback)
}
