package login

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/internal/apperr"
)

// memKeyStore is an in-memory KeyStore that honours the compare-and-set
// contract of AddSigningKey. beforeAdd, when set, runs (once) before an
// add, to let a test play another replica.
type memKeyStore struct {
	mu        sync.Mutex
	keys      []StoredKey
	beforeAdd func(s *memKeyStore)
}

func (s *memKeyStore) ListSigningKeys(context.Context) ([]StoredKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.keys), nil
}

func (s *memKeyStore) AddSigningKey(_ context.Context, previous string, next StoredKey) error {
	if f := s.beforeAdd; f != nil {
		s.beforeAdd = nil
		f(s)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addLocked(previous, next)
}

func (s *memKeyStore) addLocked(previous string, next StoredKey) error {
	newest := ""
	if len(s.keys) > 0 {
		newest = s.keys[len(s.keys)-1].ID
	}
	if previous != newest {
		return apperr.New(apperr.Conflict, "signing key %q is not the newest", previous)
	}
	if previous != "" {
		s.keys[len(s.keys)-1].RetiresAt = next.ActivatesAt
	}
	s.keys = append(s.keys, next)
	return nil
}

func (s *memKeyStore) DeleteSigningKeys(_ context.Context, retiredBefore time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.keys)
	s.keys = slices.DeleteFunc(s.keys, func(k StoredKey) bool {
		return !k.RetiresAt.IsZero() && k.RetiresAt.Before(retiredBefore)
	})
	return n - len(s.keys), nil
}

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

func testKEK(t testing.TB) []byte {
	t.Helper()
	kek, err := ParseKEK(NewKEK())
	if err != nil {
		t.Fatalf("parse kek: %v", err)
	}
	return kek
}

func newTestRing(t testing.TB, store KeyStore, clock *fakeClock, cfg KeyRingConfig) *KeyRing {
	t.Helper()
	if cfg.KEK == nil {
		cfg.KEK = testKEK(t)
	}
	r, err := NewKeyRing(store, cfg, clock.Now)
	if err != nil {
		t.Fatalf("new key ring: %v", err)
	}
	if err := r.Load(context.Background()); err != nil {
		t.Fatalf("load key ring: %v", err)
	}
	return r
}

func kids(keys []PublicKey) []string {
	var out []string
	for _, k := range keys {
		out = append(out, k.ID)
	}
	return out
}

func TestParseKEK(t *testing.T) {
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		s := " " + enc.EncodeToString(raw) + "\n"
		got, err := ParseKEK(s)
		if err != nil || string(got) != string(raw) {
			t.Errorf("ParseKEK(%q) = %x, %v; want the 32 bytes", s, got, err)
		}
	}
	short := base64.StdEncoding.EncodeToString(raw[:16])
	for name, s := range map[string]string{"empty": "", "16 bytes": short, "not base64": "correct horse battery staple!", "33 bytes": base64.StdEncoding.EncodeToString(append(raw, 1))} {
		t.Run(name+" is rejected without echoing the value", func(t *testing.T) {
			_, err := ParseKEK(s)
			if !apperr.Is(err, apperr.Invalid) {
				t.Fatalf("err = %v, want Invalid", err)
			}
			if s != "" && strings.Contains(err.Error(), s) {
				t.Errorf("error %q echoes the key", err)
			}
		})
	}
}

func TestNewKeyRingRejectsBadConfig(t *testing.T) {
	for name, cfg := range map[string]KeyRingConfig{
		"an unknown algorithm":              {Algorithm: "HS256", KEK: testKEK(t)},
		"a short KEK":                       {KEK: make([]byte, 16)},
		"no KEK":                            {},
		"rotation shorter than overlap":     {KEK: testKEK(t), RotateEvery: time.Minute},
		"a negative maximum token lifetime": {KEK: testKEK(t), MaxTokenLifetime: -time.Minute},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := NewKeyRing(&memKeyStore{}, cfg, nil); err == nil {
				t.Fatal("NewKeyRing accepted it")
			}
		})
	}
}

