package httpapi

import (
	"github.com/greyrouter/greyrouter/internal/httpx"

	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/greyrouter/greyrouter/router"
)

// servicePath validates :service and checks that the service exists.
func (a *API) servicePath(c *gin.Context) (string, error) {
	name, err := pathName(c, "service")
	if err != nil {
		return "", err
	}
	if _, err := a.m.Store().GetService(c.Request.Context(), name); err != nil {
		return "", err
	}
	return name, nil
}

func (a *API) listVersions(c *gin.Context) {
	svc, err := a.servicePath(c)
	if err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	vs, err := a.m.Store().ListVersions(c.Request.Context(), svc)
	if err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	list(c, vs, 0, func(v router.Version) string { return v.Name })
}

func (a *API) createVersion(c *gin.Context) {
	svc, err := pathName(c, "service")
	if err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	var v router.Version
	if err := httpx.Decode(c, &v); err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	if v.Service, err = bodyName("service", v.Service, svc); err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	v, rev, err := a.m.CreateVersion(c.Request.Context(), actor(c), v)
	if err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	changed(c, http.StatusCreated, "version", v, rev)
}

func (a *API) versionPath(c *gin.Context) (svc, name string, err error) {
	if svc, err = pathName(c, "service"); err != nil {
		return "", "", err
	}
	name, err = pathName(c, "version")
	return svc, name, err
}

func (a *API) getVersion(c *gin.Context) {
	svc, name, err := a.versionPath(c)
	if err == nil {
		var v router.Version
		if v, err = a.m.Store().GetVersion(c.Request.Context(), svc, name); err == nil {
			c.JSON(http.StatusOK, v)
			return
		}
	}
	httpx.WriteError(c, a.log, err)
}

func (a *API) updateVersion(c *gin.Context) {
	svc, name, err := a.versionPath(c)
	if err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	v, err := a.m.Store().GetVersion(c.Request.Context(), svc, name)
	if err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	if err := httpx.Decode(c, &v); err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	if v.Service, err = bodyName("service", v.Service, svc); err == nil {
		v.Name, err = bodyName("name", v.Name, name)
	}
	if err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	v, rev, err := a.m.UpdateVersion(c.Request.Context(), actor(c), v)
	if err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	changed(c, http.StatusOK, "version", v, rev)
}

func (a *API) deleteVersion(c *gin.Context) {
	svc, name, err := a.versionPath(c)
	if err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	rev, err := a.m.DeleteVersion(c.Request.Context(), actor(c), svc, name)
	if err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"deleted": name, "revision": rev.Number})
}
