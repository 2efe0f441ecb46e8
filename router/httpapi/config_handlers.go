package httpapi

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/internal/httpx"
	"github.com/greyrouter/greyrouter/router"
)

// page reads ?after= and ?limit= (default 100, at most 1000).
func page(c *gin.Context) (router.Page, error) {
	p := router.Page{After: c.Query("after"), Limit: 100}
	if s := c.Query("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return p, apperr.New(apperr.Invalid, "limit must be an integer between 1 and 1000")
		}
		p.Limit = n
	}
	return p, nil
}

// list writes a page of items with the cursor of the next page.
func list[T any](c *gin.Context, items []T, limit int, name func(T) string) {
	if items == nil {
		items = []T{}
	}
	body := gin.H{"items": items}
	if len(items) == limit && limit > 0 {
		body["next"] = name(items[len(items)-1])
	}
	c.JSON(http.StatusOK, body)
}

// changed writes a changed record with the revision that recorded it.
func changed(c *gin.Context, status int, key string, v any, rev router.Revision) {
	c.JSON(status, gin.H{key: v, "revision": rev.Number})
}

// pathName returns a path parameter after checking it is a valid name, so
// that a bad name is a 400, never a lookup.
func pathName(c *gin.Context, param string) (string, error) {
	v := c.Param(param)
	if !router.ValidName(v) {
		return "", apperr.New(apperr.Invalid, "%s %q is not a valid name", param, v)
	}
	return v, nil
}

// bodyName reconciles a name given in the body with the one in the path.
func bodyName(field, body, path string) (string, error) {
	if body != "" && body != path {
		return "", apperr.New(apperr.Invalid, "%s %q in the body does not match %q in the path", field, body, path)
	}
	return path, nil
}

func (a *API) listTenants(c *gin.Context) {
	p, err := page(c)
	if err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	ts, err := a.m.Store().ListTenants(c.Request.Context(), p)
	if err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	list(c, ts, p.Limit, func(t router.Tenant) string { return t.Name })
}

func (a *API) createTenant(c *gin.Context) {
	var t router.Tenant
	if err := httpx.Decode(c, &t); err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	t, rev, err := a.m.CreateTenant(c.Request.Context(), actor(c), t)
	if err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	changed(c, http.StatusCreated, "tenant", t, rev)
}

func (a *API) getTenant(c *gin.Context) {
	name, err := pathName(c, "tenant")
	if err == nil {
		var t router.Tenant
		if t, err = a.m.Store().GetTenant(c.Request.Context(), name); err == nil {
			c.JSON(http.StatusOK, t)
			return
		}
	}
	httpx.WriteError(c, a.log, err)
}

func (a *API) updateTenant(c *gin.Context) {
	name, err := pathName(c, "tenant")
	if err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	t, err := a.m.Store().GetTenant(c.Request.Context(), name)
	if err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	if err := httpx.Decode(c, &t); err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	if t.Name, err = bodyName("name", t.Name, name); err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	t, rev, err := a.m.UpdateTenant(c.Request.Context(), actor(c), t)
	if err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	changed(c, http.StatusOK, "tenant", t, rev)
}

func (a *API) deleteTenant(c *gin.Context) {
	name, err := pathName(c, "tenant")
	if err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	rev, err := a.m.DeleteTenant(c.Request.Context(), actor(c), name)
	if err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"deleted": name, "revision": rev.Number})
}

func (a *API) listServices(c *gin.Context) {
	p, err := page(c)
	if err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	ss, err := a.m.Store().ListServices(c.Request.Context(), p)
	if err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	list(c, ss, p.Limit, func(s router.Service) string { return s.Name })
}

// newService is a service with the defaults a create request starts from.
func newService() router.Service {
	return router.Service{Strategy: router.RoundRobin, LeaseSeconds: 30, Circuit: router.DefaultCircuitPolicy()}
}

func (a *API) createService(c *gin.Context) {
	s := newService()
	if err := httpx.Decode(c, &s); err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	s, rev, err := a.m.CreateService(c.Request.Context(), actor(c), s)
	if err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	changed(c, http.StatusCreated, "service", s, rev)
}

func (a *API) getService(c *gin.Context) {
	name, err := pathName(c, "service")
	if err == nil {
		var s router.Service
		if s, err = a.m.Store().GetService(c.Request.Context(), name); err == nil {
			c.JSON(http.StatusOK, s)
			return
		}
	}
	httpx.WriteError(c, a.log, err)
}

// updateService starts from the stored service: fields the body omits keep
// their value.
func (a *API) updateService(c *gin.Context) {
	name, err := pathName(c, "service")
	if err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	s, err := a.m.Store().GetService(c.Request.Context(), name)
	if err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	if err := httpx.Decode(c, &s); err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	if s.Name, err = bodyName("name", s.Name, name); err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	s, rev, err := a.m.UpdateService(c.Request.Context(), actor(c), s)
	if err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	changed(c, http.StatusOK, "service", s, rev)
}

func (a *API) deleteService(c *gin.Context) {
	name, err := pathName(c, "service")
	if err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	rev, err := a.m.DeleteService(c.Request.Context(), actor(c), name)
	if err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"deleted": name, "revision": rev.Number})
}
