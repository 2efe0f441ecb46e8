package httpapi

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/internal/httpx"
	"github.com/greyrouter/greyrouter/privilege"
)

// Roles and their members (assignments). A tenant's routes read and write
// the tenant's own records; platform roles are listed there too, since
// they can be assigned in every tenant, but are changed only under
// /api/v1/privilege. Platform-wide assignments are the platform's and are
// listed only there.

// setPage is a page of a policy set's records with the set's version.
type setPage[T any] struct {
	page[T]
	Version int64 `json:"version"`
}

const roleNameRule = "must be 1-63 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit"

// roleParam returns the :name of the route after checking it names a role.
func roleParam(c *gin.Context) (string, error) {
	name := c.Param("name")
	if !privilege.ValidRoleName(name) {
		return "", invalidField("name", roleNameRule)
	}
	return name, nil
}

// snapshot reads the scope's policy set from the store, the source of
// truth, so that a read after a write always sees it.
func (a *API) snapshot(c *gin.Context) (privilege.Snapshot, error) {
	return a.svc.Store().Snapshot(c.Request.Context(), scope(c))
}

// visibleRole finds the role name in s: the scope's own, or a platform
// role.
func visibleRole(s privilege.Snapshot, name string) (privilege.Role, bool) {
	for _, r := range s.Roles {
		if r.Name == name && (r.Tenant == s.Tenant || r.Tenant == "") {
			return r, true
		}
	}
	return privilege.Role{}, false
}

func ownRole(s privilege.Snapshot, name string) (privilege.Role, bool) {
	for _, r := range s.Roles {
		if r.Name == name && r.Tenant == s.Tenant {
			return r, true
		}
	}
	return privilege.Role{}, false
}

func ownAssignment(s privilege.Snapshot, subject, role string) (privilege.Assignment, bool) {
	for _, as := range s.Assignments {
		if as.Tenant == s.Tenant && as.Subject == subject && as.Role == role {
			return as, true
		}
	}
	return privilege.Assignment{}, false
}

func roleNotFound(tenant, name string) error {
	if tenant == "" {
		return apperr.New(apperr.NotFound, "platform role %q not found", name)
	}
	return apperr.New(apperr.NotFound, "role %q not found in tenant %q", name, tenant)
}

func (a *API) listRoles(c *gin.Context) {
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
	roles := slices.Clone(s.Roles)
	slices.SortFunc(roles, func(x, y privilege.Role) int { return strings.Compare(x.Name, y.Name) })
	c.JSON(http.StatusOK, setPage[privilege.Role]{
		page: pageOf(roles, func(r privilege.Role) string { return r.Name }, c.Query("after"), limit), Version: s.Version,
	})
}