func TestKeyRingRotationTimeline(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	store := &memKeyStore{}
	r := newTestRing(t, store, clock, KeyRingConfig{Overlap: 5 * time.Minute, MaxTokenLifetime: 15 * time.Minute})
	t0 := clock.Now()

	first, err := r.Current(t0)
	if err != nil {
		t.Fatalf("current after first load: %v", err)
	}
	if first.Algorithm != AlgEdDSA || !first.ActivatesAt.Equal(t0) || len(store.keys) != 1 {
		t.Fatalf("first key = %+v with %d stored, want one EdDSA key active now", first, len(store.keys))
	}

	clock.Advance(time.Hour)
	rotatedAt := clock.Now()
	next, err := r.Rotate(ctx)
	if err != nil {
		t.Fatalf("rotate: %v", err)
	}
	switchAt := rotatedAt.Add(5 * time.Minute)
	if !next.ActivatesAt.Equal(switchAt) {
		t.Fatalf("successor activates at %v, want %v", next.ActivatesAt, switchAt)
	}

	steps := []struct {
		name      string
		at        time.Time
		signer    string
		published []string
	}{
		{"the pending key is published but does not sign", rotatedAt, first.ID, []string{first.ID, next.ID}},
		{"just before the overlap ends the old key still signs", switchAt.Add(-time.Nanosecond), first.ID, []string{first.ID, next.ID}},
		{"after the overlap the new key signs", switchAt, next.ID, []string{first.ID, next.ID}},
		{"the retired key stays published for the longest token lifetime", switchAt.Add(15*time.Minute - time.Nanosecond), next.ID, []string{first.ID, next.ID}},
		{"then it is no longer published", switchAt.Add(15 * time.Minute), next.ID, []string{next.ID}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			cur, err := r.Current(s.at)
			if err != nil || cur.ID != s.signer {
				t.Errorf("Current = %s, %v; want %s", cur.ID, err, s.signer)
			}
			if got := kids(r.Published(s.at)); !slices.Equal(got, s.published) {
				t.Errorf("Published = %v, want %v", got, s.published)
			}
			var jwks []string
			for _, k := range r.JWKS(s.at).Keys {
				jwks = append(jwks, k.KeyID)
			}
			if !slices.Equal(jwks, s.published) {
				t.Errorf("JWKS kids = %v, want %v", jwks, s.published)
			}
		})
	}
}

func TestKeyRingMaintain(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	store := &memKeyStore{}
	r := newTestRing(t, store, clock, KeyRingConfig{RotateEvery: 24 * time.Hour})
	first, _ := r.Current(clock.Now())

	clock.Advance(23 * time.Hour)
	if err := r.Maintain(ctx); err != nil || len(store.keys) != 1 {
		t.Fatalf("maintain before the rotation age: %v, %d keys; want no rotation", err, len(store.keys))
	}
	clock.Advance(time.Hour)
	if err := r.Maintain(ctx); err != nil || len(store.keys) != 2 {
		t.Fatalf("maintain at the rotation age: %v, %d keys; want a successor", err, len(store.keys))
	}
	if err := r.Maintain(ctx); err != nil || len(store.keys) != 2 {
		t.Fatalf("maintain with a pending successor: %v, %d keys; want no second successor", err, len(store.keys))
	}

	retired := store.keys[0].RetiresAt
	clock.Advance(retired.Sub(clock.Now()) + 15*time.Minute + time.Hour - time.Second)
	if err := r.Maintain(ctx); err != nil || len(store.keys) != 2 {
		t.Fatalf("maintain just before the deletion cutoff: %v, %d keys", err, len(store.keys))
	}
	clock.Advance(2 * time.Second)
	if err := r.Maintain(ctx); err != nil {
		t.Fatalf("maintain after the deletion cutoff: %v", err)
	}
	if len(store.keys) != 1 || store.keys[0].ID == first.ID {
		t.Fatalf("stored keys = %d, want only the successor", len(store.keys))
	}
	if _, err := r.Key(ctx, first.ID); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("Key(deleted key) = %v, want NotFound", err)
	}
}

