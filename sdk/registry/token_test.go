package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// tokenEndpoint fakes POST /api/v1/token: it checks the client credentials
// grant and hands out numbered tokens living expiresIn seconds.
type tokenEndpoint struct {
	mu        sync.Mutex
	issued    int
	expiresIn int
	status    int // answer this instead, when set
}

func (e *tokenEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if r.Method != http.MethodPost || r.URL.Path != "/api/v1/token" || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		http.Error(w, "bad request line", http.StatusBadRequest)
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" ||
		r.PostForm.Get("client_id") != "svc-orders" || r.PostForm.Get("client_secret") != "s3cret" {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":{"code":"unauthenticated","message":"invalid client credentials"}}`)
		return
	}
	if e.status != 0 {
		w.WriteHeader(e.status)
		fmt.Fprint(w, `{"error":{"code":"unavailable","message":"try later"}}`)
		return
	}
	e.issued++
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": fmt.Sprintf("token-%d", e.issued), "token_type": "Bearer", "expires_in": e.expiresIn})
}

func newCredentials(t *testing.T, e *tokenEndpoint, id, secret string) (*credentials, *time.Time) {
	t.Helper()
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := &credentials{url: srv.URL + "/api/v1/token", id: id, secret: secret, hc: srv.Client(), now: func() time.Time { return now }}
	return c, &now
}

func TestClientCredentials(t *testing.T) {
	t.Run("the token is fetched once and reused until shortly before it expires", func(t *testing.T) {
		e := &tokenEndpoint{expiresIn: 300}
		c, now := newCredentials(t, e, "svc-orders", "s3cret")
		for range 3 {
			if tok, err := c.token(t.Context()); err != nil || tok != "token-1" {
				t.Fatalf("token = %q, %v; want token-1", tok, err)
			}
		}
		*now = now.Add(269 * time.Second) // renewal is due 30 s (a tenth) early
		if tok, _ := c.token(t.Context()); tok != "token-1" {
			t.Fatalf("token at 269 s = %q, want token-1 still", tok)
		}
		*now = now.Add(2 * time.Second)
		if tok, _ := c.token(t.Context()); tok != "token-2" {
			t.Fatalf("token at 271 s = %q, want a new one", tok)
		}
	})

	t.Run("a refused token is fetched again, another one is not", func(t *testing.T) {
		e := &tokenEndpoint{expiresIn: 300}
		c, _ := newCredentials(t, e, "svc-orders", "s3cret")
		tok, _ := c.token(t.Context())
		if again, _ := c.token(withRefused(t.Context(), "some-other-token")); again != tok {
			t.Fatalf("refusing another token replaced %q by %q", tok, again)
		}
		if fresh, _ := c.token(withRefused(t.Context(), tok)); fresh == tok || fresh == "" {
			t.Fatalf("refused %q, got %q", tok, fresh)
		}
	})

	t.Run("wrong credentials are a permanent error naming the router's answer", func(t *testing.T) {
		e := &tokenEndpoint{expiresIn: 300}
		c, _ := newCredentials(t, e, "svc-orders", "wrong")
		_, err := c.token(t.Context())
		if err == nil || !isPermanent(classify(err)) {
			t.Fatalf("err = %v, want a permanent error", err)
		}
		if want := "invalid client credentials"; !strings.Contains(err.Error(), want) {
			t.Fatalf("err = %v, want it to say %q", err, want)
		}
	})

	t.Run("an unavailable endpoint is a transient error and nothing is cached", func(t *testing.T) {
		e := &tokenEndpoint{expiresIn: 300, status: http.StatusServiceUnavailable}
		c, _ := newCredentials(t, e, "svc-orders", "s3cret")
		if _, err := c.token(t.Context()); err == nil || isPermanent(classify(err)) {
			t.Fatalf("err = %v, want a transient error", err)
		}
		e.mu.Lock()
		e.status = 0
		e.mu.Unlock()
		if tok, err := c.token(t.Context()); err != nil || tok != "token-1" {
			t.Fatalf("token = %q, %v after the endpoint recovered", tok, err)
		}
	})

	t.Run("the public constructor talks to baseURL's token endpoint", func(t *testing.T) {
		srv := httptest.NewServer(&tokenEndpoint{expiresIn: 60})
		t.Cleanup(srv.Close)
		ts := ClientCredentials(srv.URL+"/", "svc-orders", "s3cret", nil)
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		if tok, err := ts(ctx); err != nil || tok != "token-1" {
			t.Fatalf("token = %q, %v", tok, err)
		}
	})
}
