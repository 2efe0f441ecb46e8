package verify

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/login"
)

// jwksServer serves a key ring's JWKS (or body, when set) and counts
// requests.
type jwksServer struct {
	*httptest.Server
	ring    *login.KeyRing
	clock   *fakeClock
	fetches atomic.Int64
	mu      sync.Mutex
	body    string
	status  int
	paths   []string
}

func newJWKSServer(t *testing.T, ring *login.KeyRing, clock *fakeClock) *jwksServer {
	s := &jwksServer{ring: ring, clock: clock}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		s.mu.Lock()
		body, status := s.body, s.status
		s.paths = append(s.paths, r.URL.Path)
		s.mu.Unlock()
		if status != 0 {
			w.WriteHeader(status)
			return
		}
		if body == "" {
			b, _ := json.Marshal(s.ring.JWKS(s.clock.Now()))
			body = string(b)
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) serve(body string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body, s.status = body, status
}

type jwksFixture struct {
	clock  *fakeClock
	ring   *login.KeyRing
	issuer *login.Issuer
	server *jwksServer
	jwks   *JWKS
	v      *Verifier
}

func newJWKSFixture(t *testing.T) *jwksFixture {
	f := &jwksFixture{clock: newFakeClock()}
	f.ring, f.issuer = newRing(t, f.clock, login.AlgEdDSA)
	f.server = newJWKSServer(t, f.ring, f.clock)
	f.jwks = NewJWKS(f.server.URL+"/jwks", f.server.Client(), JWKSOptions{Now: f.clock.Now})
	var err error
	f.v, err = New(Config{Issuer: testIssuer, Audience: testAudience, Keys: f.jwks, Revocations: NewRevocations(f.clock.Now), Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *jwksFixture) issue(t *testing.T) string {
	return issue(t, f.issuer, login.AccessClaims{RegisteredClaims: jwt.RegisteredClaims{Subject: "u-1"}})
}

func TestJWKSFetchesOnceAndCaches(t *testing.T) {
	f := newJWKSFixture(t)
	for range 5 {
		wantAccepted(t, f.v, f.issue(t))
	}
	if n := f.server.fetches.Load(); n != 1 {
		t.Errorf("%d fetches for five tokens of one key, want 1", n)
	}
}

func TestJWKSUnknownKid(t *testing.T) {
	f := newJWKSFixture(t)
	cur, _ := f.ring.Current(f.clock.Now())
	if _, err := f.jwks.Key(t.Context(), cur.ID); err != nil {
		t.Fatalf("key: %v", err)
	}

	t.Run("within the minimum interval an unknown kid fetches nothing", func(t *testing.T) {
		if _, err := f.jwks.Key(t.Context(), randomKID()); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("Key = %v, want NotFound", err)
		}
		if n := f.server.fetches.Load(); n != 1 {
			t.Errorf("%d fetches, want 1", n)
		}
	})

	t.Run("after it, an unknown kid triggers one refresh", func(t *testing.T) {
		f.clock.Advance(11 * time.Second)
		if _, err := f.jwks.Key(t.Context(), randomKID()); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("Key = %v, want NotFound", err)
		}
		if n := f.server.fetches.Load(); n != 2 {
			t.Errorf("%d fetches, want 2", n)
		}
	})

	t.Run("a burst of 100 unknown kids fetches at most once per interval", func(t *testing.T) {
		f.clock.Advance(11 * time.Second)
		before := f.server.fetches.Load()
		burst := func() {
			var wg sync.WaitGroup
			for _, kid := range []string{"../../../etc/passwd", "..%2f..%2fetc", "/jwks?x=1", "a/../../b"} {
				wg.Go(func() { _, _ = f.jwks.Key(context.Background(), kid) })
			}
			for range 96 {
				wg.Go(func() { _, _ = f.jwks.Key(context.Background(), randomKID()) })
			}
			wg.Wait()
		}
		burst()
		if n := f.server.fetches.Load() - before; n != 1 {
			t.Errorf("first burst caused %d fetches, want 1", n)
		}
		burst()
		if n := f.server.fetches.Load() - before; n != 1 {
			t.Errorf("second burst within the interval caused %d more fetches, want none", n-1)
		}
		f.server.mu.Lock()
		defer f.server.mu.Unlock()
		for _, p := range f.server.paths {
			if p != "/jwks" {
				t.Errorf("the server saw path %q: a kid reached the URL", p)
			}
		}
	})

	t.Run("an absurdly long kid fetches nothing", func(t *testing.T) {
		f.clock.Advance(11 * time.Second)
		before := f.server.fetches.Load()
		if _, err := f.jwks.Key(t.Context(), strings.Repeat("k", 10_000)); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("Key = %v, want NotFound", err)
		}
		if f.server.fetches.Load() != before {
			t.Error("it caused a fetch")
		}
	})
}

