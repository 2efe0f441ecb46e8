package verify

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/login"
)

// Cheap bounds checked before any decoding: our tokens are well under a
// kilobyte, their header under a hundred bytes.
const (
	MaxTokenBytes  = 8 << 10
	MaxHeaderBytes = 1 << 10
)

// Config configures a Verifier.
type Config struct {
	Issuer   string // the required iss
	Audience string // this service's name, required in aud
	// Algorithms accepted; default EdDSA and ES256, the only ones allowed
	// (never none, never an HMAC: a public key is no secret).
	Algorithms  []string
	Keys        KeySource
	Revocations *Revocations
	// CacheSize bounds the verified-token cache; default 100,000,
	// negative disables it.
	CacheSize int
	// Leeway absorbs clock skew on exp, nbf and iat; default 30 seconds,
	// at most ExpiryGrace.
	Leeway time.Duration
	// MaxStaleness is how old the revocation state may grow (see
	// Revocations.Synced) before tokens are refused with ErrStale; 0 never
	// refuses. Set it well above Follow's poll interval.
	MaxStaleness time.Duration
	// FailOpenWhenStale accepts tokens even when the revocation state is
	// stale: availability over prompt revocation.
	FailOpenWhenStale bool
	Now               func() time.Time
}

// Verifier checks access tokens. It is safe for concurrent use.
type Verifier struct {
	cfg     Config
	allowed []string
	parser  *jwt.Parser
	cache   *tokenCache // nil when disabled
}

// New checks the configuration and returns a Verifier.
func New(cfg Config) (*Verifier, error) {
	p := map[string]string{}
	if cfg.Issuer == "" {
		p["issuer"] = "must not be empty"
	}
	if cfg.Audience == "" {
		p["audience"] = "must not be empty"
	}
	if cfg.Keys == nil {
		p["keys"] = "must be set"
	}
	if cfg.Revocations == nil {
		p["revocations"] = "must be set"
	}
	allowed := slices.Clone(cfg.Algorithms)
	if len(allowed) == 0 {
		allowed = []string{login.AlgEdDSA, login.AlgES256}
	}
	for _, a := range allowed {
		if a != login.AlgEdDSA && a != login.AlgES256 {
			p["algorithms"] = "may hold only " + login.AlgEdDSA + " and " + login.AlgES256
		}
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = 30 * time.Second
	}
	if cfg.Leeway < 0 || cfg.Leeway > ExpiryGrace {
		p["leeway"] = "must be between 0 and " + ExpiryGrace.String()
	}
	if cfg.MaxStaleness < 0 {
		p["max_staleness"] = "must not be negative"
	}
	if err := apperr.Fields("invalid verifier configuration", p); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = 100_000
	}
	v := &Verifier{cfg: cfg, allowed: allowed}
	v.parser = jwt.NewParser(
		jwt.WithValidMethods(allowed),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithStrictDecoding(),
		jwt.WithTimeFunc(cfg.Now),
	)
	if cfg.CacheSize > 0 {
		v.cache = newTokenCache(cfg.CacheSize)
	}
	return v, nil
}

// Verify returns the principal of a valid access token, or one of the
// Err* values of this package.
func (v *Verifier) Verify(ctx context.Context, token string) (login.Principal, error) {
	if !wellFormed(token) {
		return login.Principal{}, ErrMalformed
	}
	now := v.cfg.Now()
	if v.cfg.MaxStaleness > 0 && !v.cfg.FailOpenWhenStale && v.cfg.Revocations.Staleness(now) > v.cfg.MaxStaleness {
		return login.Principal{}, ErrStale
	}
	if v.cache != nil {
		if e, ok := v.cache.get(token); ok {
			if !now.Before(e.until) {
				v.cache.remove(token)
				return login.Principal{}, ErrExpired
			}
			if _, revoked := v.cfg.Revocations.Revoked(e.claims, now); revoked {
				return login.Principal{}, ErrRevoked
			}
			return e.principal, nil
		}
	}

	claims := &login.AccessClaims{}
	parsed, err := v.parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) { return v.key(ctx, t) })
	if err != nil {
		return login.Principal{}, v.mapError(parsed, err)
	}
	if claims.Subject == "" || claims.ID == "" || claims.IssuedAt == nil {
		return login.Principal{}, ErrMissingClaim
	}
	if _, revoked := v.cfg.Revocations.Revoked(claims, now); revoked {
		return login.Principal{}, ErrRevoked
	}
	p := login.PrincipalFromClaims(claims)
	if v.cache != nil {
		// Clone: the caller's string may share memory with a whole request.
		v.cache.add(strings.Clone(token), &cacheEntry{claims: claims, principal: p, until: claims.ExpiresAt.Add(v.cfg.Leeway)})
	}
	return p, nil
}

// wellFormed is the check before any decoding: a bounded size, exactly
// three segments, and a header of bounded size. Opaque session and
// refresh credentials (four segments) fail here.
func wellFormed(token string) bool {
	if len(token) == 0 || len(token) > MaxTokenBytes {
		return false
	}
	h := strings.IndexByte(token, '.')
	if h <= 0 || h > MaxHeaderBytes {
		return false
	}
	return strings.Count(token[h+1:], ".") == 1
}

// key is the parser's key function: it runs after the algorithm passed
// WithValidMethods and before the signature is checked. It demands the
// access-token type, no critical extensions, and a kid whose key is of the
// token's algorithm, so that no key ever verifies a token labelled with
// another algorithm.
func (v *Verifier) key(ctx context.Context, t *jwt.Token) (any, error) {
	typ, _ := t.Header["typ"].(string)
	if !strings.EqualFold(typ, login.AccessTokenType) && !strings.EqualFold(typ, "application/"+login.AccessTokenType) {
		return nil, ErrType
	}
	if _, ok := t.Header["crit"]; ok {
		return nil, ErrMalformed // RFC 7515 4.1.11: we understand no extension
	}
	kid, _ := t.Header["kid"].(string)
	if kid == "" {
		return nil, ErrUnknownKey
	}
	k, err := v.cfg.Keys.Key(ctx, kid)
	if err != nil {
		if apperr.Is(err, apperr.Unavailable) {
			return nil, ErrKeysUnavailable
		}
		return nil, ErrUnknownKey
	}
	if k.Algorithm != t.Method.Alg() || !slices.Contains(v.allowed, k.Algorithm) {
		return nil, ErrKeyMismatch
	}
	return k.Key, nil
}

// mapError turns the parser's error into one of ours; errors the key
// function returned come through as they are.
func (v *Verifier) mapError(t *jwt.Token, err error) error {
	for _, ours := range []error{ErrType, ErrUnknownKey, ErrKeyMismatch, ErrKeysUnavailable, ErrMalformed} {
		if errors.Is(err, ours) {
			return ours
		}
	}
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return ErrMalformed
	case t != nil && t.Method != nil && !slices.Contains(v.allowed, t.Method.Alg()):
		return ErrAlgorithm
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return ErrAlgorithm // an alg that is unknown or missing
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return ErrSignature
	case errors.Is(err, jwt.ErrTokenExpired):
		return ErrExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return ErrNotYetValid
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return ErrIssuedInFuture
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return ErrIssuer
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return ErrAudience
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return ErrMissingClaim
	}
	return ErrInvalid
}
