package verify

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/greyrouter/greyrouter/login"
)

// forge assembles a token from a header, claims and raw signature bytes,
// signing nothing.
func forge(t *testing.T, header map[string]any, claims any, sig []byte) string {
	t.Helper()
	return segment(t, header) + "." + segment(t, claims) + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// hs256 signs like HS256 with secret as the HMAC key.
func hs256(t *testing.T, header map[string]any, claims any, secret []byte) string {
	t.Helper()
	signing := segment(t, header) + "." + segment(t, claims)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(signing))
	return signing + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func with(h map[string]any, k string, v any) map[string]any {
	h = maps.Clone(h)
	if v == nil {
		delete(h, k)
	} else {
		h[k] = v
	}
	return h
}

// nonCanonical sets an unused low bit of the last character of unpadded
// base64url: a lax decoder reads the same bytes, a strict one refuses.
func nonCanonical(t *testing.T, s string) string {
	t.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	out := s[:len(s)-1] + string(alphabet[strings.IndexByte(alphabet, s[len(s)-1])^1])
	a, errA := base64.RawURLEncoding.DecodeString(s)
	b, errB := base64.RawURLEncoding.DecodeString(out)
	if errA != nil || errB != nil || string(a) != string(b) {
		t.Fatalf("%q -> %q is not a non-canonical spelling of the same bytes", s, out)
	}
	return out
}

func TestValidTokensPass(t *testing.T) {
	for _, alg := range []string{login.AlgEdDSA, login.AlgES256} {
		t.Run(alg+" token with every claim right passes", func(t *testing.T) {
			f := newFixture(t)
			c := f.claims()
			p := wantAccepted(t, f.v, f.token(t, alg, c))
			want := login.PrincipalFromClaims(c)
			if !p.ExpiresAt.Equal(want.ExpiresAt) {
				t.Errorf("expires at %v, want %v", p.ExpiresAt, want.ExpiresAt)
			}
			p.ExpiresAt, want.ExpiresAt = time.Time{}, time.Time{}
			if p != want {
				t.Errorf("principal = %+v, want %+v", p, want)
			}
		})
	}
	t.Run("typ application/at+jwt in any case passes", func(t *testing.T) {
		f := newFixture(t)
		for _, typ := range []string{"application/at+jwt", "AT+JWT", "Application/At+Jwt"} {
			wantAccepted(t, f.v, f.sign(t, with(f.header(login.AlgEdDSA), "typ", typ), f.claims()))
		}
	})
	t.Run("a token expired less than the leeway ago passes", func(t *testing.T) {
		f := newFixture(t)
		tok := f.token(t, login.AlgEdDSA, f.claims())
		f.clock.Advance(10*time.Minute + 29*time.Second)
		wantAccepted(t, f.v, tok)
	})
	t.Run("a subject at the revoked generation passes", func(t *testing.T) {
		f := newFixture(t)
		c := f.claims()
		f.revs.Apply(login.Revocation{Kind: login.RevokeSubject, Subject: c.Subject, Generation: c.Generation, ExpiresAt: f.clock.Now().Add(time.Hour)})
		wantAccepted(t, f.v, f.token(t, login.AlgEdDSA, c))
	})
}

func TestAlgNoneIsRejected(t *testing.T) {
	f := newFixture(t)
	for _, alg := range []string{"none", "None", "NONE", "nOnE"} {
		for sigName, sig := range map[string][]byte{"an empty": nil, "a non-empty": []byte("signature")} {
			t.Run("alg "+alg+" with "+sigName+" signature", func(t *testing.T) {
				wantRejected(t, f.v, forge(t, with(f.header(login.AlgEdDSA), "alg", alg), f.claims(), sig), ErrAlgorithm)
			})
		}
	}
	t.Run("alg none signed by golang-jwt itself", func(t *testing.T) {
		tok := jwt.NewWithClaims(jwt.SigningMethodNone, f.claims())
		tok.Header = with(f.header(login.AlgEdDSA), "alg", "none")
		s, err := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
		if err != nil {
			t.Fatal(err)
		}
		wantRejected(t, f.v, s, ErrAlgorithm)
	})
}

func TestKeyConfusionIsRejected(t *testing.T) {
	f := newFixture(t)
	edDER, _ := x509.MarshalPKIXPublicKey(f.ed.Public())
	ecDER, _ := x509.MarshalPKIXPublicKey(f.ec.Public())
	secrets := map[string]struct {
		kid    string
		secret []byte
	}{
		"the Ed25519 key's PKIX DER": {f.edKID, edDER},
		"the Ed25519 key's PEM":      {f.edKID, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: edDER})},
		"the raw Ed25519 key bytes":  {f.edKID, f.ed.Public().(ed25519.PublicKey)},
		"the P-256 key's PKIX DER":   {f.ecKID, ecDER},
		"the P-256 key's PEM":        {f.ecKID, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: ecDER})},
	}
	for name, s := range secrets {
		for _, alg := range []string{"HS256", "HS384", "HS512"} {
			t.Run(alg+" keyed with "+name, func(t *testing.T) {
				h := map[string]any{"alg": alg, "typ": login.AccessTokenType, "kid": s.kid}
				if alg == "HS256" {
					wantRejected(t, f.v, hs256(t, h, f.claims(), s.secret), ErrAlgorithm)
					return
				}
				wantRejected(t, f.v, f.sign(t, h, f.claims(), s.secret), ErrAlgorithm)
			})
		}
	}
}

