package verify

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/login"
)

func TestNewRejectsBadConfig(t *testing.T) {
	good := func() Config {
		return Config{Issuer: testIssuer, Audience: testAudience, Keys: &staticKeys{}, Revocations: NewRevocations(nil)}
	}
	edit := func(f func(*Config)) Config { c := good(); f(&c); return c }
	cases := map[string]struct {
		cfg   Config
		field string
	}{
		"alg none":                  {edit(func(c *Config) { c.Algorithms = []string{"none"} }), "algorithms"},
		"HS256":                     {edit(func(c *Config) { c.Algorithms = []string{login.AlgEdDSA, "HS256"} }), "algorithms"},
		"RS256":                     {edit(func(c *Config) { c.Algorithms = []string{"RS256"} }), "algorithms"},
		"no issuer":                 {edit(func(c *Config) { c.Issuer = "" }), "issuer"},
		"no audience":               {edit(func(c *Config) { c.Audience = "" }), "audience"},
		"no key source":             {edit(func(c *Config) { c.Keys = nil }), "keys"},
		"no revocations":            {edit(func(c *Config) { c.Revocations = nil }), "revocations"},
		"a leeway beyond the grace": {edit(func(c *Config) { c.Leeway = ExpiryGrace + time.Second }), "leeway"},
		"a negative staleness":      {edit(func(c *Config) { c.MaxStaleness = -time.Second }), "max_staleness"},
	}
	for name, c := range cases {
		t.Run(name+" is refused", func(t *testing.T) {
			_, err := New(c.cfg)
			if _, ok := apperr.DetailsOf(err)[c.field]; !ok {
				t.Fatalf("New = %v (%v), want a problem with %s", err, apperr.DetailsOf(err), c.field)
			}
		})
	}
	if _, err := New(good()); err != nil {
		t.Errorf("a good configuration: %v", err)
	}
}

func TestCache(t *testing.T) {
	t.Run("a repeat skips the key lookup and signature check", func(t *testing.T) {
		f := newFixture(t)
		tok := f.token(t, login.AlgES256, f.claims())
		first := wantAccepted(t, f.v, tok)
		lookups := f.keys.lookups.Load()
		if again := wantAccepted(t, f.v, tok); again != first {
			t.Errorf("cached principal %+v differs from %+v", again, first)
		}
		if n := f.keys.lookups.Load(); n != lookups {
			t.Errorf("the repeat looked up the key (%d lookups, want %d)", n, lookups)
		}
	})
	t.Run("a cached token still expires", func(t *testing.T) {
		f := newFixture(t)
		tok := f.token(t, login.AlgEdDSA, f.claims())
		wantAccepted(t, f.v, tok)
		f.clock.Advance(10*time.Minute + 30*time.Second)
		wantRejected(t, f.v, tok, ErrExpired)
	})
	t.Run("a cached token is still checked for revocation", func(t *testing.T) {
		f := newFixture(t)
		c := f.claims()
		tok := f.token(t, login.AlgEdDSA, c)
		wantAccepted(t, f.v, tok)
		f.revs.Apply(login.Revocation{Kind: login.RevokeSession, Subject: c.SessionID, ExpiresAt: f.clock.Now().Add(15 * time.Minute)})
		wantRejected(t, f.v, tok, ErrRevoked)
	})
	t.Run("a token differing from a cached one is verified afresh", func(t *testing.T) {
		f := newFixture(t)
		tok := f.token(t, login.AlgEdDSA, f.claims())
		wantAccepted(t, f.v, tok)
		// Change one signature character well before the last (whose low
		// bits are padding), to a different character whatever it was.
		i, c := len(tok)-5, byte('A')
		if tok[i] == c {
			c = 'B'
		}
		wantRejected(t, f.v, tok[:i]+string(c)+tok[i+1:], ErrSignature)
	})
	t.Run("the cache holds at most its size", func(t *testing.T) {
		f := newFixture(t, func(c *Config) { c.CacheSize = 32 })
		for range 200 {
			wantAccepted(t, f.v, f.token(t, login.AlgEdDSA, f.claims()))
		}
		n := 0
		for i := range f.v.cache.shards {
			n += f.v.cache.shards[i].lru.Len()
		}
		if n > 32 {
			t.Errorf("cache holds %d entries, want at most 32", n)
		}
	})
	t.Run("a disabled cache verifies every time", func(t *testing.T) {
		f := newFixture(t, func(c *Config) { c.CacheSize = -1 })
		tok := f.token(t, login.AlgEdDSA, f.claims())
		wantAccepted(t, f.v, tok)
		wantAccepted(t, f.v, tok)
		if n := f.keys.lookups.Load(); n != 2 {
			t.Errorf("%d key lookups, want 2", n)
		}
	})
}

