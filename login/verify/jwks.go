package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/login"
)

// JWKSOptions tunes a JWKS client; zero values take the defaults.
type JWKSOptions struct {
	// RefreshInterval is the age after which the set is fetched again in
	// the background; default 5 minutes.
	RefreshInterval time.Duration
	// MinRefreshInterval is the least time between two fetches, whatever
	// triggers them; default 10 seconds. It keeps a flood of tokens with
	// made-up kids from turning into a flood of requests to the key server.
	MinRefreshInterval time.Duration
	// MaxBytes caps the response body; default 1 MiB.
	MaxBytes int64
	// Timeout bounds one fetch; default 10 seconds.
	Timeout time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// maxKIDLen bounds the kids worth a lookup; ours have 32 characters.
const maxKIDLen = 128

// errTooSoon reports a fetch skipped because the last one was too recent.
var errTooSoon = errors.New("jwks fetched too recently")

// keySet is an immutable fetched set.
type keySet struct {
	keys    map[string]login.PublicKey
	fetched time.Time
}

// JWKS is a KeySource that fetches a JSON Web Key Set over HTTP and caches
// it. It fetches again in the background when the set is older than
// RefreshInterval, and at once when asked for an unknown kid (a key created
// by a rotation), but never more often than MinRefreshInterval; concurrent
// callers share one fetch. When a fetch fails the previous set stays in
// use. Kids are looked up verbatim in a map, so no kid can reach anything
// but the fetched keys. It is safe for concurrent use.
type JWKS struct {
	url    string
	client *http.Client
	opts   JWKSOptions
	set    atomic.Pointer[keySet]
	group  singleflight.Group

	mu        sync.Mutex
	lastFetch time.Time // start of the last fetch, successful or not
}

// NewJWKS returns a client for the key set at url. client may be nil for a
// client with a 10-second timeout. It fetches nothing until first used;
// call Refresh to fail fast at startup.
func NewJWKS(url string, client *http.Client, opts JWKSOptions) *JWKS {
	if opts.RefreshInterval <= 0 {
		opts.RefreshInterval = 5 * time.Minute
	}
	if opts.MinRefreshInterval <= 0 {
		opts.MinRefreshInterval = 10 * time.Second
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 1 << 20
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if client == nil {
		client = &http.Client{Timeout: opts.Timeout}
	}
	return &JWKS{url: url, client: client, opts: opts}
}

// Key returns the key with the kid, fetching the set when it does not know
// the kid and may fetch again.
func (j *JWKS) Key(ctx context.Context, kid string) (login.PublicKey, error) {
	if kid == "" || len(kid) > maxKIDLen {
		return login.PublicKey{}, apperr.New(apperr.NotFound, "unknown signing key")
	}
	set := j.set.Load()
	if set != nil {
		if now := j.opts.Now(); now.Sub(set.fetched) >= j.opts.RefreshInterval && j.mayFetch(now) {
			j.group.DoChan("jwks", j.fetchFunc(ctx)) // in the background; the buffered result is dropped
		}
		if k, ok := set.keys[kid]; ok {
			return k, nil
		}
	}
	err := j.refresh(ctx)
	if set = j.set.Load(); set == nil {
		if errors.Is(err, errTooSoon) {
			err = nil
		}
		return login.PublicKey{}, apperr.Wrap(apperr.Unavailable, err, "signing keys unavailable")
	}
	if k, ok := set.keys[kid]; ok {
		return k, nil
	}
	return login.PublicKey{}, apperr.New(apperr.NotFound, "unknown signing key")
}

// Refresh fetches the set now unless the last fetch began less than
// MinRefreshInterval ago, and waits for it.
func (j *JWKS) Refresh(ctx context.Context) error {
	err := j.refresh(ctx)
	if errors.Is(err, errTooSoon) {
		return nil
	}
	return err
}

func (j *JWKS) refresh(ctx context.Context) error {
	select {
	case r := <-j.group.DoChan("jwks", j.fetchFunc(ctx)):
		return r.Err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// mayFetch reports whether the rate limit allows a fetch at now. It
// spares the background refresh a goroutine on every call while the key
// server is down; fetchFunc decides for good.
func (j *JWKS) mayFetch(now time.Time) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.lastFetch.IsZero() || now.Sub(j.lastFetch) >= j.opts.MinRefreshInterval
}

// fetchFunc returns the shared fetch: it claims the rate-limit slot, then
// fetches with the caller's context values but not its cancellation, since
// other callers may be waiting on the same fetch.
func (j *JWKS) fetchFunc(ctx context.Context) func() (any, error) {
	return func() (any, error) {
		j.mu.Lock()
		now := j.opts.Now()
		if !j.lastFetch.IsZero() && now.Sub(j.lastFetch) < j.opts.MinRefreshInterval {
			j.mu.Unlock()
			return nil, errTooSoon
		}
		j.lastFetch = now
		j.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), j.opts.Timeout)
		defer cancel()
		keys, err := j.fetch(ctx)
		if err != nil {
			return nil, apperr.Wrap(apperr.Unavailable, err, "fetch signing keys")
		}
		j.set.Store(&keySet{keys: keys, fetched: now})
		return nil, nil
	}
}

func (j *JWKS) fetch(ctx context.Context) (map[string]login.PublicKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.url, nil)
	if err != nil {
		return nil, fmt.Errorf("jwks request: %w", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := j.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("get jwks: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("get jwks: status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, j.opts.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read jwks: %w", err)
	}
	if int64(len(body)) > j.opts.MaxBytes {
		return nil, fmt.Errorf("jwks is larger than %d bytes", j.opts.MaxBytes)
	}
	return parseJWKS(body)
}

// parseJWKS returns the usable keys of a set. Entries of other types,
// curves or algorithms are skipped (a set may hold keys for other uses);
// a repeated kid makes the whole set suspect, and so does a set without a
// single usable key.
func parseJWKS(body []byte) (map[string]login.PublicKey, error) {
	var set login.JWKSet
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("decode jwks: %w", err)
	}
	keys := make(map[string]login.PublicKey, len(set.Keys))
	seen := make(map[string]bool, len(set.Keys))
	for _, jwk := range set.Keys {
		if seen[jwk.KeyID] {
			return nil, fmt.Errorf("jwks repeats a kid")
		}
		seen[jwk.KeyID] = true
		if k, err := jwk.PublicKey(); err == nil {
			keys[k.ID] = k
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("jwks has no usable key")
	}
	return keys, nil
}
