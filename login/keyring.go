package login

import (
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/greyrouter/greyrouter/internal/apperr"
)

// kekSize is the size of the key-encryption key: AES-256.
const kekSize = 32

// ParseKEK decodes the key-encryption key from configuration: base64
// (standard or URL alphabet, padded or not) of exactly 32 bytes. The error
// never repeats the value, which is a secret.
func ParseKEK(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, apperr.New(apperr.Invalid, "key-encryption key is empty; generate one with NewKEK")
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		b, err := enc.Strict().DecodeString(s)
		if err != nil {
			continue
		}
		if len(b) != kekSize {
			return nil, apperr.New(apperr.Invalid, "key-encryption key must be base64 of %d bytes, got %d bytes", kekSize, len(b))
		}
		return b, nil
	}
	return nil, apperr.New(apperr.Invalid, "key-encryption key is not valid base64")
}

// NewKEK returns a new random key-encryption key in the form ParseKEK
// reads, for operators setting up a deployment.
func NewKEK() string {
	var b [kekSize]byte
	_, _ = rand.Read(b[:]) // never fails; it crashes the program rather than return an error
	return base64.StdEncoding.EncodeToString(b[:])
}

var kidRE = regexp.MustCompile(`^[0-9a-f]{32}$`)

// newAEAD returns AES-256-GCM with a random 96-bit nonce prepended to
// every sealed key.
func newAEAD(kek []byte) (cipher.AEAD, error) {
	if len(kek) != kekSize {
		return nil, apperr.New(apperr.Invalid, "key-encryption key must be %d bytes, got %d", kekSize, len(kek))
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, fmt.Errorf("create key-encryption cipher: %w", err)
	}
	return cipher.NewGCMWithRandomNonce(block)
}

// keyAD is the additional data a private key is sealed with: a sealed key
// copied into another row (another kid or algorithm) fails to open. The kid
// has a fixed length, so the concatenation is unambiguous.
func keyAD(kid, alg string) []byte { return []byte(kid + alg) }

// newStoredKey generates a key pair for alg and seals its private half.
func newStoredKey(aead cipher.AEAD, alg string, createdAt, activatesAt time.Time) (StoredKey, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case AlgEdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	case AlgES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return StoredKey{}, apperr.New(apperr.Invalid, "unsupported signing algorithm %q", alg)
	}
	if err != nil {
		return StoredKey{}, fmt.Errorf("generate %s key: %w", alg, err)
	}
	pub, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		return StoredKey{}, fmt.Errorf("encode %s public key: %w", alg, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return StoredKey{}, fmt.Errorf("encode %s private key: %w", alg, err)
	}
	defer clear(der)
	var id [16]byte
	_, _ = rand.Read(id[:])
	kid := hex.EncodeToString(id[:])
	return StoredKey{
		ID: kid, Algorithm: alg, PublicKey: pub,
		SealedPrivate: aead.Seal(nil, nil, der, keyAD(kid, alg)),
		CreatedAt:     createdAt, ActivatesAt: activatesAt,
	}, nil
}