func TestUnknownAlgorithmsAreRejected(t *testing.T) {
	f := newFixture(t)
	for _, alg := range []string{"RS256", "PS256", "ES384", "ES512", "XYZ", "EDDSA", "eddsa", "EdDSA ", "es256", ""} {
		t.Run("alg "+alg, func(t *testing.T) {
			wantRejected(t, f.v, forge(t, with(f.header(login.AlgEdDSA), "alg", alg), f.claims(), make([]byte, 64)), ErrAlgorithm)
		})
	}
	t.Run("no alg", func(t *testing.T) {
		wantRejected(t, f.v, forge(t, with(f.header(login.AlgEdDSA), "alg", nil), f.claims(), make([]byte, 64)), ErrAlgorithm)
	})
	t.Run("an algorithm the verifier was not configured for", func(t *testing.T) {
		only := newFixture(t, func(c *Config) { c.Algorithms = []string{login.AlgEdDSA} })
		wantRejected(t, only.v, only.token(t, login.AlgES256, only.claims()), ErrAlgorithm)
	})
}

func TestAlgorithmKeyMismatchIsRejected(t *testing.T) {
	f := newFixture(t)
	t.Run("an ES256 token naming the Ed25519 key", func(t *testing.T) {
		wantRejected(t, f.v, f.sign(t, with(f.header(login.AlgES256), "kid", f.edKID), f.claims()), ErrKeyMismatch)
	})
	t.Run("an EdDSA token naming the P-256 key", func(t *testing.T) {
		wantRejected(t, f.v, f.sign(t, with(f.header(login.AlgEdDSA), "kid", f.ecKID), f.claims()), ErrKeyMismatch)
	})
	t.Run("a key source that labels a P-256 key EdDSA", func(t *testing.T) {
		g := newFixture(t)
		g.keys.keys[g.edKID] = login.PublicKey{ID: g.edKID, Algorithm: login.AlgEdDSA, Key: g.ec.Public()}
		wantRejected(t, g.v, g.token(t, login.AlgEdDSA, g.claims()), ErrSignature)
	})
}

func TestKidAttacksAreRejected(t *testing.T) {
	f := newFixture(t)
	for name, kid := range map[string]any{
		"an unknown kid":          randomKID(),
		"a path-traversal kid":    "../../../etc/passwd",
		"a URL kid":               "https://evil.example/jwks.json",
		"an empty kid":            "",
		"a numeric kid":           42,
		"a kid differing in case": strings.ToUpper(f.edKID),
	} {
		t.Run(name, func(t *testing.T) {
			wantRejected(t, f.v, f.sign(t, with(f.header(login.AlgEdDSA), "kid", kid), f.claims()), ErrUnknownKey)
		})
	}
	t.Run("a missing kid", func(t *testing.T) {
		wantRejected(t, f.v, f.sign(t, with(f.header(login.AlgEdDSA), "kid", nil), f.claims()), ErrUnknownKey)
	})
	t.Run("the attacker's own key embedded as jwk with a fresh kid", func(t *testing.T) {
		_, evil, _ := ed25519.GenerateKey(rand.Reader)
		kid := randomKID()
		jwk, _ := login.NewJWK(login.PublicKey{ID: kid, Algorithm: login.AlgEdDSA, Key: evil.Public()})
		h := with(with(f.header(login.AlgEdDSA), "kid", kid), "jwk", jwk)
		wantRejected(t, f.v, f.sign(t, h, f.claims(), evil), ErrUnknownKey)
	})
	t.Run("the attacker's own key embedded as jwk under our kid", func(t *testing.T) {
		_, evil, _ := ed25519.GenerateKey(rand.Reader)
		jwk, _ := login.NewJWK(login.PublicKey{ID: f.edKID, Algorithm: login.AlgEdDSA, Key: evil.Public()})
		h := with(with(f.header(login.AlgEdDSA), "jku", "https://evil.example/jwks"), "jwk", jwk)
		wantRejected(t, f.v, f.sign(t, h, f.claims(), evil), ErrSignature)
	})
}

