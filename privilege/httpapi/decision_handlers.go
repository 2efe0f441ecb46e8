package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/greyrouter/greyrouter/privilege"
)

// decisionQuery reads the audit filters of the query string:
// ?subject= &resource= &action= &allowed=true|false &since= &until=
// (RFC 3339) &before= (a decision id, the next of the previous page)
// &limit=.
func decisionQuery(c *gin.Context) (privilege.DecisionQuery, error) {
	q := privilege.DecisionQuery{Tenant: scope(c), Subject: c.Query("subject"), Resource: c.Query("resource"),
		Action: c.Query("action"), Before: c.Query("before")}
	var err error
	if q.Limit, err = limitQuery(c); err != nil {
		return q, err
	}
	if s := c.Query("allowed"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return q, invalidField("allowed", "must be true or false")
		}
		q.Allowed = &b
	}
	for _, f := range []struct {
		name string
		to   *time.Time
	}{{"since", &q.Since}, {"until", &q.Until}} {
		if s := c.Query(f.name); s != "" {
			if *f.to, err = time.Parse(time.RFC3339Nano, s); err != nil {
				return q, invalidField(f.name, "must be an RFC 3339 time, e.g. 2026-01-02T15:04:05Z")
			}
		}
	}
	return q, q.Validate()
}

// listDecisions lists the tenant's audited decisions newest first: every
// deny and fail-open, and the share of allowed decisions the tenant's
// audit_sample_rate asks for. Records reach the audit asynchronously, a
// moment after the check.
func (a *API) listDecisions(c *gin.Context) {
	q, err := decisionQuery(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	recs, err := a.svc.Decisions(c.Request.Context(), q)
	if err != nil {
		a.fail(c, err)
		return
	}
	out := page[privilege.DecisionRecord]{Items: recs}
	if out.Items == nil {
		out.Items = []privilege.DecisionRecord{}
	}
	if len(recs) == q.PageSize() {
		out.Next = recs[len(recs)-1].ID
	}
	c.JSON(http.StatusOK, out)
}
