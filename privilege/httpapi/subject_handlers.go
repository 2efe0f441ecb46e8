package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/privilege"
)

// rbacOnly is said with every answer computed from roles alone.
const rbacOnly = "computed from roles and assignments (RBAC) only: ABAC policies are not consulted, so a check may still deny (or, under permit-overrides, allow) what this says"

// engine returns the tenant's compiled policy set, at least as fresh as
// the revision token of the header or ?revision=.
func (a *API) engine(c *gin.Context) (*privilege.Engine, error) {
	tok, err := revisionToken(c, c.Query("revision"))
	if err != nil {
		return nil, err
	}
	return a.svc.Engine(c.Request.Context(), scope(c), tok)
}

// permissionsView answers "what can this subject do".
type permissionsView struct {
	Subject         string                          `json:"subject"`
	Roles           []string                        `json:"roles"`
	Permissions     []privilege.EffectivePermission `json:"permissions"`
	PolicyVersion   int64                           `json:"policy_version"`
	PlatformVersion int64                           `json:"platform_version"`
	Note            string                          `json:"note"`
}

// permissions lists the roles the subject holds now (inherited ones
// included) and every permission they give it, with the role path.
func (a *API) permissions(c *gin.Context) {
	tenant, subject := scope(c), c.Param("subject")
	if !validSubject(subject) {
		a.fail(c, invalidField("subject", subjectRule))
		return
	}
	if !mayAskAbout(principal(c), tenant, subject) {
		a.fail(c, errOnlyItself)
		return
	}
	e, err := a.engine(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	now := a.now()
	v := permissionsView{Subject: subject, Roles: []string{}, Permissions: []privilege.EffectivePermission{},
		PolicyVersion: e.Version, PlatformVersion: e.PlatformVersion, Note: rbacOnly}
	if e.RBAC != nil {
		if roles := e.RBAC.RolesOf(subject, now); roles != nil {
			v.Roles = roles
		}
		if perms := e.RBAC.EffectivePermissions(subject, now); perms != nil {
			v.Permissions = perms
		}
	}
	c.JSON(http.StatusOK, v)
}

// whoCanView answers "who can do this", a page of subjects.
type whoCanView struct {
	page[string]
	Resource        string `json:"resource"`
	Action          string `json:"action"`
	PolicyVersion   int64  `json:"policy_version"`
	PlatformVersion int64  `json:"platform_version"`
	Note            string `json:"note"`
}

// whoCan lists the subjects roles allow action on resource (a concrete
// request, not a pattern), sorted, paged by ?after= and ?limit=.
func (a *API) whoCan(c *gin.Context) {
	resource, action := c.Query("resource"), c.Query("action")
	p := map[string]string{}
	if resource == "" {
		p["resource"] = "is required"
	}
	if action == "" {
		p["action"] = "is required"
	}
	if err := apperr.Fields("invalid who-can query", p); err != nil {
		a.fail(c, err)
		return
	}
	limit, err := limitQuery(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	e, err := a.engine(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	var subjects []string
	if e.RBAC != nil {
		subjects = e.RBAC.SubjectsWith(resource, action, a.now())
	}
	c.JSON(http.StatusOK, whoCanView{
		page:     pageOf(subjects, func(s string) string { return s }, c.Query("after"), limit),
		Resource: resource, Action: action, PolicyVersion: e.Version, PlatformVersion: e.PlatformVersion, Note: rbacOnly,
	})
}
