package httpapi

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/login"
	"github.com/greyrouter/greyrouter/router"
)

// The user and client handlers serve both scopes: routes under
// /tenants/:tenant manage that tenant, the platform routes (which have no
// :tenant) manage platform administrators and platform clients.

// scope returns the tenant a route manages; "" is the platform.
func scope(c *gin.Context) string { return c.Param("tenant") }

// validTenant answers 400 for a :tenant that cannot name a tenant, before
// any lookup.
func (a *API) validTenant(c *gin.Context) {
	if t := c.Param("tenant"); !router.ValidName(t) {
		a.fail(c, apperr.New(apperr.Invalid, "tenant %q is not a valid name", t))
		return
	}
	c.Next()
}

// limitQuery reads ?limit= (default 100, at most 1000).
func limitQuery(c *gin.Context) (int, error) {
	s := c.Query("limit")
	if s == "" {
		return 100, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 1000 {
		return 0, &apperr.Error{Code: apperr.Invalid, Message: "limit must be an integer between 1 and 1000",
			Details: map[string]string{"limit": "must be an integer between 1 and 1000"}}
	}
	return n, nil
}

// userList is a page of users; NextAfter is the ?after= of the next page,
// empty on the last.
type userList struct {
	Users     []login.User `json:"items"`
	NextAfter string       `json:"next,omitempty"`
}

func (a *API) listUsers(c *gin.Context) {
	limit, err := limitQuery(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	// One more than asked tells whether there is a next page.
	us, err := a.svc.ListUsers(c.Request.Context(), scope(c), login.UserPage{After: c.Query("after"), Limit: limit + 1})
	if err != nil {
		a.fail(c, err)
		return
	}
	res := userList{Users: us}
	if len(us) > limit {
		res.Users = us[:limit]
		res.NextAfter = us[limit-1].Username
	}
	if res.Users == nil {
		res.Users = []login.User{}
	}
	c.JSON(http.StatusOK, res)
}

func (a *API) createUser(c *gin.Context) {
	var req newUserRequest
	if err := decode(c, &req); err != nil {
		a.fail(c, err)
		return
	}
	tenant := scope(c)
	u, err := a.svc.CreateUser(c.Request.Context(), principal(c), login.NewUser{
		Tenant: tenant, Username: req.Username, Password: req.Password,
		DisplayName: req.DisplayName, Email: req.Email, Admin: req.Admin, Platform: tenant == "",
	})
	if err != nil {
		a.fail(c, err)
		return
	}
	c.Header("Location", c.Request.URL.Path+"/"+u.ID)
	c.JSON(http.StatusCreated, u)
}

func (a *API) getUser(c *gin.Context) {
	u, err := a.svc.GetUser(c.Request.Context(), scope(c), c.Param("user"))
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, u)
}

func (a *API) patchUser(c *gin.Context) {
	var req userPatch
	if err := decode(c, &req); err != nil {
		a.fail(c, err)
		return
	}
	u, err := a.svc.UpdateUser(c.Request.Context(), principal(c), scope(c), c.Param("user"), login.UserUpdate{
		DisplayName: req.DisplayName, Email: req.Email, Status: req.Status, Admin: req.Admin,
	})
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, u)
}

// resetPassword sets a user's password without the current one; the
// user's sessions and tokens end.
func (a *API) resetPassword(c *gin.Context) {
	var req passwordReset
	if err := decode(c, &req); err != nil {
		a.fail(c, err)
		return
	}
	if err := a.svc.SetPassword(c.Request.Context(), principal(c), scope(c), c.Param("user"), "", req.Password, true); err != nil {
		a.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (a *API) userSessions(c *gin.Context) {
	ss, err := a.svc.ListSessions(c.Request.Context(), scope(c), c.Param("user"))
	if err != nil {
		a.fail(c, err)
		return
	}
	sessionList(c, ss, principal(c).SessionID)
}

func (a *API) revokeUserSession(c *gin.Context) {
	err := a.svc.RevokeSession(c.Request.Context(), principal(c), scope(c), c.Param("user"), c.Param("session"))
	if err != nil {
		a.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (a *API) userLogoutEverywhere(c *gin.Context) {
	if err := a.svc.LogoutEverywhere(c.Request.Context(), principal(c), scope(c), c.Param("user")); err != nil {
		a.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
