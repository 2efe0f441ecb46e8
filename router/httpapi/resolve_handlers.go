package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/internal/httpx"
	"github.com/greyrouter/greyrouter/router"
)

type resolveRequest struct {
	Tenant     string            `json:"tenant"`
	Service    string            `json:"service"`
	Key        string            `json:"key"`
	Attributes json.RawMessage   `json:"attributes"`
	Headers    map[string]string `json:"headers"`
	Lane       string            `json:"lane"`
	Avoid      string            `json:"avoid"`
}

func (a *API) resolve(c *gin.Context) {
	var in resolveRequest
	if err := httpx.Decode(c, &in); err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	attrs, err := router.ParseAttributes(in.Attributes)
	if err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	if !mayUseTenant(c, in.Tenant) {
		httpx.WriteError(c, a.log, apperr.New(apperr.Forbidden, "not allowed to resolve for tenant %q", in.Tenant))
		return
	}
	req := router.Request{Tenant: in.Tenant, Service: in.Service, Key: in.Key, Attributes: attrs, Lane: in.Lane, Avoid: in.Avoid}
	if len(in.Headers) > 0 {
		req.Headers = make(map[string]string, len(in.Headers))
		for k, v := range in.Headers {
			req.Headers[strings.ToLower(k)] = v
		}
	}
	explain, _ := strconv.ParseBool(c.Query("explain"))
	d, err := a.m.Resolve(c.Request.Context(), req, router.DecideOptions{Explain: explain})
	if err != nil {
		// Failed requests are not labelled by service: the name is
		// unchecked input and would let callers mint label values.
		a.metrics.decisions.WithLabelValues("", "", string(apperr.CodeOf(err))).Inc()
		httpx.WriteError(c, a.log, err)
		return
	}
	a.metrics.decisions.WithLabelValues(req.Service, d.Reason, "ok").Inc()
	c.JSON(http.StatusOK, d)
}

func (a *API) report(c *gin.Context) {
	var o router.Outcome
	if err := httpx.Decode(c, &o); err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	r, err := a.m.Report(c.Request.Context(), o)
	if err != nil {
		httpx.WriteError(c, a.log, err)
		return
	}
	c.JSON(http.StatusOK, r)
}