func (a *API) getRole(c *gin.Context) {
	name, err := roleParam(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	s, err := a.snapshot(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	r, ok := visibleRole(s, name)
	if !ok {
		a.fail(c, roleNotFound(s.Tenant, name))
		return
	}
	c.JSON(http.StatusOK, gin.H{"role": r, "version": s.Version})
}

// putRole creates or replaces the role with the body. Name and tenant
// default to the path's; a platform route's roles are platform roles.
func (a *API) putRole(c *gin.Context) {
	tenant := scope(c)
	name, err := roleParam(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	var r privilege.Role
	if err := httpx.Decode(c, &r); err != nil {
		a.fail(c, err)
		return
	}
	if r.Name != "" && r.Name != name {
		a.fail(c, invalidField("name", "must equal the role name in the path ("+name+") or be omitted"))
		return
	}
	r.Name = name
	if r.Tenant == "" {
		r.Tenant = tenant
	}
	if tenant == "" {
		r.Platform = true
	} else if r.Platform {
		a.fail(c, apperr.Fields("invalid role", map[string]string{"platform": "must be false: platform roles are managed under /api/v1/privilege/roles"}))
		return
	}
	if err := privilege.CheckRoleFor(tenant, r); err != nil {
		a.fail(c, err)
		return
	}
	var stored privilege.Role
	ctx := c.Request.Context()
	tok, err := a.svc.Write(ctx, tenant, httpx.Actor(c), "", func(tx privilege.Tx) error {
		if err := tx.PutRole(ctx, r); err != nil {
			return err
		}
		s, err := tx.Snapshot(ctx)
		stored, _ = ownRole(s, name)
		return err
	})
	if err != nil {
		a.fail(c, err)
		return
	}
	written(c, "role", stored, tok)
}

// deleteRole deletes the scope's role; one still inherited or assigned
// is refused (422) with every record that names it.
func (a *API) deleteRole(c *gin.Context) {
	tenant := scope(c)
	name, err := roleParam(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	var gone privilege.Role
	ctx := c.Request.Context()
	tok, err := a.svc.Write(ctx, tenant, httpx.Actor(c), "", func(tx privilege.Tx) error {
		s, err := tx.Snapshot(ctx)
		if err != nil {
			return err
		}
		var ok bool
		if gone, ok = ownRole(s, name); !ok {
			return roleNotFound(tenant, name)
		}
		return tx.DeleteRole(ctx, name)
	})
	if err != nil {
		a.fail(c, err)
		return
	}
	deleted(c, "role", gone, tok)
}

// listMembers lists the scope's assignments of the role by subject.
func (a *API) listMembers(c *gin.Context) {
	name, err := roleParam(c)
	if err != nil {
		a.fail(c, err)
		return
	}
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
	if _, ok := visibleRole(s, name); !ok {
		a.fail(c, roleNotFound(s.Tenant, name))
		return
	}
	var members []privilege.Assignment
	for _, as := range s.Assignments {
		if as.Tenant == s.Tenant && as.Role == name {
			members = append(members, as)
		}
	}
	slices.SortFunc(members, func(x, y privilege.Assignment) int { return strings.Compare(x.Subject, y.Subject) })
	c.JSON(http.StatusOK, setPage[privilege.Assignment]{
		page: pageOf(members, func(as privilege.Assignment) string { return as.Subject }, c.Query("after"), limit), Version: s.Version,
	})
}

// memberRequest is the optional body of putMember.
type memberRequest struct {
	// ExpiresAt is an RFC 3339 time; empty means never.
	ExpiresAt string `json:"expires_at,omitempty"`
}

// expiry parses ExpiresAt, which must be in the future.
func (r memberRequest) expiry(now time.Time) (time.Time, error) {
	if r.ExpiresAt == "" {
		return time.Time{}, nil
	}
	at, err := time.Parse(time.RFC3339Nano, r.ExpiresAt)
	if err != nil {
		return at, invalidField("expires_at", "must be an RFC 3339 time, e.g. 2026-01-02T15:04:05Z")
	}
	if !at.After(now) {
		return at, apperr.Fields("invalid assignment", map[string]string{"expires_at": "must be in the future, or omitted for no expiry"})
	}
	return at, nil
}

// putMember assigns the role to the subject, until expires_at when given.
func (a *API) putMember(c *gin.Context) {
	tenant := scope(c)
	name, err := roleParam(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	subject := c.Param("subject")
	if !validSubject(subject) {
		a.fail(c, invalidField("subject", subjectRule))
		return
	}
	var in memberRequest
	if c.Request.ContentLength != 0 {
		if err := httpx.Decode(c, &in); err != nil {
			a.fail(c, err)
			return
		}
	}
	expires, err := in.expiry(a.now())
	if err != nil {
		a.fail(c, err)
		return
	}
	as := privilege.Assignment{Tenant: tenant, Subject: subject, Role: name, ExpiresAt: expires}
	if err := privilege.CheckAssignmentFor(tenant, as); err != nil {
		a.fail(c, err)
		return
	}
	var stored privilege.Assignment
	ctx := c.Request.Context()
	tok, err := a.svc.Write(ctx, tenant, httpx.Actor(c), "", func(tx privilege.Tx) error {
		if err := tx.PutAssignment(ctx, as); err != nil {
			return err
		}
		s, err := tx.Snapshot(ctx)
		stored, _ = ownAssignment(s, subject, name)
		return err
	})
	if err != nil {
		a.fail(c, err)
		return
	}
	written(c, "assignment", stored, tok)
}

func (a *API) deleteMember(c *gin.Context) {
	tenant := scope(c)
	name, err := roleParam(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	subject := c.Param("subject")
	if !validSubject(subject) {
		a.fail(c, invalidField("subject", subjectRule))
		return
	}
	var gone privilege.Assignment
	ctx := c.Request.Context()
	tok, err := a.svc.Write(ctx, tenant, httpx.Actor(c), "", func(tx privilege.Tx) error {
		s, err := tx.Snapshot(ctx)
		if err != nil {
			return err
		}
		var ok bool
		if gone, ok = ownAssignment(s, subject, name); !ok {
			return apperr.New(apperr.NotFound, "subject %q does not hold role %q here", subject, name)
		}
		return tx.DeleteAssignment(ctx, subject, name)
	})
	if err != nil {
		a.fail(c, err)
		return
	}
	deleted(c, "assignment", gone, tok)
}

// listAssignments lists the tenant's assignments, of one subject with
// ?subject=, ordered and paged by "role:subject".
func (a *API) listAssignments(c *gin.Context) {
	limit, err := limitQuery(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	subject := c.Query("subject")
	s, err := a.snapshot(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	var out []privilege.Assignment
	for _, as := range s.Assignments {
		if as.Tenant == s.Tenant && (subject == "" || as.Subject == subject) {
			out = append(out, as)
		}
	}
	key := func(as privilege.Assignment) string { return privilege.AssignmentKey(as.Subject, as.Role) }
	slices.SortFunc(out, func(x, y privilege.Assignment) int { return strings.Compare(key(x), key(y)) })
	c.JSON(http.StatusOK, setPage[privilege.Assignment]{page: pageOf(out, key, c.Query("after"), limit), Version: s.Version})
}
