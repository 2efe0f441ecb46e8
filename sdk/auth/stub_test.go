package auth_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/golang-jwt/jwt/v5"
	"github.com/redis/go-redis/v9"

	"github.com/greyrouter/greyrouter/login"
)

// stub stands in for greyrouter where a whole login service would only
// hide the point (the examples, configuration tests): its key set on a
// local HTTP server, its revocation feed on an in-memory Redis, and its
// signing key, to issue tokens as greyrouter does. The tests of behaviour
// run against the real login service instead (see fixture_test.go).
type stub struct {
	URL   string        // base URL; the key set is at /.well-known/jwks.json
	Redis *redis.Client // the Redis the revocation feed is on

	key    ed25519.PrivateKey
	kid    string
	http   *httptest.Server
	memory *miniredis.Miniredis
}

func newStub() *stub {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	s := &stub{key: priv, kid: login.NewSessionID()}
	jwk, err := login.NewJWK(login.PublicKey{ID: s.kid, Algorithm: login.AlgEdDSA, Key: pub})
	if err != nil {
		log.Fatal(err)
	}
	set, _ := json.Marshal(login.JWKSet{Keys: []login.JWK{jwk}})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/jwks.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_, _ = w.Write(set)
	})
	s.http = httptest.NewServer(mux)
	s.URL = s.http.URL
	if s.memory, err = miniredis.Run(); err != nil {
		log.Fatal(err)
	}
	s.Redis = redis.NewClient(&redis.Options{Addr: s.memory.Addr()})
	return s
}

// token returns an access token of greyrouter for audience "orders".
func (s *stub) token(tenant, name string, platform bool) string {
	now := time.Now()
	c := &login.AccessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: "greyrouter", Audience: jwt.ClaimStrings{"orders"}, Subject: "u-" + name, ID: login.NewSessionID(),
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(5 * time.Minute)),
		},
		Tenant: tenant, Name: name, SessionID: login.NewSessionID(), Platform: platform,
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	t.Header["kid"], t.Header["typ"] = s.kid, login.AccessTokenType
	tok, err := t.SignedString(s.key)
	if err != nil {
		log.Fatal(err)
	}
	return tok
}

func (s *stub) Close() {
	_ = s.Redis.Close()
	s.memory.Close()
	s.http.Close()
}
