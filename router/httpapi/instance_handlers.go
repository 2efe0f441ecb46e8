package httpapi

import (
	"github.com/greyrouter/greyrouter/internal/httpx"

	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/greyrouter/greyrouter/router"
)

func (a *API) listInstances(c *gin.Context) {
	svc, err := a.servicePath(c)
	if err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	is, err := a.m.Store().ListInstances(c.Request.Context(), svc)
	if err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	list(c, is, 0, func(i router.Instance) string { return i.ID })
}

// registerInstance creates or replaces an instance; new instances start
// enabled unless the body says otherwise.
func (a *API) registerInstance(c *gin.Context) {
	svc, err := pathName(c, "service")
	if err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	in := router.Instance{Enabled: true}
	if err := httpx.Decode(c, &in); err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	if in.Service, err = bodyName("service", in.Service, svc); err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	in, err = a.m.RegisterInstance(c.Request.Context(), in)
	if err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	c.JSON(http.StatusCreated, in)
}

func (a *API) instancePath(c *gin.Context) (svc, id string, err error) {
	if svc, err = pathName(c, "service"); err != nil {
		return "", "", err
	}
	id, err = pathName(c, "instance")
	return svc, id, err
}

func (a *API) getInstance(c *gin.Context) {
	svc, id, err := a.instancePath(c)
	if err == nil {
		var in router.Instance
		if in, err = a.m.Store().GetInstance(c.Request.Context(), svc, id); err == nil {
			c.JSON(http.StatusOK, in)
			return
		}
	}
	httpx.WriteError(c, a.log, err)
}

func (a *API) patchInstance(c *gin.Context) {
	svc, id, err := a.instancePath(c)
	if err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	var p router.InstancePatch
	if err := httpx.Decode(c, &p); err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	in, err := a.m.UpdateInstance(c.Request.Context(), svc, id, p)
	if err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	c.JSON(http.StatusOK, in)
}

func (a *API) deregisterInstance(c *gin.Context) {
	svc, id, err := a.instancePath(c)
	if err == nil {
		if err = a.m.DeregisterInstance(c.Request.Context(), svc, id); err == nil {
			c.JSON(http.StatusOK, gin.H{"deleted": id})
			return
		}
	}
	httpx.WriteError(c, a.log, err)
}

func (a *API) heartbeat(c *gin.Context) {
	svc, id, err := a.instancePath(c)
	if err == nil {
		if err = a.m.Heartbeat(c.Request.Context(), svc, id); err == nil {
			c.JSON(http.StatusOK, gin.H{"ok": true})
			return
		}
	}
	httpx.WriteError(c, a.log, err)
}
