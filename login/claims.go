package login

import (
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// AccessTokenType is the JWT "typ" header of access tokens (RFC 9068).
const AccessTokenType = "at+jwt"

// AccessClaims are the claims of an access token. Registered claims: iss,
// aud, sub (user or client id), jti, iat, nbf, exp. Private claims: tid
// (tenant, empty for platform administrators), sid (session; empty for
// machine tokens), gen (the subject's generation at issue, see
// RevokeSubject), name (username or client name), plat (platform
// administrator), adm (administrator of tid), cid (client id for machine
// tokens).
type AccessClaims struct {
	jwt.RegisteredClaims
	Tenant     string `json:"tid,omitempty"`
	SessionID  string `json:"sid,omitempty"`
	Generation int64  `json:"gen"`
	Name       string `json:"name,omitempty"`
	Platform   bool   `json:"plat,omitempty"`
	Admin      bool   `json:"adm,omitempty"`
	ClientID   string `json:"cid,omitempty"`
}

// PrincipalKind says how a principal authenticated.
type PrincipalKind string

// Kinds of principals.
const (
	PrincipalUser      PrincipalKind = "user"      // a person, by session or access token
	PrincipalClient    PrincipalKind = "client"    // a machine, by client credentials
	PrincipalBootstrap PrincipalKind = "bootstrap" // the break-glass admin token
)

// Principal is the authenticated caller of a request.
type Principal struct {
	Kind      PrincipalKind `json:"kind"`
	Subject   string        `json:"subject"` // user or client id; "bootstrap" for the break-glass token
	Tenant    string        `json:"tenant,omitempty"`
	Name      string        `json:"name,omitempty"`
	SessionID string        `json:"session_id,omitempty"`
	TokenID   string        `json:"token_id,omitempty"`
	Platform  bool          `json:"platform"`
	Admin     bool          `json:"admin"`
	// Generation is the subject's generation the credential was issued
	// under.
	Generation int64     `json:"-"`
	ExpiresAt  time.Time `json:"expires_at,omitzero"`
}

// CanAdminTenant reports whether the principal may manage tenant's users,
// clients and bindings: platform administrators may manage every tenant,
// tenant administrators only their own.
func (p Principal) CanAdminTenant(tenant string) bool {
	return p.Platform || (p.Admin && p.Tenant != "" && p.Tenant == tenant)
}

// Actor names the principal in audit trails and revisions.
func (p Principal) Actor() string {
	switch p.Kind {
	case PrincipalBootstrap:
		return "bootstrap-token"
	case PrincipalClient:
		return "client:" + p.Subject
	}
	if p.Tenant == "" {
		return "user:" + p.Name
	}
	return "user:" + p.Tenant + "/" + p.Name
}

// PrincipalFromClaims returns the principal verified claims describe.
func PrincipalFromClaims(c *AccessClaims) Principal {
	p := Principal{
		Kind: PrincipalUser, Subject: c.Subject, Tenant: c.Tenant, Name: c.Name,
		SessionID: c.SessionID, TokenID: c.ID, Platform: c.Platform, Admin: c.Admin,
		Generation: c.Generation,
	}
	if c.ClientID != "" {
		p.Kind = PrincipalClient
	}
	if c.ExpiresAt != nil {
		p.ExpiresAt = c.ExpiresAt.Time
	}
	return p
}

// registered returns the registered claims the service sets itself; the
// Issuer adds issuer, audience, times and the token id.
func registered(subject string) jwt.RegisteredClaims {
	return jwt.RegisteredClaims{Subject: subject}
}
