package login

import (
	"context"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/greyrouter/greyrouter/internal/apperr"
)

func testTokenConfig() TokenConfig {
	return TokenConfig{Issuer: "https://login.example", Audience: []string{"greyrouter"}, Lifetime: 10 * time.Minute}
}

func TestTokenConfigValidate(t *testing.T) {
	edit := func(f func(*TokenConfig)) TokenConfig { c := testTokenConfig(); f(&c); return c }
	cases := map[string]struct {
		cfg   TokenConfig
		field string
	}{
		"no issuer":            {edit(func(c *TokenConfig) { c.Issuer = "" }), "issuer"},
		"no audience":          {edit(func(c *TokenConfig) { c.Audience = nil }), "audience"},
		"an empty audience":    {edit(func(c *TokenConfig) { c.Audience = []string{""} }), "audience"},
		"a 30-second lifetime": {edit(func(c *TokenConfig) { c.Lifetime = 30 * time.Second }), "lifetime"},
		"a two-hour lifetime":  {edit(func(c *TokenConfig) { c.Lifetime = 2 * time.Hour }), "lifetime"},
	}
	for name, c := range cases {
		t.Run(name+" is rejected", func(t *testing.T) {
			err := c.cfg.Validate()
			if _, ok := apperr.DetailsOf(err)[c.field]; !ok {
				t.Fatalf("Validate() = %v, details %v; want a problem with %s", err, apperr.DetailsOf(err), c.field)
			}
		})
	}
	if err := testTokenConfig().Validate(); err != nil {
		t.Errorf("a good configuration: %v", err)
	}
}

func TestIssueSignsEveryClaim(t *testing.T) {
	for _, alg := range []string{AlgEdDSA, AlgES256} {
		t.Run(alg, func(t *testing.T) {
			clock := newFakeClock()
			clock.Advance(1234 * time.Millisecond) // issued times are whole seconds
			ring := newTestRing(t, &memKeyStore{}, clock, KeyRingConfig{Algorithm: alg})
			iss := NewIssuer(ring, testTokenConfig(), clock.Now)
			in := AccessClaims{
				RegisteredClaims: jwt.RegisteredClaims{Subject: "u-1", ID: "chosen-by-caller"},
				Tenant:           "acme", SessionID: NewSessionID(), Generation: 7, Name: "alice",
				Admin: true, Platform: true, ClientID: "gc-0123456789abcdef0123456789abcdef",
			}
			token, out, err := iss.Issue(in)
			if err != nil {
				t.Fatalf("issue: %v", err)
			}

			var got AccessClaims
			parsed, err := jwt.ParseWithClaims(token, &got, func(tk *jwt.Token) (any, error) {
				k, err := ring.Key(context.Background(), tk.Header["kid"].(string))
				if err != nil {
					t.Fatalf("token kid %v: %v", tk.Header["kid"], err)
				}
				return k.Key, nil
			}, jwt.WithValidMethods([]string{alg}), jwt.WithTimeFunc(clock.Now), jwt.WithExpirationRequired(),
				jwt.WithIssuer("https://login.example"), jwt.WithAudience("greyrouter"), jwt.WithStrictDecoding())
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			cur, _ := ring.Current(clock.Now())
			if parsed.Header["kid"] != cur.ID || parsed.Header["typ"] != AccessTokenType || parsed.Header["alg"] != alg {
				t.Errorf("header = %v, want kid %s, typ %s, alg %s", parsed.Header, cur.ID, AccessTokenType, alg)
			}

			issued := clock.Now().Truncate(time.Second)
			if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(got.ID) || got.ID != out.ID {
				t.Errorf("jti = %q (returned %q), want 32 fresh hex characters", got.ID, out.ID)
			}
			if got.Subject != "u-1" || got.Issuer != "https://login.example" || !slices.Equal(got.Audience, []string{"greyrouter"}) {
				t.Errorf("sub/iss/aud = %q/%q/%v", got.Subject, got.Issuer, got.Audience)
			}
			if !got.IssuedAt.Equal(issued) || !got.NotBefore.Equal(issued) || !got.ExpiresAt.Equal(issued.Add(10*time.Minute)) {
				t.Errorf("iat/nbf/exp = %v/%v/%v, want %v, %v, +10m", got.IssuedAt, got.NotBefore, got.ExpiresAt, issued, issued)
			}
			if got.Tenant != in.Tenant || got.SessionID != in.SessionID || got.Generation != 7 || got.Name != "alice" ||
				!got.Admin || !got.Platform || got.ClientID != in.ClientID {
				t.Errorf("private claims = %+v, want those of %+v", got, in)
			}
		})
	}
}

func TestIssueFollowsRotation(t *testing.T) {
	clock := newFakeClock()
	ring := newTestRing(t, &memKeyStore{}, clock, KeyRingConfig{})
	iss := NewIssuer(ring, testTokenConfig(), clock.Now)
	old, _ := ring.Current(clock.Now())
	next, err := ring.Rotate(context.Background())
	if err != nil {
		t.Fatalf("rotate: %v", err)
	}
	kidOf := func() string {
		tok, _, err := iss.Issue(AccessClaims{RegisteredClaims: jwt.RegisteredClaims{Subject: "u-1"}})
		if err != nil {
			t.Fatalf("issue: %v", err)
		}
		parsed, _, err := jwt.NewParser().ParseUnverified(tok, &AccessClaims{})
		if err != nil {
			t.Fatalf("parse: %v", err)
		}
		return parsed.Header["kid"].(string)
	}
	if kid := kidOf(); kid != old.ID {
		t.Errorf("during the overlap the token is signed by %s, want the old key %s", kid, old.ID)
	}
	clock.Advance(5 * time.Minute)
	if kid := kidOf(); kid != next.ID {
		t.Errorf("after the overlap the token is signed by %s, want the new key %s", kid, next.ID)
	}
}

func TestIssueRefuses(t *testing.T) {
	clock := newFakeClock()
	ring := newTestRing(t, &memKeyStore{}, clock, KeyRingConfig{MaxTokenLifetime: 5 * time.Minute})
	sub := AccessClaims{RegisteredClaims: jwt.RegisteredClaims{Subject: "u-1"}}

	t.Run("a lifetime longer than retired keys stay published", func(t *testing.T) {
		if _, _, err := NewIssuer(ring, testTokenConfig(), clock.Now).Issue(sub); !apperr.Is(err, apperr.Invalid) {
			t.Fatalf("issue = %v, want Invalid", err)
		}
	})
	t.Run("an invalid configuration", func(t *testing.T) {
		cfg := testTokenConfig()
		cfg.Issuer = ""
		if _, _, err := NewIssuer(ring, cfg, clock.Now).Issue(sub); err == nil {
			t.Fatal("issue succeeded")
		}
	})
	t.Run("claims without a subject", func(t *testing.T) {
		cfg := testTokenConfig()
		cfg.Lifetime = 5 * time.Minute
		if _, _, err := NewIssuer(ring, cfg, clock.Now).Issue(AccessClaims{}); !apperr.Is(err, apperr.Invalid) {
			t.Fatalf("issue = %v, want Invalid", err)
		}
	})
}
