package httpapi

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/greyrouter/greyrouter/internal/httpx"
	"github.com/greyrouter/greyrouter/privilege"
)

// History: every write is a revision of the scope's policy set (its
// version, who, when, and each record's before and after); a revision
// can be undone as a new revision.

// versionParam returns the route's :version.
func versionParam(c *gin.Context) (int64, error) {
	n, err := strconv.ParseInt(c.Param("version"), 10, 64)
	if err != nil || n < 1 {
		return 0, invalidField("version", "must be a positive integer")
	}
	return n, nil
}

// listRevisions pages newest first: ?before=N&limit=L; next is the
// version of the page's last (oldest) revision, to pass as before.
func (a *API) listRevisions(c *gin.Context) {
	limit, err := limitQuery(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	var before int64
	if s := c.Query("before"); s != "" {
		if before, err = strconv.ParseInt(s, 10, 64); err != nil || before < 1 {
			a.fail(c, invalidField("before", "must be a positive integer"))
			return
		}
	}
	revs, err := a.svc.Store().ListRevisions(c.Request.Context(), scope(c), before, limit)
	if err != nil {
		a.fail(c, err)
		return
	}
	out := page[privilege.PolicyRevision]{Items: revs}
	if out.Items == nil {
		out.Items = []privilege.PolicyRevision{}
	}
	if len(revs) == limit {
		out.Next = strconv.FormatInt(revs[len(revs)-1].Version, 10)
	}
	c.JSON(http.StatusOK, out)
}

func (a *API) getRevision(c *gin.Context) {
	n, err := versionParam(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	rev, err := a.svc.Store().GetRevision(c.Request.Context(), scope(c), n)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, rev)
}

// rollback undoes revision N as a new revision. Every record N touched
// must still be as N left it (else 409 naming each), and the policy set
// after the undo must compile (else 422): nothing is changed otherwise.
// It answers the new revision.
func (a *API) rollback(c *gin.Context) {
	tenant := scope(c)
	n, err := versionParam(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	// Revisions never change, so it is read before the transaction (on
	// SQLite the transaction holds the only connection).
	rev, err := a.svc.Store().GetRevision(ctx, tenant, n)
	if err != nil {
		a.fail(c, err)
		return
	}
	actor := httpx.Actor(c)
	tok, err := a.svc.Write(ctx, tenant, actor, fmt.Sprintf("roll back revision %d", n), func(tx privilege.Tx) error {
		return privilege.Rollback(ctx, tx, rev, actor)
	})
	if err != nil {
		a.fail(c, err)
		return
	}
	done, err := a.svc.Store().GetRevision(ctx, tenant, tok.Version)
	if err != nil {
		a.fail(c, err)
		return
	}
	written(c, "policy_revision", done, tok)
}
