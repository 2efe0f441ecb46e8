package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// TokenSource returns the bearer token for a request to the router.
// Registering instances needs a platform principal: a platform machine
// client (ClientCredentials) or, in tests and bootstraps, the admin token
// (StaticToken).
//
// When the router refuses a token (401), the source is asked once more
// with a context carrying that token (RefusedToken); a caching source
// should then fetch a new one rather than return it again.
type TokenSource func(ctx context.Context) (string, error)

// StaticToken always returns token.
func StaticToken(token string) TokenSource {
	return func(context.Context) (string, error) { return token, nil }
}

type refusedKey struct{}

// RefusedToken returns the token the router just refused, when ctx is the
// context of the retry after a 401, and "" otherwise.
func RefusedToken(ctx context.Context) string {
	s, _ := ctx.Value(refusedKey{}).(string)
	return s
}

func withRefused(ctx context.Context, token string) context.Context {
	return context.WithValue(ctx, refusedKey{}, token)
}

// ClientCredentials returns a TokenSource for a machine client: it gets an
// access token from the router's token endpoint (POST /api/v1/token,
// grant_type=client_credentials, client_secret_post), keeps it until
// shortly before it expires, and fetches a new one then or when the
// router refused it. httpClient nil uses a client with a 10 s timeout.
func ClientCredentials(baseURL, clientID, clientSecret string, httpClient *http.Client) TokenSource {
	c := &credentials{url: strings.TrimRight(baseURL, "/") + "/api/v1/token", id: clientID, secret: clientSecret,
		hc: httpClient, now: time.Now}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: 10 * time.Second}
	}
	return c.token
}

type credentials struct {
	url, id, secret string
	hc              *http.Client
	now             func() time.Time

	mu      sync.Mutex // held across a fetch: concurrent callers share it
	tok     string
	renewAt time.Time
}

func (c *credentials) token(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tok != "" && c.now().Before(c.renewAt) && c.tok != RefusedToken(ctx) {
		return c.tok, nil
	}
	tok, ttl, err := c.fetch(ctx)
	if err != nil {
		return "", err
	}
	// Renew a tenth of the lifetime early (at most 30 s) so that a token
	// is not sent in its last moments and refused on arrival.
	c.tok, c.renewAt = tok, c.now().Add(ttl-min(ttl/10, 30*time.Second))
	return tok, nil
}

func (c *credentials) fetch(ctx context.Context) (string, time.Duration, error) {
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {c.id}, "client_secret": {c.secret}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, fmt.Errorf("client credentials token: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return "", 0, fmt.Errorf("client credentials token: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", 0, fmt.Errorf("client credentials token: read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", 0, fmt.Errorf("client credentials token: %w", apiErrorOf(resp.StatusCode, body))
	}
	var g struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &g); err != nil {
		return "", 0, fmt.Errorf("client credentials token: decode answer: %w", err)
	}
	if g.AccessToken == "" || g.ExpiresIn <= 0 {
		return "", 0, errors.New("client credentials token: answer without access_token or expires_in")
	}
	return g.AccessToken, time.Duration(g.ExpiresIn) * time.Second, nil
}
