package login

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/greyrouter/greyrouter/internal/apperr"
)

// Bounds of the access-token lifetime. Five to fifteen minutes is the
// recommended range: short enough that a stolen token is soon useless and
// that revocation lists stay small, long enough that refreshing is rare.
const (
	MinAccessTokenLifetime = time.Minute
	MaxAccessTokenLifetime = time.Hour
)

// TokenConfig configures access tokens.
type TokenConfig struct {
	Issuer   string   // the iss claim, usually the login service's base URL
	Audience []string // the aud claim: the services that accept the tokens
	Lifetime time.Duration
}

// Validate reports every problem of the configuration per field.
func (c TokenConfig) Validate() error {
	p := map[string]string{}
	if c.Issuer == "" {
		p["issuer"] = "must not be empty"
	}
	if len(c.Audience) == 0 {
		p["audience"] = "must name at least one audience"
	}
	for _, a := range c.Audience {
		if a == "" {
			p["audience"] = "must not contain empty names"
		}
	}
	if c.Lifetime < MinAccessTokenLifetime || c.Lifetime > MaxAccessTokenLifetime {
		p["lifetime"] = fmt.Sprintf("must be between %s and %s (5m-15m recommended)", MinAccessTokenLifetime, MaxAccessTokenLifetime)
	}
	return apperr.Fields("invalid access token configuration", p)
}

// Issuer signs access tokens with the key ring's current key.
type Issuer struct {
	ring *KeyRing
	cfg  TokenConfig
	now  func() time.Time
	err  error // a configuration problem, reported by every Issue
}

// NewIssuer returns an Issuer; now may be nil for time.Now. A configuration
// that fails Validate, or a lifetime longer than the ring keeps retired
// keys published (tokens would outlive their key in the JWKS), makes every
// Issue fail; check cfg.Validate at startup to fail earlier.
func NewIssuer(ring *KeyRing, cfg TokenConfig, now func() time.Time) *Issuer {
	if now == nil {
		now = time.Now
	}
	err := cfg.Validate()
	if err == nil && cfg.Lifetime > ring.MaxTokenLifetime() {
		err = apperr.New(apperr.Invalid, "access token lifetime %s exceeds the key ring's MaxTokenLifetime %s", cfg.Lifetime, ring.MaxTokenLifetime())
	}
	return &Issuer{ring: ring, cfg: cfg, now: now, err: err}
}

// Issue signs an access token for the claims. It sets iss, aud, iat, nbf,
// exp and a fresh random jti, overwriting whatever c held there, and
// returns the token with the claims as signed. The caller supplies the
// subject and the private claims.
func (i *Issuer) Issue(c AccessClaims) (string, AccessClaims, error) {
	if i.err != nil {
		return "", AccessClaims{}, i.err
	}
	if c.Subject == "" {
		return "", AccessClaims{}, apperr.New(apperr.Invalid, "access token needs a subject")
	}
	now := i.now()
	key, err := i.ring.Current(now)
	if err != nil {
		return "", AccessClaims{}, err
	}
	var method jwt.SigningMethod = jwt.SigningMethodEdDSA
	if key.Algorithm == AlgES256 {
		method = jwt.SigningMethodES256
	}
	var jti [16]byte
	_, _ = rand.Read(jti[:])
	issued := jwt.NewNumericDate(now)
	c.Issuer = i.cfg.Issuer
	c.Audience = jwt.ClaimStrings(append([]string(nil), i.cfg.Audience...))
	c.IssuedAt, c.NotBefore = issued, issued
	c.ExpiresAt = jwt.NewNumericDate(issued.Add(i.cfg.Lifetime))
	c.ID = hex.EncodeToString(jti[:])

	t := jwt.NewWithClaims(method, &c)
	t.Header["kid"] = key.ID
	t.Header["typ"] = AccessTokenType
	s, err := t.SignedString(key.Signer)
	if err != nil {
		return "", AccessClaims{}, fmt.Errorf("sign access token with key %s: %w", key.ID, err)
	}
	return s, c, nil
}
