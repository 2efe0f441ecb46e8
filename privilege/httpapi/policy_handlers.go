package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/internal/httpx"
	"github.com/greyrouter/greyrouter/privilege"
)

// ABAC policies and the settings they are compiled with. The platform has
// neither, so these routes exist for tenants only.

// policyParam returns the route's :id after checking it may name a policy.
func policyParam(c *gin.Context) (string, error) {
	id := c.Param("id")
	if _, err := privilege.CheckPolicyFor(scope(c), privilege.Policy{ID: id}); err != nil {
		return "", invalidField("id", apperr.DetailsOf(err)["id"])
	}
	return id, nil
}

func findPolicy(s privilege.Snapshot, id string) (privilege.Policy, bool) {
	for _, p := range s.Policies {
		if p.ID == id {
			return p, true
		}
	}
	return privilege.Policy{}, false
}

func policyNotFound(tenant, id string) error {
	return apperr.New(apperr.NotFound, "policy %q not found in tenant %q", id, tenant)
}

func (a *API) listPolicies(c *gin.Context) {
	limit, err := limitQuery(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	s, err := a.snapshot(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	// Snapshot lists policies sorted by id in byte order.
	c.JSON(http.StatusOK, setPage[privilege.Policy]{
		page: pageOf(s.Policies, func(p privilege.Policy) string { return p.ID }, c.Query("after"), limit), Version: s.Version,
	})
}

func (a *API) getPolicy(c *gin.Context) {
	id, err := policyParam(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	s, err := a.snapshot(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	p, ok := findPolicy(s, id)
	if !ok {
		a.fail(c, policyNotFound(s.Tenant, id))
		return
	}
	c.JSON(http.StatusOK, gin.H{"policy": p, "version": s.Version})
}

// putPolicy creates or replaces the policy document with the body. The
// whole policy set is compiled against the tenant's attribute schema
// before anything is stored: a bad condition, an unknown attribute, an
// unreachable rule or a conflict is a 422 naming the rule.
func (a *API) putPolicy(c *gin.Context) {
	tenant := scope(c)
	id, err := policyParam(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	var p privilege.Policy
	if err := httpx.Decode(c, &p); err != nil {
		a.fail(c, err)
		return
	}
	if p.ID != "" && p.ID != id {
		a.fail(c, invalidField("id", "must equal the policy id in the path ("+id+") or be omitted"))
		return
	}
	p.ID = id
	if p, err = privilege.CheckPolicyFor(tenant, p); err != nil {
		a.fail(c, err)
		return
	}
	var stored privilege.Policy
	ctx := c.Request.Context()
	tok, err := a.svc.Write(ctx, tenant, httpx.Actor(c), "", func(tx privilege.Tx) error {
		if err := tx.PutPolicy(ctx, p); err != nil {
			return err
		}
		s, err := tx.Snapshot(ctx)
		stored, _ = findPolicy(s, id)
		return err
	})
	if err != nil {
		a.fail(c, err)
		return
	}
	written(c, "policy", stored, tok)
}

func (a *API) deletePolicy(c *gin.Context) {
	tenant := scope(c)
	id, err := policyParam(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	var gone privilege.Policy
	ctx := c.Request.Context()
	tok, err := a.svc.Write(ctx, tenant, httpx.Actor(c), "", func(tx privilege.Tx) error {
		s, err := tx.Snapshot(ctx)
		if err != nil {
			return err
		}
		var ok bool
		if gone, ok = findPolicy(s, id); !ok {
			return policyNotFound(tenant, id)
		}
		return tx.DeletePolicy(ctx, id)
	})
	if err != nil {
		a.fail(c, err)
		return
	}
	deleted(c, "policy", gone, tok)
}

// getSettings answers the tenant's settings, the defaults (deny-overrides,
// fail closed, no sampling of allowed decisions) until it stores its own.
func (a *API) getSettings(c *gin.Context) {
	s, err := a.snapshot(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"settings": s.Settings, "version": s.Version})
}

// putSettings replaces the tenant's settings. A schema or algorithm that
// the stored policies do not compile under is refused with their
// problems.
func (a *API) putSettings(c *gin.Context) {
	tenant := scope(c)
	var in privilege.Settings
	if err := httpx.Decode(c, &in); err != nil {
		a.fail(c, err)
		return
	}
	st, err := privilege.CheckSettingsFor(tenant, in)
	if err != nil {
		a.fail(c, err)
		return
	}
	var stored privilege.Settings
	ctx := c.Request.Context()
	tok, err := a.svc.Write(ctx, tenant, httpx.Actor(c), "", func(tx privilege.Tx) error {
		if err := tx.PutSettings(ctx, st); err != nil {
			return err
		}
		s, err := tx.Snapshot(ctx)
		stored = s.Settings
		return err
	})
	if err != nil {
		a.fail(c, err)
		return
	}
	written(c, "settings", stored, tok)
}
