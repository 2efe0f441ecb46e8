package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/greyrouter/greyrouter/login"
)

// login checks a password and starts a session. API clients get an access
// and a refresh token; the web UI (session_cookie true) gets the session
// cookie and the CSRF token instead, and only from its own origin, so that
// another site cannot log a browser into an attacker's account.
func (a *API) login(c *gin.Context) {
	var req loginRequest
	if err := decode(c, &req); err != nil {
		a.fail(c, err)
		return
	}
	if req.SessionCookie {
		if err := sameOrigin(c.Request); err != nil {
			a.fail(c, err)
			return
		}
	}
	g, err := a.svc.Login(c.Request.Context(), login.Attempt{
		Tenant: req.Tenant, Username: req.Username, Password: req.Password,
		IP: clientIP(c), UserAgent: c.Request.UserAgent(),
	})
	if err != nil {
		a.fail(c, err)
		return
	}
	noStore(c)
	if req.SessionCookie {
		a.setCookie(c, g.SessionCredential, g.Session.ExpiresAt)
		c.JSON(http.StatusOK, cookieLogin{CSRFToken: g.CSRFToken, Session: g.Session})
		return
	}
	c.JSON(http.StatusOK, g)
}

// cookieLogin is the answer to a login with session_cookie: no token in a
// body that scripts can read, only the CSRF token they must echo.
type cookieLogin struct {
	CSRFToken string        `json:"csrf_token"`
	Session   login.Session `json:"session"`
}

// meResponse describes the caller; CSRFToken and Session are set for
// cookie sessions, whose pages need the token after a reload.
type meResponse struct {
	Principal login.Principal `json:"principal"`
	CSRFToken string          `json:"csrf_token,omitempty"`
	Session   *login.Session  `json:"session,omitempty"`
}

func (a *API) me(c *gin.Context) {
	res := meResponse{Principal: principal(c)}
	if s, ok := cookieSession(c); ok {
		res.CSRFToken, res.Session = s.CSRFToken, &s
	}
	noStore(c)
	c.JSON(http.StatusOK, res)
}

// logout ends the caller's session and every token issued in it, and
// drops the cookie.
func (a *API) logout(c *gin.Context) {
	a.clearCookie(c)
	if err := a.svc.Logout(c.Request.Context(), principal(c), meta(c)); err != nil {
		a.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// sessionView is a session in a listing; Current marks the caller's own.
type sessionView struct {
	login.Session
	Current bool `json:"current"`
}

func sessionList(c *gin.Context, ss []login.Session, current string) {
	out := make([]sessionView, len(ss))
	for i, s := range ss {
		out[i] = sessionView{Session: s, Current: current != "" && s.ID == current}
	}
	c.JSON(http.StatusOK, gin.H{"items": out})
}

func (a *API) mySessions(c *gin.Context) {
	p := principal(c)
	ss, err := a.svc.ListSessions(c.Request.Context(), p.Tenant, p.Subject)
	if err != nil {
		a.fail(c, err)
		return
	}
	sessionList(c, ss, p.SessionID)
}

func (a *API) revokeMySession(c *gin.Context) {
	p, sid := principal(c), c.Param("session")
	if err := a.svc.RevokeSession(c.Request.Context(), p, p.Tenant, p.Subject, sid); err != nil {
		a.fail(c, err)
		return
	}
	if sid == p.SessionID {
		a.clearCookie(c)
	}
	c.Status(http.StatusNoContent)
}

func (a *API) myLogoutEverywhere(c *gin.Context) {
	p := principal(c)
	if err := a.svc.LogoutEverywhere(c.Request.Context(), p, p.Tenant, p.Subject); err != nil {
		a.fail(c, err)
		return
	}
	a.clearCookie(c)
	c.Status(http.StatusNoContent)
}

// changePassword sets the caller's password. Like every password change it
// ends all of the user's sessions, this one included: the caller logs in
// again with the new password.
func (a *API) changePassword(c *gin.Context) {
	var req passwordChange
	if err := decode(c, &req); err != nil {
		a.fail(c, err)
		return
	}
	p := principal(c)
	if err := a.svc.SetPassword(c.Request.Context(), p, p.Tenant, p.Subject, req.CurrentPassword, req.NewPassword, false); err != nil {
		a.fail(c, err)
		return
	}
	a.clearCookie(c)
	c.Status(http.StatusNoContent)
}