func TestKeyRingMaintainSwitchesAlgorithm(t *testing.T) {
	clock := newFakeClock()
	store := &memKeyStore{}
	kek := testKEK(t)
	newTestRing(t, store, clock, KeyRingConfig{KEK: kek})
	r := newTestRing(t, store, clock, KeyRingConfig{KEK: kek, Algorithm: AlgES256})
	if err := r.Maintain(context.Background()); err != nil {
		t.Fatalf("maintain: %v", err)
	}
	clock.Advance(5 * time.Minute)
	cur, err := r.Current(clock.Now())
	if err != nil || cur.Algorithm != AlgES256 {
		t.Fatalf("current after the overlap = %+v, %v; want an ES256 key", cur, err)
	}
}

func TestKeyRingReplicasCreateOneKey(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	kek := testKEK(t)
	store := &memKeyStore{}

	t.Run("the first key, when another replica adds it meanwhile", func(t *testing.T) {
		other, _ := NewKeyRing(store, KeyRingConfig{KEK: kek}, clock.Now)
		var theirs StoredKey
		store.beforeAdd = func(s *memKeyStore) {
			theirs, _ = newStoredKey(other.aead, AlgEdDSA, clock.Now(), clock.Now())
			if err := s.addLocked("", theirs); err != nil {
				t.Errorf("other replica's add: %v", err)
			}
		}
		r := newTestRing(t, store, clock, KeyRingConfig{KEK: kek})
		cur, err := r.Current(clock.Now())
		if err != nil || cur.ID != theirs.ID || len(store.keys) != 1 {
			t.Fatalf("current = %s, %v with %d stored; want the other replica's key alone", cur.ID, err, len(store.keys))
		}
	})

	t.Run("a successor, when another replica rotated first", func(t *testing.T) {
		a := newTestRing(t, store, clock, KeyRingConfig{KEK: kek})
		b := newTestRing(t, store, clock, KeyRingConfig{KEK: kek})
		won, err := a.Rotate(ctx)
		if err != nil {
			t.Fatalf("a rotates: %v", err)
		}
		b.mu.Lock()
		_, err = b.rotate(ctx) // b's snapshot predates a's successor
		b.mu.Unlock()
		if !apperr.Is(err, apperr.Conflict) {
			t.Fatalf("b rotates with a stale ring: %v, want Conflict", err)
		}
		if len(store.keys) != 2 {
			t.Fatalf("stored keys = %d, want 2", len(store.keys))
		}
		if _, err := b.Key(ctx, won.ID); err != nil {
			t.Error("after the conflict b does not hold a's successor")
		}
	})
}