func TestClaimAttacksAreRejected(t *testing.T) {
	f := newFixture(t)
	now := f.clock.Now()
	edit := func(e func(c *login.AccessClaims)) *login.AccessClaims { c := f.claims(); e(c); return c }
	drop := func(claim string) map[string]any { m := claimsMap(t, f.claims()); delete(m, claim); return m }
	cases := []struct {
		name   string
		claims any
		want   error
	}{
		{"a missing exp", drop("exp"), ErrMissingClaim},
		{"an exp that is a string", func() map[string]any { m := claimsMap(t, f.claims()); m["exp"] = "never"; return m }(), ErrMalformed},
		{"an expired token", edit(func(c *login.AccessClaims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-31 * time.Second)) }), ErrExpired},
		{"nbf in the future", edit(func(c *login.AccessClaims) { c.NotBefore = jwt.NewNumericDate(now.Add(time.Minute)) }), ErrNotYetValid},
		{"iat in the future", edit(func(c *login.AccessClaims) { c.NotBefore = nil; c.IssuedAt = jwt.NewNumericDate(now.Add(time.Minute)) }), ErrIssuedInFuture},
		{"a missing iat", drop("iat"), ErrMissingClaim},
		{"a wrong iss", edit(func(c *login.AccessClaims) { c.Issuer = "https://evil.example" }), ErrIssuer},
		{"a missing iss", drop("iss"), ErrMissingClaim},
		{"a wrong aud", edit(func(c *login.AccessClaims) { c.Audience = jwt.ClaimStrings{"another-service"} }), ErrAudience},
		{"a missing aud", drop("aud"), ErrMissingClaim},
		{"a missing sub", drop("sub"), ErrMissingClaim},
		{"a missing jti", drop("jti"), ErrMissingClaim},
		{"claims that are not an object", []string{"sub", "u-1"}, ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantRejected(t, f.v, f.sign(t, f.header(login.AlgEdDSA), c.claims), c.want)
		})
	}
}

func TestTypeAttacksAreRejected(t *testing.T) {
	f := newFixture(t)
	for name, typ := range map[string]any{"typ JWT": "JWT", "typ jwt": "jwt", "typ at+jwt+x": "at+jwt+x", "typ as a number": 1, "a missing typ": nil} {
		t.Run(name, func(t *testing.T) {
			wantRejected(t, f.v, f.sign(t, with(f.header(login.AlgEdDSA), "typ", typ), f.claims()), ErrType)
		})
	}
	t.Run("a crit header", func(t *testing.T) {
		wantRejected(t, f.v, f.sign(t, with(f.header(login.AlgEdDSA), "crit", []string{"exp"}), f.claims()), ErrMalformed)
	})
	for name, kind := range map[string]login.CredentialKind{"a refresh token": login.RefreshToken, "a session credential": login.SessionCredential} {
		t.Run(name+" used as an access token", func(t *testing.T) {
			wantRejected(t, f.v, login.NewCredential(kind, "u-1", login.NewSessionID()).String(), ErrMalformed)
		})
	}
}