func TestJWKSRotation(t *testing.T) {
	f := newJWKSFixture(t)
	old := f.issue(t)
	wantAccepted(t, f.v, old)

	if _, err := f.ring.Rotate(context.Background()); err != nil {
		t.Fatalf("rotate: %v", err)
	}
	f.clock.Advance(5 * time.Minute) // the overlap: the new key signs from now
	fresh := f.issue(t)
	if fresh == old {
		t.Fatal("same token")
	}
	wantAccepted(t, f.v, fresh)
	wantAccepted(t, f.v, old)
	if n := f.server.fetches.Load(); n != 2 {
		t.Errorf("%d fetches, want 2 (the new kid fetched once)", n)
	}
}

func TestJWKSBackgroundRefresh(t *testing.T) {
	f := newJWKSFixture(t)
	cur, _ := f.ring.Current(f.clock.Now())
	if _, err := f.jwks.Key(t.Context(), cur.ID); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(5 * time.Minute)
	if _, err := f.jwks.Key(t.Context(), cur.ID); err != nil {
		t.Fatalf("a known kid with an old set: %v", err)
	}
	waitFor(t, "the background refresh", func() bool { return f.server.fetches.Load() == 2 })
}

func TestJWKSFailures(t *testing.T) {
	t.Run("no set at all is Unavailable", func(t *testing.T) {
		f := newJWKSFixture(t)
		f.server.serve("", http.StatusInternalServerError)
		_, err := f.jwks.Key(t.Context(), randomKID())
		if !apperr.Is(err, apperr.Unavailable) {
			t.Fatalf("Key = %v, want Unavailable", err)
		}
		wantRejected(t, f.v, f.issue(t), ErrKeysUnavailable)
	})
	t.Run("a failed refresh keeps the previous set", func(t *testing.T) {
		f := newJWKSFixture(t)
		tok := f.issue(t)
		wantAccepted(t, f.v, tok)
		f.server.serve("", http.StatusBadGateway)
		f.clock.Advance(6 * time.Minute) // past the refresh interval, within the token's life
		if err := f.jwks.Refresh(t.Context()); !apperr.Is(err, apperr.Unavailable) {
			t.Fatalf("Refresh = %v, want Unavailable", err)
		}
		f.v.cache = nil
		wantAccepted(t, f.v, tok)
	})
	good := func(f *jwksFixture) string { b, _ := json.Marshal(f.ring.JWKS(f.clock.Now())); return string(b) }
	for name, body := range map[string]func(f *jwksFixture) string{
		"an oversized body": func(f *jwksFixture) string {
			return strings.TrimSuffix(good(f), "}") + `,"pad":"` + strings.Repeat("x", 1<<20) + `"}`
		},
		"a repeated kid": func(f *jwksFixture) string {
			k := f.ring.JWKS(f.clock.Now()).Keys[0]
			b, _ := json.Marshal(login.JWKSet{Keys: []login.JWK{k, k}})
			return string(b)
		},
		"only unsupported keys": func(*jwksFixture) string {
			return `{"keys":[{"kty":"RSA","kid":"r1","alg":"RS256","n":"AQAB","e":"AQAB"},{"kty":"oct","kid":"h1","alg":"HS256","k":"c2VjcmV0"}]}`
		},
		"not JSON": func(*jwksFixture) string { return "<html>" },
	} {
		t.Run(name+" is refused", func(t *testing.T) {
			f := newJWKSFixture(t)
			f.server.serve(body(f), 0)
			if err := f.jwks.Refresh(t.Context()); !apperr.Is(err, apperr.Unavailable) {
				t.Fatalf("Refresh = %v, want Unavailable", err)
			}
		})
	}
	t.Run("unsupported entries beside good ones are skipped", func(t *testing.T) {
		f := newJWKSFixture(t)
		f.server.serve(strings.Replace(good(f), `"keys":[`, `"keys":[{"kty":"RSA","kid":"r1","alg":"RS256","n":"AQAB","e":"AQAB"},{"kty":"OKP","crv":"Ed25519","kid":"bad","alg":"HS256","x":"`+strings.Repeat("A", 43)+`"},`, 1), 0)
		wantAccepted(t, f.v, f.issue(t))
		if _, err := f.jwks.Key(t.Context(), "bad"); !apperr.Is(err, apperr.NotFound) {
			t.Errorf("an OKP key labelled HS256 was kept: %v", err)
		}
	})
}
