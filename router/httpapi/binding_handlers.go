package httpapi

import (
	"github.com/greyrouter/greyrouter/internal/httpx"

	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/greyrouter/greyrouter/router"
)

func (a *API) listBindings(c *gin.Context) {
	tenant, err := pathName(c, "tenant")
	if err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	if _, err := a.m.Store().GetTenant(c.Request.Context(), tenant); err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	bs, err := a.m.Store().ListBindings(c.Request.Context(), router.BindingFilter{Tenant: tenant})
	if err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	list(c, bs, 0, func(b router.Binding) string { return b.Service })
}

func (a *API) bindingPath(c *gin.Context) (tenant, svc string, err error) {
	if tenant, err = pathName(c, "tenant"); err != nil {
		return "", "", err
	}
	svc, err = pathName(c, "service")
	return tenant, svc, err
}

func (a *API) getBinding(c *gin.Context) {
	tenant, svc, err := a.bindingPath(c)
	if err == nil {
		var b router.Binding
		if b, err = a.m.Store().GetBinding(c.Request.Context(), tenant, svc); err == nil {
			c.JSON(http.StatusOK, b)
			return
		}
	}
	httpx.WriteError(c, a.log, err)
}

// putBinding replaces the binding with the body. The salt of an existing
// binding is kept unless the body names one.
func (a *API) putBinding(c *gin.Context) {
	tenant, svc, err := a.bindingPath(c)
	if err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	var b router.Binding
	if err := httpx.Decode(c, &b); err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	if b.Tenant, err = bodyName("tenant", b.Tenant, tenant); err == nil {
		b.Service, err = bodyName("service", b.Service, svc)
	}
	if err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	b, rev, err := a.m.PutBinding(c.Request.Context(), actor(c), b)
	if err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	changed(c, http.StatusOK, "binding", b, rev)
}

func (a *API) deleteBinding(c *gin.Context) {
	tenant, svc, err := a.bindingPath(c)
	if err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	rev, err := a.m.DeleteBinding(c.Request.Context(), actor(c), tenant, svc)
	if err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"deleted": tenant + "/" + svc, "revision": rev.Number})
}