func TestTamperingIsRejected(t *testing.T) {
	f := newFixture(t)
	for _, alg := range []string{login.AlgEdDSA, login.AlgES256} {
		good := f.token(t, alg, f.claims())
		parts := strings.Split(good, ".")
		t.Run(alg+" payload moved to another tenant under the old signature", func(t *testing.T) {
			var m map[string]any
			raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
			_ = json.Unmarshal(raw, &m)
			m["tid"] = "victim"
			wantRejected(t, f.v, parts[0]+"."+segment(t, m)+"."+parts[2], ErrSignature)
		})
		t.Run(alg+" signature with unused bits set", func(t *testing.T) {
			tok := parts[0] + "." + parts[1] + "." + nonCanonical(t, parts[2])
			lax := jwt.NewParser(jwt.WithValidMethods([]string{alg}), jwt.WithTimeFunc(f.clock.Now))
			if _, err := lax.ParseWithClaims(tok, &login.AccessClaims{}, func(*jwt.Token) (any, error) {
				k, _ := f.keys.Key(t.Context(), parts0KID(t, parts[0]))
				return k.Key, nil
			}); err != nil {
				t.Fatalf("control: a lax parser should accept the non-canonical token: %v", err)
			}
			wantRejected(t, f.v, tok, ErrMalformed)
		})
		t.Run(alg+" payload with unused bits set", func(t *testing.T) {
			payload := parts[1]
			if len(payload)%4 == 0 {
				t.Skip("payload has no unused bits")
			}
			wantRejected(t, f.v, parts[0]+"."+nonCanonical(t, payload)+"."+parts[2], ErrMalformed)
		})
		for name, tok := range map[string]string{
			"padding on the signature": good + "==",
			"padding on the payload":   parts[0] + "." + parts[1] + "=." + parts[2],
			"standard base64 alphabet": parts[0] + "." + parts[1] + "." + base64.RawStdEncoding.EncodeToString(mustDecode(t, parts[2])) + "+/",
			"whitespace in a segment":  parts[0] + "." + parts[1][:10] + " " + parts[1][10:] + "." + parts[2],
			"a truncated signature":    good[:len(good)-4],
			"an empty signature":       parts[0] + "." + parts[1] + ".",
		} {
			t.Run(alg+" "+name, func(t *testing.T) {
				_, err := f.v.Verify(t.Context(), tok)
				if err == nil {
					t.Fatal("Verify accepted it")
				}
			})
		}
	}
}

func parts0KID(t *testing.T, header string) string {
	var h map[string]any
	if err := json.Unmarshal(mustDecode(t, header), &h); err != nil {
		t.Fatal(err)
	}
	return h["kid"].(string)
}

func mustDecode(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestShapeAttacksAreRejected(t *testing.T) {
	f := newFixture(t)
	good := f.token(t, login.AlgEdDSA, f.claims())
	t.Run("an oversized header, validly signed", func(t *testing.T) {
		tok := f.sign(t, with(f.header(login.AlgEdDSA), "pad", strings.Repeat("x", MaxHeaderBytes)), f.claims())
		wantRejected(t, f.v, tok, ErrMalformed)
	})
	t.Run("an oversized token, validly signed", func(t *testing.T) {
		c := f.claims()
		c.Name = strings.Repeat("x", MaxTokenBytes)
		wantRejected(t, f.v, f.token(t, login.AlgEdDSA, c), ErrMalformed)
	})
	for name, tok := range map[string]string{
		"an empty string":   "",
		"one segment":       strings.ReplaceAll(good, ".", ""),
		"two segments":      good[:strings.LastIndexByte(good, '.')],
		"four segments":     good + ".x",
		"an empty header":   good[strings.IndexByte(good, '.'):],
		"a header not JSON": base64.RawURLEncoding.EncodeToString([]byte("{nope")) + good[strings.IndexByte(good, '.'):],
		"a bearer prefix":   "Bearer " + good,
	} {
		t.Run(name, func(t *testing.T) { wantRejected(t, f.v, tok, ErrMalformed) })
	}
}

func TestRevokedTokensAreRejected(t *testing.T) {
	f := newFixture(t)
	until := f.clock.Now().Add(15 * time.Minute)
	t.Run("a revoked jti", func(t *testing.T) {
		c := f.claims()
		f.revs.Apply(login.Revocation{Kind: login.RevokeToken, Subject: c.ID, ExpiresAt: until})
		wantRejected(t, f.v, f.token(t, login.AlgEdDSA, c), ErrRevoked)
	})
	t.Run("a token of a revoked session", func(t *testing.T) {
		c := f.claims()
		f.revs.Apply(login.Revocation{Kind: login.RevokeSession, Subject: c.SessionID, Reason: "logout", ExpiresAt: until})
		wantRejected(t, f.v, f.token(t, login.AlgES256, c), ErrRevoked)
	})
	t.Run("a generation below the subject's revoked generation", func(t *testing.T) {
		c := f.claims()
		c.Subject = "u-2"
		f.revs.Apply(login.Revocation{Kind: login.RevokeSubject, Subject: c.Subject, Generation: c.Generation + 1, ExpiresAt: until})
		wantRejected(t, f.v, f.token(t, login.AlgEdDSA, c), ErrRevoked)
	})
}
