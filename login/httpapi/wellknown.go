package httpapi

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// jwks serves the published verification keys. Verifiers refetch on an
// unknown kid, and new keys are published an overlap before they sign,
// so a minute of caching is safe.
func (a *API) jwks(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=60")
	c.JSON(http.StatusOK, a.keys.JWKS(a.now()))
}

// serverMetadata is the authorization-server metadata (RFC 8414).
type serverMetadata struct {
	Issuer                     string   `json:"issuer"`
	TokenEndpoint              string   `json:"token_endpoint"`
	RevocationEndpoint         string   `json:"revocation_endpoint"`
	IntrospectionEndpoint      string   `json:"introspection_endpoint"`
	JWKSURI                    string   `json:"jwks_uri"`
	ResponseTypesSupported     []string `json:"response_types_supported"`
	GrantTypesSupported        []string `json:"grant_types_supported"`
	TokenEndpointAuthMethods   []string `json:"token_endpoint_auth_methods_supported"`
	RevocationEndpointAuth     []string `json:"revocation_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuth  []string `json:"introspection_endpoint_auth_methods_supported"`
	SigningAlgValuesSupported  []string `json:"token_endpoint_auth_signing_alg_values_supported,omitempty"`
	AccessTokenSigningAlgValue []string `json:"access_token_signing_alg_values_supported,omitempty"`
}

func (a *API) metadata(c *gin.Context) {
	base := a.baseURL(c)
	algs := map[string]bool{}
	var signing []string
	for _, k := range a.keys.Published(a.now()) {
		if !algs[k.Algorithm] {
			algs[k.Algorithm] = true
			signing = append(signing, k.Algorithm)
		}
	}
	if a.publicURL != "" {
		// Built from configuration, not from the request: safe to cache.
		c.Header("Cache-Control", "public, max-age=300")
	}
	c.JSON(http.StatusOK, serverMetadata{
		Issuer:                     a.issuer,
		TokenEndpoint:              base + "/api/v1/token",
		RevocationEndpoint:         base + "/api/v1/revoke",
		IntrospectionEndpoint:      base + "/api/v1/introspect",
		JWKSURI:                    base + "/.well-known/jwks.json",
		ResponseTypesSupported:     []string{}, // no authorization endpoint
		GrantTypesSupported:        []string{grantRefresh, grantClient},
		TokenEndpointAuthMethods:   []string{"client_secret_basic", "client_secret_post"},
		RevocationEndpointAuth:     []string{"none"},
		IntrospectionEndpointAuth:  []string{"bearer"},
		AccessTokenSigningAlgValue: signing,
	})
}

// baseURL is PublicURL, or the request's scheme and Host. Behind a proxy
// that terminates TLS, set PublicURL: the request alone says http.
func (a *API) baseURL(c *gin.Context) string {
	if a.publicURL != "" {
		return strings.TrimRight(a.publicURL, "/")
	}
	scheme := "http"
	if c.Request.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + c.Request.Host
}
