package login

import (
	"context"
	"time"
)

// Signing algorithms for access tokens (JWS "alg" names).
const (
	AlgEdDSA = "EdDSA" // Ed25519, the default
	AlgES256 = "ES256" // ECDSA P-256 with SHA-256
)

// StoredKey is an access-token signing key as the database keeps it: the
// public key in PKIX DER, the private key in PKCS#8 DER sealed with the
// key-encryption key from configuration (AES-256-GCM, see KeyRing), never
// in the clear.
//
// A key is published in the JWKS from creation until no token it signed
// can still be valid (RetiresAt plus the longest access-token lifetime);
// it signs from ActivatesAt until RetiresAt. Rotation creates a key that
// activates after an overlap, so verifiers see it in the JWKS before the
// first token signed with it, and retires the current one at that moment.
type StoredKey struct {
	ID            string // the kid: 32 lower-case hex characters
	Algorithm     string // AlgEdDSA or AlgES256
	PublicKey     []byte
	SealedPrivate []byte
	CreatedAt     time.Time
	ActivatesAt   time.Time
	RetiresAt     time.Time // zero while the key has no successor
}

// KeyStore keeps signing keys.
type KeyStore interface {
	// ListSigningKeys returns every stored key, oldest first.
	ListSigningKeys(ctx context.Context) ([]StoredKey, error)
	// AddSigningKey stores next and sets RetiresAt of the key previous
	// (when not "") to next.ActivatesAt, in one transaction, provided that
	// previous is still the newest key (or, when previous is "", that
	// there is no key at all); otherwise it is a Conflict and changes
	// nothing. Two replicas rotating at once thus create one key.
	AddSigningKey(ctx context.Context, previous string, next StoredKey) error
	// DeleteSigningKeys deletes keys retired before the cutoff.
	DeleteSigningKeys(ctx context.Context, retiredBefore time.Time) (int, error)
}
