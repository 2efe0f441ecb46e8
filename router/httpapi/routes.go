package httpapi

import "github.com/gin-gonic/gin"

// routes lists every route and its middleware. docs/openapi.yaml documents
// exactly these; a test keeps the two in step.
func (a *API) routes(r *gin.Engine) {
	r.GET("/healthz", a.healthz)
	r.GET("/readyz", a.readyz)
	r.GET("/metrics", a.metricsHandler())

	v1 := r.Group("/api/v1", a.requireToken())

	v1.GET("/tenants", a.listTenants)
	v1.POST("/tenants", a.createTenant)
	v1.GET("/tenants/:tenant", a.getTenant)
	v1.PUT("/tenants/:tenant", a.updateTenant)
	v1.DELETE("/tenants/:tenant", a.deleteTenant)

	v1.GET("/tenants/:tenant/bindings", a.listBindings)
	v1.GET("/tenants/:tenant/bindings/:service", a.getBinding)
	v1.PUT("/tenants/:tenant/bindings/:service", a.putBinding)
	v1.DELETE("/tenants/:tenant/bindings/:service", a.deleteBinding)

	v1.GET("/services", a.listServices)
	v1.POST("/services", a.createService)
	v1.GET("/services/:service", a.getService)
	v1.PUT("/services/:service", a.updateService)
	v1.DELETE("/services/:service", a.deleteService)

	v1.GET("/services/:service/versions", a.listVersions)
	v1.POST("/services/:service/versions", a.createVersion)
	v1.GET("/services/:service/versions/:version", a.getVersion)
	v1.PUT("/services/:service/versions/:version", a.updateVersion)
	v1.DELETE("/services/:service/versions/:version", a.deleteVersion)

	v1.GET("/services/:service/instances", a.listInstances)
	v1.POST("/services/:service/instances", a.registerInstance)
	v1.GET("/services/:service/instances/:instance", a.getInstance)
	v1.PATCH("/services/:service/instances/:instance", a.patchInstance)
	v1.DELETE("/services/:service/instances/:instance", a.deregisterInstance)
	v1.POST("/services/:service/instances/:instance/heartbeat", a.heartbeat)

	v1.POST("/resolve", a.resolve)
	v1.POST("/report", a.report)

	v1.GET("/revisions", a.listRevisions)
	v1.GET("/revisions/:revision", a.getRevision)
	v1.POST("/revisions/:revision/rollback", a.rollback)
}
