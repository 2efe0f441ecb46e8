package verify

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/login"
)

const (
	testIssuer   = "https://login.test"
	testAudience = "greyrouter"
)

// fakeClock is a settable clock safe for concurrent use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// staticKeys is a KeySource over fixed keys that counts lookups.
type staticKeys struct {
	keys    map[string]login.PublicKey
	lookups atomic.Int64
}

func (s *staticKeys) Key(_ context.Context, kid string) (login.PublicKey, error) {
	s.lookups.Add(1)
	k, ok := s.keys[kid]
	if !ok {
		return login.PublicKey{}, apperr.New(apperr.NotFound, "unknown signing key")
	}
	return k, nil
}

// fixture holds one Ed25519 and one P-256 signing key and a verifier that
// trusts both.
type fixture struct {
	clock *fakeClock
	ed    ed25519.PrivateKey
	edKID string
	ec    *ecdsa.PrivateKey
	ecKID string
	keys  *staticKeys
	revs  *Revocations
	v     *Verifier
}

func randomKID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func newFixture(t testing.TB, edit ...func(*Config)) *fixture {
	t.Helper()
	f := &fixture{clock: newFakeClock(), edKID: randomKID(), ecKID: randomKID()}
	var err error
	if _, f.ed, err = ed25519.GenerateKey(rand.Reader); err != nil {
		t.Fatal(err)
	}
	if f.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	f.keys = &staticKeys{keys: map[string]login.PublicKey{
		f.edKID: {ID: f.edKID, Algorithm: login.AlgEdDSA, Key: f.ed.Public()},
		f.ecKID: {ID: f.ecKID, Algorithm: login.AlgES256, Key: f.ec.Public()},
	}}
	f.revs = NewRevocations(f.clock.Now)
	cfg := Config{Issuer: testIssuer, Audience: testAudience, Keys: f.keys, Revocations: f.revs, Now: f.clock.Now}
	for _, e := range edit {
		e(&cfg)
	}
	if f.v, err = New(cfg); err != nil {
		t.Fatalf("new verifier: %v", err)
	}
	return f
}

// claims returns valid claims at the fixture's now.
func (f *fixture) claims() *login.AccessClaims {
	now := f.clock.Now()
	return &login.AccessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: testIssuer, Audience: jwt.ClaimStrings{testAudience}, Subject: "u-1", ID: randomKID(),
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(10 * time.Minute)),
		},
		Tenant: "acme", SessionID: login.NewSessionID(), Generation: 3, Name: "alice", Admin: true,
	}
}

// header returns the header of a good token for alg.
func (f *fixture) header(alg string) map[string]any {
	kid := f.edKID
	if alg == login.AlgES256 {
		kid = f.ecKID
	}
	return map[string]any{"alg": alg, "typ": login.AccessTokenType, "kid": kid}
}

// sign signs claims (any JSON value) under header with the fixture key of
// the header's alg (EdDSA or ES256), or with key when given.
func (f *fixture) sign(t testing.TB, header map[string]any, claims any, key ...any) string {
	t.Helper()
	alg, _ := header["alg"].(string)
	method := jwt.GetSigningMethod(alg)
	if method == nil {
		t.Fatalf("no signing method %q", alg)
	}
	var k any = f.ed
	if alg == login.AlgES256 {
		k = f.ec
	}
	if len(key) > 0 {
		k = key[0]
	}
	signing := segment(t, header) + "." + segment(t, claims)
	sig, err := method.Sign(signing, k)
	if err != nil {
		t.Fatalf("sign %s: %v", alg, err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// token returns a good token for alg with the claims.
func (f *fixture) token(t testing.TB, alg string, c *login.AccessClaims) string {
	t.Helper()
	return f.sign(t, f.header(alg), c)
}

func segment(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// claimsMap returns c as a JSON object, for tests that drop or retype a
// claim.
func claimsMap(t testing.TB, c *login.AccessClaims) map[string]any {
	t.Helper()
	b, _ := json.Marshal(c)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// wantRejected checks that Verify refuses token with want, as an
// Unauthenticated (or, for availability errors, Unavailable) error whose
// text repeats no part of the token.
func wantRejected(t *testing.T, v *Verifier, token string, want error) {
	t.Helper()
	p, err := v.Verify(context.Background(), token)
	if err == nil {
		t.Fatalf("Verify accepted the token as %+v", p)
	}
	if !errors.Is(err, want) {
		t.Fatalf("Verify = %v, want %v", err, want)
	}
	if code := apperr.CodeOf(err); code != apperr.Unauthenticated && code != apperr.Unavailable {
		t.Errorf("code = %s", code)
	}
	for _, seg := range strings.Split(token, ".") {
		if len(seg) >= 8 && strings.Contains(err.Error(), seg) {
			t.Errorf("error %q repeats part of the token", err)
		}
	}
}

func wantAccepted(t *testing.T, v *Verifier, token string) login.Principal {
	t.Helper()
	p, err := v.Verify(context.Background(), token)
	if err != nil {
		t.Fatalf("Verify refused a good token: %v", err)
	}
	return p
}

// memKeyStore is an in-memory login.KeyStore for tests that need a real
// key ring; it honours the compare-and-set contract of AddSigningKey.
type memKeyStore struct {
	mu   sync.Mutex
	keys []login.StoredKey
}

func (s *memKeyStore) ListSigningKeys(context.Context) ([]login.StoredKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.keys), nil
}

func (s *memKeyStore) AddSigningKey(_ context.Context, previous string, next login.StoredKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	newest := ""
	if len(s.keys) > 0 {
		newest = s.keys[len(s.keys)-1].ID
	}
	if previous != newest {
		return apperr.New(apperr.Conflict, "not the newest key")
	}
	if previous != "" {
		s.keys[len(s.keys)-1].RetiresAt = next.ActivatesAt
	}
	s.keys = append(s.keys, next)
	return nil
}

func (s *memKeyStore) DeleteSigningKeys(context.Context, time.Time) (int, error) { return 0, nil }

// newRing returns a loaded key ring and an issuer on the clock.
func newRing(t testing.TB, clock *fakeClock, alg string) (*login.KeyRing, *login.Issuer) {
	t.Helper()
	kek, _ := login.ParseKEK(login.NewKEK())
	ring, err := login.NewKeyRing(&memKeyStore{}, login.KeyRingConfig{Algorithm: alg, KEK: kek}, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	if err := ring.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	iss := login.NewIssuer(ring, login.TokenConfig{Issuer: testIssuer, Audience: []string{testAudience}, Lifetime: 10 * time.Minute}, clock.Now)
	return ring, iss
}

func issue(t testing.TB, iss *login.Issuer, c login.AccessClaims) string {
	t.Helper()
	tok, _, err := iss.Issue(c)
	if err != nil {
		t.Fatalf("issue: %v", err)
	}
	return tok
}
