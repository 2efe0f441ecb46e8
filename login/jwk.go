package login

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"encoding/base64"
	"fmt"

	"github.com/greyrouter/greyrouter/internal/apperr"
)

// JWK is a public signing key in JSON Web Key form (RFC 7517, RFC 8037):
// an Ed25519 key is kty OKP, crv Ed25519 with x; a P-256 key is kty EC,
// crv P-256 with x and y.
type JWK struct {
	KeyType   string `json:"kty"`
	Curve     string `json:"crv"`
	X         string `json:"x"`
	Y         string `json:"y,omitempty"`
	KeyID     string `json:"kid"`
	Algorithm string `json:"alg"`
	Use       string `json:"use,omitempty"`
}

// JWKSet is a JSON Web Key Set, the body of the JWKS endpoint.
type JWKSet struct {
	Keys []JWK `json:"keys"`
}

// maxKIDLen bounds the kids a JWK may carry; ours have 32 characters.
const maxKIDLen = 128

var b64url = base64.RawURLEncoding.Strict()

// NewJWK returns the JWK of a public key.
func NewJWK(k PublicKey) (JWK, error) {
	if !keyMatchesAlg(k.Key, k.Algorithm) {
		return JWK{}, apperr.New(apperr.Invalid, "key %s is not an %s public key", k.ID, k.Algorithm)
	}
	j := JWK{KeyID: k.ID, Algorithm: k.Algorithm, Use: "sig"}
	switch pub := k.Key.(type) {
	case ed25519.PublicKey:
		j.KeyType, j.Curve, j.X = "OKP", "Ed25519", b64url.EncodeToString(pub)
	case *ecdsa.PublicKey:
		b, err := pub.Bytes() // 0x04 || X || Y, 32 bytes each
		if err != nil {
			return JWK{}, fmt.Errorf("encode key %s: %w", k.ID, err)
		}
		j.KeyType, j.Curve = "EC", "P-256"
		j.X, j.Y = b64url.EncodeToString(b[1:33]), b64url.EncodeToString(b[33:])
	}
	return j, nil
}

// PublicKey parses the JWK. Only the two shapes NewJWK produces are
// accepted, with alg present and matching the key type, use absent or
// "sig", and coordinates of the exact size in canonical base64url; an EC
// point must lie on P-256.
func (j JWK) PublicKey() (PublicKey, error) {
	if j.KeyID == "" || len(j.KeyID) > maxKIDLen {
		return PublicKey{}, apperr.New(apperr.Invalid, "jwk: kid must be 1-%d characters", maxKIDLen)
	}
	if j.Use != "" && j.Use != "sig" {
		return PublicKey{}, apperr.New(apperr.Invalid, "jwk %s: use must be sig", j.KeyID)
	}
	x, err := b64url.DecodeString(j.X)
	if err != nil || len(x) != 32 {
		return PublicKey{}, apperr.New(apperr.Invalid, "jwk %s: x must be 32 bytes of base64url", j.KeyID)
	}
	switch {
	case j.KeyType == "OKP" && j.Curve == "Ed25519" && j.Algorithm == AlgEdDSA && j.Y == "":
		return PublicKey{ID: j.KeyID, Algorithm: AlgEdDSA, Key: ed25519.PublicKey(x)}, nil
	case j.KeyType == "EC" && j.Curve == "P-256" && j.Algorithm == AlgES256:
		y, err := b64url.DecodeString(j.Y)
		if err != nil || len(y) != 32 {
			return PublicKey{}, apperr.New(apperr.Invalid, "jwk %s: y must be 32 bytes of base64url", j.KeyID)
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		if err != nil {
			return PublicKey{}, apperr.New(apperr.Invalid, "jwk %s: not a P-256 point", j.KeyID)
		}
		return PublicKey{ID: j.KeyID, Algorithm: AlgES256, Key: pub}, nil
	}
	return PublicKey{}, apperr.New(apperr.Invalid, "jwk %s: unsupported combination of key type, curve and algorithm", j.KeyID)
}