func TestKeyRingLoadRejectsBadKeys(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	kek := testKEK(t)
	setup := func(t *testing.T) *memKeyStore {
		store := &memKeyStore{}
		r := newTestRing(t, store, clock, KeyRingConfig{KEK: kek})
		if _, err := r.Rotate(ctx); err != nil {
			t.Fatalf("rotate: %v", err)
		}
		return store
	}
	cases := []struct {
		name   string
		kek    []byte
		tamper func(s *memKeyStore)
	}{
		{"a wrong key-encryption key", testKEK(t), func(*memKeyStore) {}},
		{"a sealed key swapped between two rows", kek, func(s *memKeyStore) {
			s.keys[0].SealedPrivate, s.keys[1].SealedPrivate = s.keys[1].SealedPrivate, s.keys[0].SealedPrivate
		}},
		{"a whole key copied under another kid", kek, func(s *memKeyStore) {
			s.keys[1].PublicKey, s.keys[1].SealedPrivate = s.keys[0].PublicKey, s.keys[0].SealedPrivate
		}},
		{"a relabelled algorithm", kek, func(s *memKeyStore) { s.keys[0].Algorithm = AlgES256 }},
		{"a public key that does not match", kek, func(s *memKeyStore) { s.keys[0].PublicKey = s.keys[1].PublicKey }},
		{"a flipped ciphertext bit", kek, func(s *memKeyStore) { s.keys[0].SealedPrivate[20] ^= 1 }},
	}
	for _, c := range cases {
		t.Run(c.name+" fails the load naming the kid", func(t *testing.T) {
			store := setup(t)
			c.tamper(store)
			r, err := NewKeyRing(store, KeyRingConfig{KEK: c.kek}, clock.Now)
			if err != nil {
				t.Fatalf("new key ring: %v", err)
			}
			err = r.Load(ctx)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			if !strings.Contains(err.Error(), store.keys[0].ID) && !strings.Contains(err.Error(), store.keys[1].ID) {
				t.Errorf("error %q names no kid", err)
			}
		})
	}
}

func TestKeyRingJWKSRoundTrip(t *testing.T) {
	for _, alg := range []string{AlgEdDSA, AlgES256} {
		t.Run(alg+" keys parse back and verify a signature", func(t *testing.T) {
			clock := newFakeClock()
			r := newTestRing(t, &memKeyStore{}, clock, KeyRingConfig{Algorithm: alg})
			body, err := json.Marshal(r.JWKS(clock.Now()))
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			var shape struct{ Keys []map[string]string }
			if err := json.Unmarshal(body, &shape); err != nil || len(shape.Keys) != 1 {
				t.Fatalf("unmarshal %s: %v", body, err)
			}
			want := map[string]string{"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig"}
			fields := []string{"kty", "crv", "x", "kid", "alg", "use"}
			if alg == AlgES256 {
				want = map[string]string{"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig"}
				fields = append(fields, "y")
			}
			got := shape.Keys[0]
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
			if len(got) != len(fields) {
				t.Errorf("JWK fields = %v, want exactly %v", got, fields)
			}

			var set JWKSet
			if err := json.Unmarshal(body, &set); err != nil {
				t.Fatalf("unmarshal set: %v", err)
			}
			pub, err := set.Keys[0].PublicKey()
			if err != nil {
				t.Fatalf("parse JWK: %v", err)
			}
			cur, _ := r.Current(clock.Now())
			if pub.ID != cur.ID || pub.Algorithm != alg {
				t.Fatalf("parsed key %s/%s, want %s/%s", pub.ID, pub.Algorithm, cur.ID, alg)
			}
			msg := []byte("header.payload")
			if !verifyWith(t, pub.Key, cur.Signer, msg) {
				t.Error("the parsed key does not verify the signer's signature")
			}
		})
	}
}

// verifyWith signs msg with signer and verifies it with pub.
func verifyWith(t *testing.T, pub crypto.PublicKey, signer crypto.Signer, msg []byte) bool {
	t.Helper()
	switch k := pub.(type) {
	case ed25519.PublicKey:
		sig, err := signer.Sign(rand.Reader, msg, crypto.Hash(0))
		return err == nil && ed25519.Verify(k, msg, sig)
	case *ecdsa.PublicKey:
		sum := sha256.Sum256(msg)
		sig, err := signer.Sign(rand.Reader, sum[:], crypto.SHA256)
		return err == nil && ecdsa.VerifyASN1(k, sum[:], sig)
	}
	t.Fatalf("unexpected key type %T", pub)
	return false
}

