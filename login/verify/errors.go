package verify

import "github.com/greyrouter/greyrouter/internal/apperr"

// The answers of Verify. Each is Unauthenticated, except that missing keys
// or stale revocation state are Unavailable (the caller may retry; the
// token may be fine). Messages are short and never repeat the token.
var (
	ErrMalformed      = apperr.New(apperr.Unauthenticated, "malformed access token")
	ErrAlgorithm      = apperr.New(apperr.Unauthenticated, "access token algorithm not accepted")
	ErrType           = apperr.New(apperr.Unauthenticated, "not an access token")
	ErrUnknownKey     = apperr.New(apperr.Unauthenticated, "access token signed by an unknown key")
	ErrKeyMismatch    = apperr.New(apperr.Unauthenticated, "access token algorithm does not match its key")
	ErrSignature      = apperr.New(apperr.Unauthenticated, "invalid access token signature")
	ErrExpired        = apperr.New(apperr.Unauthenticated, "access token expired")
	ErrNotYetValid    = apperr.New(apperr.Unauthenticated, "access token not valid yet")
	ErrIssuedInFuture = apperr.New(apperr.Unauthenticated, "access token issued in the future")
	ErrIssuer         = apperr.New(apperr.Unauthenticated, "access token from another issuer")
	ErrAudience       = apperr.New(apperr.Unauthenticated, "access token for another audience")
	ErrMissingClaim   = apperr.New(apperr.Unauthenticated, "access token lacks a required claim")
	ErrInvalid        = apperr.New(apperr.Unauthenticated, "invalid access token")
	ErrRevoked        = apperr.New(apperr.Unauthenticated, "access token revoked")

	ErrKeysUnavailable = apperr.New(apperr.Unavailable, "signing keys unavailable")
	ErrStale           = apperr.New(apperr.Unavailable, "revocation state is stale")
)
