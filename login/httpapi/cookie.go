package httpapi

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// setCookie sets the session cookie, hardened: __Host- name, Secure,
// HttpOnly (scripts cannot read it), SameSite=Lax (not sent on cross-site
// subrequests and form posts), Path=/, no Domain, and a lifetime that ends
// with the session's absolute expiry.
func (a *API) setCookie(c *gin.Context, value string, expires time.Time) {
	maxAge := int(expires.Sub(a.now()).Seconds())
	if maxAge < 1 {
		maxAge = -1
	}
	http.SetCookie(c.Writer, &http.Cookie{
		Name: a.cookie, Value: value, Path: "/", MaxAge: maxAge,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
}

// clearCookie tells the browser to drop the session cookie.
func (a *API) clearCookie(c *gin.Context) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name: a.cookie, Value: "", Path: "/", MaxAge: -1,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
}
