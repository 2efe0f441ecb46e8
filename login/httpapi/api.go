package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/internal/httpx"
	"github.com/greyrouter/greyrouter/login"
)

// DefaultCookieName is the session cookie's name. The __Host- prefix makes
// browsers accept it only when it is Secure, has Path=/ and no Domain, so
// a sibling subdomain cannot plant or shadow it.
const DefaultCookieName = "__Host-greyrouter_session"

// KeyView is what the API needs of the signing keys; *login.KeyRing has
// it.
type KeyView interface {
	// JWKS returns the key set verifiers need at now.
	JWKS(now time.Time) login.JWKSet
	// Published returns the public keys published at now, oldest first.
	Published(now time.Time) []login.PublicKey
	// Rotate creates a successor of the newest key.
	Rotate(ctx context.Context) (login.StoredKey, error)
}

var _ KeyView = (*login.KeyRing)(nil)

// Config holds what New needs. Service, Keys and Audit are required.
type Config struct {
	Service *login.Service
	Keys    KeyView
	Audit   login.AuditStore
	// BootstrapToken is the break-glass platform credential; empty
	// disables it.
	BootstrapToken string
	// Issuer is the issuer named in the authorization-server metadata; it
	// must equal the iss claim of the access tokens.
	Issuer string
	// PublicURL, when set (e.g. "https://login.example.com"), is the base
	// of the endpoint URLs in the metadata document; otherwise they are
	// built from the request's scheme and Host.
	PublicURL string
	Log       *slog.Logger
	Now       func() time.Time
	// CookieName defaults to DefaultCookieName.
	CookieName string
}

// API serves the login service; register it with Routes.
type API struct {
	svc       *login.Service
	keys      KeyView
	audit     login.AuditStore
	bootstrap [32]byte // SHA-256 of the bootstrap token
	hasBoot   bool
	issuer    string
	publicURL string
	log       *slog.Logger
	now       func() time.Time
	cookie    string
}

// New returns an API.
func New(cfg Config) *API {
	a := &API{
		svc: cfg.Service, keys: cfg.Keys, audit: cfg.Audit, issuer: cfg.Issuer, publicURL: cfg.PublicURL,
		log: cfg.Log, now: cfg.Now, cookie: cfg.CookieName,
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.cookie == "" {
		a.cookie = DefaultCookieName
	}
	if cfg.BootstrapToken != "" {
		a.bootstrap, a.hasBoot = sha256Sum(cfg.BootstrapToken), true
	}
	return a
}

// fail writes err in the one JSON error shape.
func (a *API) fail(c *gin.Context, err error) { httpx.WriteError(c, a.log, err) }

// meta describes the request's client for the audit trail.
func meta(c *gin.Context) login.RequestMeta {
	ip := ""
	if addr := clientIP(c); addr.IsValid() {
		ip = addr.String()
	}
	return login.RequestMeta{IP: ip, UserAgent: c.Request.UserAgent()}
}

// clientIP is the client address as gin's trusted-proxy settings see it;
// the zero Addr when it does not parse.
func clientIP(c *gin.Context) netip.Addr {
	addr, err := netip.ParseAddr(c.ClientIP())
	if err != nil {
		return netip.Addr{}
	}
	return addr.Unmap()
}

// principal returns the authenticated principal; Authenticate runs first
// on every route that calls it.
func principal(c *gin.Context) login.Principal {
	p, _ := httpx.PrincipalOf(c)
	return p
}

// noStore marks a response that carries credentials as uncacheable
// (RFC 6749 section 5.1).
func noStore(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.Header("Pragma", "no-cache")
}

// errNoSession answers self-service routes called by a principal that is
// not a user (a machine client or the bootstrap token).
var errNoSession = apperr.New(apperr.Forbidden, "only users have sessions and passwords")

// requireUser admits user principals only.
func requireUser() gin.HandlerFunc {
	return func(c *gin.Context) {
		if principal(c).Kind != login.PrincipalUser {
			httpx.WriteError(c, nil, errNoSession)
			return
		}
		c.Next()
	}
}

// ok writes an empty JSON object, for actions with nothing to report.
func ok(c *gin.Context) { c.JSON(http.StatusOK, gin.H{}) }