// openStoredKey decrypts and checks a stored key: the private key must open
// under this row's kid and algorithm, be of the algorithm's type, and match
// the stored public key.
func openStoredKey(aead cipher.AEAD, k StoredKey) (ringKey, error) {
	if !kidRE.MatchString(k.ID) {
		return ringKey{}, fmt.Errorf("signing key %q: kid is not 32 hex characters", k.ID)
	}
	der, err := aead.Open(nil, nil, k.SealedPrivate, keyAD(k.ID, k.Algorithm))
	if err != nil {
		return ringKey{}, fmt.Errorf("signing key %s: cannot decrypt the private key (wrong key-encryption key, or a sealed key copied from another row): %w", k.ID, err)
	}
	defer clear(der)
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return ringKey{}, fmt.Errorf("signing key %s: parse private key: %w", k.ID, err)
	}
	pub, err := x509.ParsePKIXPublicKey(k.PublicKey)
	if err != nil {
		return ringKey{}, fmt.Errorf("signing key %s: parse public key: %w", k.ID, err)
	}
	signer, ok := parsed.(crypto.Signer)
	if !ok || !keyMatchesAlg(signer.Public(), k.Algorithm) {
		return ringKey{}, fmt.Errorf("signing key %s: private key is not an %s key", k.ID, k.Algorithm)
	}
	if !signer.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(pub) {
		return ringKey{}, fmt.Errorf("signing key %s: private key does not match the public key", k.ID)
	}
	pk := PublicKey{ID: k.ID, Algorithm: k.Algorithm, Key: pub, CreatedAt: k.CreatedAt, ActivatesAt: k.ActivatesAt, RetiresAt: k.RetiresAt}
	jwk, err := NewJWK(pk)
	if err != nil {
		return ringKey{}, fmt.Errorf("signing key %s: %w", k.ID, err)
	}
	return ringKey{pub: pk, signer: signer, jwk: jwk}, nil
}

// keyMatchesAlg reports whether pub is a key of the algorithm's type.
func keyMatchesAlg(pub crypto.PublicKey, alg string) bool {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		return alg == AlgEdDSA && len(k) == ed25519.PublicKeySize
	case *ecdsa.PublicKey:
		return alg == AlgES256 && k.Curve == elliptic.P256()
	}
	return false
}

// SigningKey is the private key that signs access tokens at some moment.
type SigningKey struct {
	ID          string
	Algorithm   string
	Signer      crypto.Signer // ed25519.PrivateKey or *ecdsa.PrivateKey
	ActivatesAt time.Time
	RetiresAt   time.Time
}

// PublicKey is a published verification key.
type PublicKey struct {
	ID          string
	Algorithm   string
	Key         crypto.PublicKey // ed25519.PublicKey or *ecdsa.PublicKey
	CreatedAt   time.Time        // zero when it came from a JWKS
	ActivatesAt time.Time        // zero when it came from a JWKS
	RetiresAt   time.Time
}

// KeyRingConfig configures a KeyRing.
type KeyRingConfig struct {
	Algorithm string // of new keys: AlgEdDSA (default) or AlgES256
	// Overlap is how long a new key is published before it signs, so that
	// every verifier has fetched it first; default 5 minutes. Verifiers
	// must refresh more often than this (verify.JWKS does, on an unknown
	// kid), and replicas must reload the ring (Maintain) more often too.
	Overlap time.Duration
	// MaxTokenLifetime is how long a retired key stays published: the
	// longest access-token lifetime; default 15 minutes.
	MaxTokenLifetime time.Duration
	// RotateEvery is the age at which Maintain rotates; 0 never does.
	RotateEvery time.Duration
	KEK         []byte // 32 bytes, see ParseKEK
}

// ringKey is one opened key.
type ringKey struct {
	pub    PublicKey
	signer crypto.Signer
	jwk    JWK
}

// ringState is an immutable snapshot of the ring: readers load it without
// locks.
type ringState struct {
	keys []ringKey // as the store lists them, oldest first
	byID map[string]int
}

// KeyRing holds the access-token signing keys: it decides which key signs
// now and which are published, creates the first key and successors, and
// deletes keys no token can need. It is safe for concurrent use; readers
// (Current, Published, Key, JWKS) never lock.
type KeyRing struct {
	store KeyStore
	cfg   KeyRingConfig
	aead  cipher.AEAD
	now   func() time.Time
	mu    sync.Mutex // serializes Load, Rotate and Maintain
	state atomic.Pointer[ringState]
}