func TestStaleRevocations(t *testing.T) {
	t.Run("fail closed: tokens are refused before the first sync and when the state ages", func(t *testing.T) {
		f := newFixture(t, func(c *Config) { c.MaxStaleness = time.Minute })
		tok := f.token(t, login.AlgEdDSA, f.claims())
		wantRejected(t, f.v, tok, ErrStale)
		if code := apperr.CodeOf(ErrStale); code != apperr.Unavailable {
			t.Errorf("ErrStale code = %s, want unavailable", code)
		}
		syncOnce(t, f.revs, &fakeSource{})
		wantAccepted(t, f.v, tok)
		f.clock.Advance(time.Minute + time.Second)
		wantRejected(t, f.v, tok, ErrStale)
	})
	t.Run("fail open: tokens pass however old the state", func(t *testing.T) {
		f := newFixture(t, func(c *Config) { c.MaxStaleness = time.Minute; c.FailOpenWhenStale = true })
		wantAccepted(t, f.v, f.token(t, login.AlgEdDSA, f.claims()))
	})
}

// syncOnce runs Follow until it has synced once, then stops it.
func syncOnce(t *testing.T, r *Revocations, src Source) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Follow(ctx, src, nil, time.Hour) }()
	waitFor(t, "the first sync", r.Ready)
	cancel()
	<-done
}

func TestUnavailableKeys(t *testing.T) {
	down := KeySourceFunc(func(context.Context, string) (login.PublicKey, error) {
		return login.PublicKey{}, apperr.New(apperr.Unavailable, "key server down")
	})
	f := newFixture(t, func(c *Config) { c.Keys = down })
	wantRejected(t, f.v, f.token(t, login.AlgEdDSA, f.claims()), ErrKeysUnavailable)
}

func TestVerifyWithKeyRing(t *testing.T) {
	for _, alg := range []string{login.AlgEdDSA, login.AlgES256} {
		t.Run(alg+" tokens of the issuer verify against its own ring", func(t *testing.T) {
			clock := newFakeClock()
			ring, iss := newRing(t, clock, alg)
			v, err := New(Config{Issuer: testIssuer, Audience: testAudience, Keys: ring, Revocations: NewRevocations(clock.Now), Now: clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			tok := issue(t, iss, login.AccessClaims{RegisteredClaims: jwt.RegisteredClaims{Subject: "u-9"}, Tenant: "acme"})
			if p := wantAccepted(t, v, tok); p.Subject != "u-9" || p.Tenant != "acme" {
				t.Errorf("principal = %+v", p)
			}
			if _, err := ring.Rotate(context.Background()); err != nil {
				t.Fatal(err)
			}
			clock.Advance(5 * time.Minute)
			fresh := issue(t, iss, login.AccessClaims{RegisteredClaims: jwt.RegisteredClaims{Subject: "u-9"}})
			wantAccepted(t, v, fresh)
			wantAccepted(t, v, tok) // signed by the retired key, still published
		})
	}
}

// waitFor polls cond until it holds or a deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func ExampleVerifier() {
	clock := newFakeClock()
	kek, _ := login.ParseKEK(login.NewKEK())
	ring, _ := login.NewKeyRing(&memKeyStore{}, login.KeyRingConfig{KEK: kek}, clock.Now)
	_ = ring.Load(context.Background())
	iss := login.NewIssuer(ring, login.TokenConfig{Issuer: testIssuer, Audience: []string{testAudience}, Lifetime: 10 * time.Minute}, clock.Now)
	token, _, _ := iss.Issue(login.AccessClaims{RegisteredClaims: jwt.RegisteredClaims{Subject: "u-1"}, Tenant: "acme", Name: "alice"})

	v, _ := New(Config{Issuer: testIssuer, Audience: testAudience, Keys: ring, Revocations: NewRevocations(clock.Now), Now: clock.Now})
	p, err := v.Verify(context.Background(), token)
	fmt.Println(p.Actor(), err)
	// Output: user:acme/alice <nil>
}
