package httpapi

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/internal/httpx"
	"github.com/greyrouter/greyrouter/router"
)

func revisionParam(c *gin.Context) (int64, error) {
	n, err := strconv.ParseInt(c.Param("revision"), 10, 64)
	if err != nil || n < 1 {
		return 0, apperr.New(apperr.Invalid, "revision must be a positive integer")
	}
	return n, nil
}

// listRevisions pages newest first: ?before=N&limit=L.
func (a *API) listRevisions(c *gin.Context) {
	p, err := page(c)
	if err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	var before int64
	if s := c.Query("before"); s != "" {
		if before, err = strconv.ParseInt(s, 10, 64); err != nil || before < 1 {
			httpx.WriteError(c, a.log, apperr.New(apperr.Invalid, "before must be a positive integer"))
			return
		}
	}
	rs, err := a.m.Store().ListRevisions(c.Request.Context(), before, p.Limit)
	if err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	list(c, rs, p.Limit, func(r router.Revision) string { return strconv.FormatInt(r.Number, 10) })
}

func (a *API) getRevision(c *gin.Context) {
	n, err := revisionParam(c)
	if err == nil {
		var r router.Revision
		if r, err = a.m.Store().GetRevision(c.Request.Context(), n); err == nil {
			c.JSON(http.StatusOK, r)
			return
		}
	}
	httpx.WriteError(c, a.log, err)
}

func (a *API) rollback(c *gin.Context) {
	n, err := revisionParam(c)
	if err == nil {
		var r router.Revision
		if r, err = a.m.Rollback(c.Request.Context(), actor(c), n); err == nil {
			c.JSON(http.StatusOK, r)
			return
		}
	}
	httpx.WriteError(c, a.log, err)
}
