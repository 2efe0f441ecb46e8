package httpapi

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/login"
)

// The grant types of the token endpoint.
const (
	grantRefresh = "refresh_token"
	grantClient  = "client_credentials"
)

var (
	errUnsupportedGrant = &apperr.Error{Code: apperr.Invalid,
		Message: "unsupported_grant_type: grant_type must be refresh_token or client_credentials",
		Details: map[string]string{"grant_type": "unsupported"}}
	errNotIntrospector = apperr.New(apperr.Forbidden, "introspection is for machine clients and administrators")
)

// token is the OAuth 2 token endpoint (RFC 6749): refresh token rotation
// and the client credentials grant.
func (a *API) token(c *gin.Context) {
	noStore(c)
	var req tokenRequest
	if err := decodeOAuth(c, &req); err != nil {
		a.fail(c, err)
		return
	}
	var g login.Grant
	var err error
	switch req.GrantType {
	case grantRefresh:
		g, err = a.svc.Refresh(c.Request.Context(), req.RefreshToken, meta(c))
	case grantClient:
		var id, secret string
		if id, secret, err = clientCredentials(c.Request, req); err == nil {
			g, err = a.svc.ClientToken(c.Request.Context(), id, secret, meta(c))
		}
		if _, _, basic := c.Request.BasicAuth(); basic && apperr.Is(err, apperr.Unauthenticated) {
			c.Header("WWW-Authenticate", `Basic realm="greyrouter"`) // RFC 6749 section 5.2
		}
	default:
		err = errUnsupportedGrant
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, g)
}

// clientCredentials returns the client id and secret from HTTP Basic
// authentication (form-encoded first, RFC 6749 section 2.3.1) or from the
// body; using both is an error.
func clientCredentials(r *http.Request, req tokenRequest) (id, secret string, err error) {
	user, pass, basic := r.BasicAuth()
	if basic {
		if req.ClientID != "" || req.ClientSecret != "" {
			return "", "", apperr.New(apperr.Invalid, "send the client credentials either with HTTP Basic authentication or in the body, not both")
		}
		id, err1 := url.QueryUnescape(user)
		secret, err2 := url.QueryUnescape(pass)
		if err1 != nil || err2 != nil {
			return "", "", apperr.New(apperr.Invalid, "malformed HTTP Basic client credentials")
		}
		req.ClientID, req.ClientSecret = id, secret
	}
	p := map[string]string{}
	required(p, "client_id", req.ClientID)
	required(p, "client_secret", req.ClientSecret)
	if err := apperr.Fields("invalid request", p); err != nil {
		return "", "", err
	}
	return strings.TrimSpace(req.ClientID), req.ClientSecret, nil
}

// revoke is the RFC 7009 revocation endpoint: whoever holds a token may
// end it. Unknown and invalid tokens get the same 200 as valid ones.
func (a *API) revoke(c *gin.Context) {
	var req tokenRef
	if err := decodeOAuth(c, &req); err != nil {
		a.fail(c, err)
		return
	}
	if err := a.svc.RevokeToken(c.Request.Context(), req.Token, meta(c)); err != nil {
		a.fail(c, err)
		return
	}
	ok(c)
}

// introspect is the RFC 7662 introspection endpoint, for resource servers
// (machine clients) and administrators; the service answers inactive for
// tokens of a tenant the caller does not belong to.
func (a *API) introspect(c *gin.Context) {
	p := principal(c)
	if p.Kind != login.PrincipalClient && !p.Admin && !p.Platform {
		a.fail(c, errNotIntrospector)
		return
	}
	var req tokenRef
	if err := decodeOAuth(c, &req); err != nil {
		a.fail(c, err)
		return
	}
	noStore(c)
	c.JSON(http.StatusOK, a.svc.Introspect(c.Request.Context(), p, req.Token))
}