func TestJWKRejectsUnsupportedKeys(t *testing.T) {
	clock := newFakeClock()
	ed := newTestRing(t, &memKeyStore{}, clock, KeyRingConfig{}).JWKS(clock.Now()).Keys[0]
	ec := newTestRing(t, &memKeyStore{}, clock, KeyRingConfig{Algorithm: AlgES256}).JWKS(clock.Now()).Keys[0]
	edit := func(j JWK, f func(*JWK)) JWK { f(&j); return j }
	x := nonCanonical(t, ed.X)
	offCurve, _ := base64.RawURLEncoding.DecodeString(ec.Y)
	offCurve[31] ^= 1
	cases := map[string]JWK{
		"RSA":                           edit(ed, func(j *JWK) { j.KeyType = "RSA" }),
		"X25519":                        edit(ed, func(j *JWK) { j.Curve = "X25519" }),
		"P-384":                         edit(ec, func(j *JWK) { j.Curve = "P-384" }),
		"an Ed25519 key labelled ES256": edit(ed, func(j *JWK) { j.Algorithm = AlgES256 }),
		"a P-256 key labelled EdDSA":    edit(ec, func(j *JWK) { j.Algorithm = AlgEdDSA }),
		"no alg":                        edit(ed, func(j *JWK) { j.Algorithm = "" }),
		"an HMAC alg":                   edit(ed, func(j *JWK) { j.Algorithm = "HS256" }),
		"use enc":                       edit(ed, func(j *JWK) { j.Use = "enc" }),
		"no kid":                        edit(ed, func(j *JWK) { j.KeyID = "" }),
		"a huge kid":                    edit(ed, func(j *JWK) { j.KeyID = strings.Repeat("k", 1000) }),
		"a short x":                     edit(ed, func(j *JWK) { j.X = j.X[:20] }),
		"non-canonical base64":          edit(ed, func(j *JWK) { j.X = x }),
		"a point off the curve":         edit(ec, func(j *JWK) { j.Y = base64.RawURLEncoding.EncodeToString(offCurve) }),
	}
	for name, j := range cases {
		t.Run(name+" is rejected", func(t *testing.T) {
			if _, err := j.PublicKey(); err == nil {
				t.Fatal("PublicKey accepted it")
			}
		})
	}
}

// nonCanonical sets an unused low bit of the last character of unpadded
// base64url, which lax decoders ignore: the result decodes to the same
// bytes unless decoding is strict.
func nonCanonical(t *testing.T, s string) string {
	t.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, s[len(s)-1])
	out := s[:len(s)-1] + string(alphabet[last^1])
	a, errA := base64.RawURLEncoding.DecodeString(s)
	b, errB := base64.RawURLEncoding.DecodeString(out)
	if errA != nil || errB != nil || string(a) != string(b) || s == out {
		t.Fatalf("%q -> %q is not a non-canonical spelling of the same bytes", s, out)
	}
	return out
}

func TestKeyRingKey(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	r := newTestRing(t, &memKeyStore{}, clock, KeyRingConfig{})
	cur, _ := r.Current(clock.Now())
	if k, err := r.Key(ctx, cur.ID); err != nil || k.ID != cur.ID || k.Algorithm != AlgEdDSA {
		t.Errorf("Key(current) = %+v, %v", k, err)
	}
	for _, kid := range []string{"", "../../../etc/passwd", strings.ToUpper(cur.ID)} {
		if _, err := r.Key(ctx, kid); !apperr.Is(err, apperr.NotFound) {
			t.Errorf("Key(%q) = %v, want NotFound", kid, err)
		}
	}
	next, err := r.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Key(ctx, next.ID); err != nil {
		t.Errorf("Key(pending key) = %v, want it published", err)
	}
	clock.Advance(5*time.Minute + 15*time.Minute)
	if _, err := r.Key(ctx, cur.ID); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("Key(key retired longer than the token lifetime) = %v, want NotFound", err)
	}
}

func TestKeyRingCurrentBeforeLoad(t *testing.T) {
	r, err := NewKeyRing(&memKeyStore{}, KeyRingConfig{KEK: testKEK(t)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Current(time.Now()); !apperr.Is(err, apperr.Unavailable) {
		t.Fatalf("Current before Load = %v, want Unavailable", err)
	}
}
