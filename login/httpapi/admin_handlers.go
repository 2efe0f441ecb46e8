package httpapi

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/greyrouter/greyrouter/login"
)

// keyInfo is the public description of a signing key; private material,
// even sealed, never leaves the server.
type keyInfo struct {
	ID          string    `json:"kid"`
	Algorithm   string    `json:"alg"`
	Status      string    `json:"status"` // pending, active or retired
	CreatedAt   time.Time `json:"created_at,omitzero"`
	ActivatesAt time.Time `json:"activates_at,omitzero"`
	RetiresAt   time.Time `json:"retires_at,omitzero"`
}

func newKeyInfo(id, alg string, activates, retires, now time.Time) keyInfo {
	k := keyInfo{ID: id, Algorithm: alg, Status: "active", ActivatesAt: activates, RetiresAt: retires}
	switch {
	case activates.After(now):
		k.Status = "pending"
	case !retires.IsZero() && !retires.After(now):
		k.Status = "retired"
	}
	return k
}

// listKeys lists the published keys: pending, active, and retired ones
// whose tokens may still be valid.
func (a *API) listKeys(c *gin.Context) {
	now := a.now()
	pub := a.keys.Published(now)
	out := make([]keyInfo, len(pub))
	for i, k := range pub {
		out[i] = newKeyInfo(k.ID, k.Algorithm, k.ActivatesAt, k.RetiresAt, now)
		out[i].CreatedAt = k.CreatedAt
	}
	c.JSON(http.StatusOK, gin.H{"items": out})
}

// rotateKeys creates a successor key that is published now and signs
// after the overlap. Two replicas rotating at once is a 409 for one.
func (a *API) rotateKeys(c *gin.Context) {
	k, err := a.keys.Rotate(c.Request.Context())
	if err != nil {
		a.fail(c, err)
		return
	}
	now := a.now()
	if a.svc.Audit != nil {
		a.svc.Audit.Record(c.Request.Context(), login.AuditEvent{Kind: "signing_key_rotated", Reason: "kid:" + k.ID,
			Actor: principal(c).Actor(), IP: meta(c).IP, UserAgent: c.Request.UserAgent(), At: now.UTC()})
	}
	c.JSON(http.StatusCreated, gin.H{"key": newKeyInfo(k.ID, k.Algorithm, k.ActivatesAt, k.RetiresAt, now)})
}

// auditList is a page of audit events, newest first; NextBefore is the
// ?before= of the next page, empty on the last.
type auditList struct {
	Events     []login.AuditEvent `json:"items"`
	NextBefore string             `json:"next,omitempty"`
}

// tenantAudit lists the audit trail of the route's tenant.
func (a *API) tenantAudit(c *gin.Context) {
	a.listAudit(c, login.AuditQuery{Tenant: scope(c)})
}

// platformAudit lists the audit trail of every tenant, or of ?tenant=.
func (a *API) platformAudit(c *gin.Context) {
	t := c.Query("tenant")
	a.listAudit(c, login.AuditQuery{Tenant: t, AllTenants: t == ""})
}

func (a *API) listAudit(c *gin.Context, q login.AuditQuery) {
	limit, err := limitQuery(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	q.UserID, q.Kind, q.Before, q.Limit = c.Query("user"), c.Query("kind"), c.Query("before"), limit
	es, err := a.audit.ListAuditEvents(c.Request.Context(), q)
	if err != nil {
		a.fail(c, err)
		return
	}
	res := auditList{Events: es}
	if len(es) == limit {
		res.NextBefore = es[len(es)-1].ID
	}
	if res.Events == nil {
		res.Events = []login.AuditEvent{}
	}
	c.JSON(http.StatusOK, res)
}