// NewKeyRing checks the configuration and returns an empty ring; call Load
// before use. now may be nil for time.Now.
func NewKeyRing(store KeyStore, cfg KeyRingConfig, now func() time.Time) (*KeyRing, error) {
	if cfg.Algorithm == "" {
		cfg.Algorithm = AlgEdDSA
	}
	if cfg.Algorithm != AlgEdDSA && cfg.Algorithm != AlgES256 {
		return nil, apperr.New(apperr.Invalid, "signing algorithm must be %s or %s, got %q", AlgEdDSA, AlgES256, cfg.Algorithm)
	}
	if cfg.Overlap == 0 {
		cfg.Overlap = 5 * time.Minute
	}
	if cfg.MaxTokenLifetime == 0 {
		cfg.MaxTokenLifetime = 15 * time.Minute
	}
	if cfg.Overlap < 0 || cfg.MaxTokenLifetime < 0 || cfg.RotateEvery < 0 {
		return nil, apperr.New(apperr.Invalid, "key ring durations must not be negative")
	}
	if cfg.RotateEvery > 0 && cfg.RotateEvery <= cfg.Overlap {
		return nil, apperr.New(apperr.Invalid, "key rotation interval must be longer than the overlap %s", cfg.Overlap)
	}
	aead, err := newAEAD(cfg.KEK)
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	r := &KeyRing{store: store, cfg: cfg, aead: aead, now: now}
	r.state.Store(&ringState{byID: map[string]int{}})
	return r, nil
}

// MaxTokenLifetime returns how long retired keys stay published; access
// tokens must not live longer.
func (r *KeyRing) MaxTokenLifetime() time.Duration { return r.cfg.MaxTokenLifetime }

// Load reads the keys from the store, creating the first one when there is
// none. A key that does not decrypt fails the load, naming its kid: a wrong
// key-encryption key must stop the process at startup, not at the first
// login.
func (r *KeyRing) Load(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.load(ctx)
}

func (r *KeyRing) load(ctx context.Context) error {
	stored, err := r.store.ListSigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("list signing keys: %w", err)
	}
	if len(stored) == 0 {
		now := r.now()
		first, err := newStoredKey(r.aead, r.cfg.Algorithm, now, now)
		if err != nil {
			return err
		}
		if err := r.store.AddSigningKey(ctx, "", first); err != nil && !apperr.Is(err, apperr.Conflict) {
			return fmt.Errorf("add first signing key: %w", err)
		}
		// On a Conflict another replica created the first key; either way
		// the store now has it.
		if stored, err = r.store.ListSigningKeys(ctx); err != nil {
			return fmt.Errorf("list signing keys: %w", err)
		}
	}
	st := &ringState{keys: make([]ringKey, 0, len(stored)), byID: make(map[string]int, len(stored))}
	for _, k := range stored {
		rk, err := openStoredKey(r.aead, k)
		if err != nil {
			return err
		}
		st.byID[k.ID] = len(st.keys)
		st.keys = append(st.keys, rk)
	}
	r.state.Store(st)
	return nil
}

// Rotate creates a successor of the newest key that activates after the
// overlap; the newest key retires at that moment. When another replica
// rotated first it is a Conflict, and the ring holds that replica's key.
func (r *KeyRing) Rotate(ctx context.Context) (StoredKey, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.load(ctx); err != nil {
		return StoredKey{}, err
	}
	return r.rotate(ctx)
}

func (r *KeyRing) rotate(ctx context.Context) (StoredKey, error) {
	keys := r.state.Load().keys
	newest := ""
	if len(keys) > 0 {
		newest = keys[len(keys)-1].pub.ID
	}
	now := r.now()
	next, err := newStoredKey(r.aead, r.cfg.Algorithm, now, now.Add(r.cfg.Overlap))
	if err != nil {
		return StoredKey{}, err
	}
	if err := r.store.AddSigningKey(ctx, newest, next); err != nil {
		if apperr.Is(err, apperr.Conflict) {
			if lerr := r.load(ctx); lerr != nil {
				return StoredKey{}, errors.Join(err, lerr)
			}
		}
		return StoredKey{}, fmt.Errorf("add signing key: %w", err)
	}
	return next, r.load(ctx)
}

// Maintain is the periodic job of every replica: it reloads the ring (so a
// key another replica created is published here before it signs), rotates
// when the signing key is older than RotateEvery or of another algorithm
// than configured and has no successor yet, and deletes keys retired more
// than MaxTokenLifetime plus an hour ago. Run it more often than Overlap.
func (r *KeyRing) Maintain(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.load(ctx); err != nil {
		return err
	}
	now := r.now()
	keys := r.state.Load().keys
	if len(keys) == 0 {
		return apperr.New(apperr.Internal, "the key store lists no signing key after adding one")
	}
	if cur, err := r.Current(now); err == nil && cur.ID == keys[len(keys)-1].pub.ID {
		old := r.cfg.RotateEvery > 0 && now.Sub(cur.ActivatesAt) >= r.cfg.RotateEvery
		if old || cur.Algorithm != r.cfg.Algorithm {
			if _, err := r.rotate(ctx); err != nil && !apperr.Is(err, apperr.Conflict) {
				return err
			}
		}
	}
	n, err := r.store.DeleteSigningKeys(ctx, now.Add(-r.cfg.MaxTokenLifetime-time.Hour))
	if err != nil {
		return fmt.Errorf("delete retired signing keys: %w", err)
	}
	if n > 0 {
		return r.load(ctx)
	}
	return nil
}

// Current returns the key that signs at now: of the keys active at now and
// not yet retired, the one that activated last.
func (r *KeyRing) Current(now time.Time) (SigningKey, error) {
	best := -1
	keys := r.state.Load().keys
	for i, k := range keys {
		if k.pub.ActivatesAt.After(now) || (!k.pub.RetiresAt.IsZero() && !k.pub.RetiresAt.After(now)) {
			continue
		}
		if best < 0 || !k.pub.ActivatesAt.Before(keys[best].pub.ActivatesAt) {
			best = i
		}
	}
	if best < 0 {
		return SigningKey{}, apperr.New(apperr.Unavailable, "no signing key is active; load the key ring")
	}
	k := keys[best]
	return SigningKey{ID: k.pub.ID, Algorithm: k.pub.Algorithm, Signer: k.signer, ActivatesAt: k.pub.ActivatesAt, RetiresAt: k.pub.RetiresAt}, nil
}

// published reports whether tokens signed with k may still be valid at
// now, or will be: pending keys are published before they sign.
func (r *KeyRing) published(k PublicKey, now time.Time) bool {
	return k.RetiresAt.IsZero() || k.RetiresAt.Add(r.cfg.MaxTokenLifetime).After(now)
}

// Published returns the keys verifiers need at now, oldest first: pending,
// current, and retired ones whose tokens may not have expired yet.
func (r *KeyRing) Published(now time.Time) []PublicKey {
	var out []PublicKey
	for _, k := range r.state.Load().keys {
		if r.published(k.pub, now) {
			out = append(out, k.pub)
		}
	}
	return out
}

// Key returns the key with the kid if it is published now, so that the
// ring itself is a verifier's key source (verify.KeySource) in the process
// that signs. An unknown or no longer published kid is NotFound; the ring
// never reloads on a miss (Maintain does, more often than Overlap).
func (r *KeyRing) Key(_ context.Context, kid string) (PublicKey, error) {
	st := r.state.Load()
	i, ok := st.byID[kid]
	if !ok || !r.published(st.keys[i].pub, r.now()) {
		return PublicKey{}, apperr.New(apperr.NotFound, "unknown signing key")
	}
	return st.keys[i].pub, nil
}

// JWKS returns the published keys as a JSON Web Key Set (RFC 7517).
func (r *KeyRing) JWKS(now time.Time) JWKSet {
	set := JWKSet{Keys: []JWK{}}
	for _, k := range r.state.Load().keys {
		if r.published(k.pub, now) {
			set.Keys = append(set.Keys, k.jwk)
		}
	}
	return set
}
