package router

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	routing "github.com/greyrouter/greyrouter/router"
)

// TokenSource returns the bearer token for a request to the router. It has
// the shape of sdk/registry's TokenSource, so registry.ClientCredentials
// converts: router.TokenSource(registry.ClientCredentials(...)).
type TokenSource func(ctx context.Context) (string, error)

// StaticToken always returns token.
func StaticToken(token string) TokenSource {
	return func(context.Context) (string, error) { return token, nil }
}

// maxSnapshotBytes bounds a snapshot body (after decompression).
const maxSnapshotBytes = 1 << 30

// fetcher gets routing snapshots from the router's API.
type fetcher struct {
	url    string
	tokens TokenSource
	hc     *http.Client
}

// fetchQuery says what the caller holds (after -1: nothing) and how long
// to wait for something newer.
type fetchQuery struct {
	etag  string
	after int64
	wait  time.Duration
}

// fetchResult is a new snapshot with its JSON, or nil when the caller's is
// current.
type fetchResult struct {
	snap *routing.RoutingSnapshot
	raw  []byte
}

func (f *fetcher) fetch(ctx context.Context, q fetchQuery) (fetchResult, error) {
	v := url.Values{}
	if q.etag != "" {
		v.Set("etag", q.etag)
	}
	if q.after >= 0 {
		v.Set("after", strconv.FormatInt(q.after, 10))
	}
	if q.wait > 0 {
		v.Set("wait", strconv.Itoa(int(q.wait/time.Second)))
	}
	u := f.url
	if len(v) > 0 {
		u += "?" + v.Encode()
	}
	ctx, cancel := context.WithTimeout(ctx, q.wait+30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fetchResult{}, fmt.Errorf("routing snapshot request: %w", err)
	}
	tok, err := f.tokens(ctx)
	if err != nil {
		return fetchResult{}, fmt.Errorf("%w: token for the router: %w", ErrUnavailable, err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := f.hc.Do(req)
	if err != nil {
		return fetchResult{}, fmt.Errorf("%w: get routing snapshot: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNotModified:
		return fetchResult{}, nil
	case http.StatusOK:
	default:
		return fetchResult{}, httpError(resp, "get routing snapshot")
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxSnapshotBytes))
	if err != nil {
		return fetchResult{}, fmt.Errorf("%w: read routing snapshot: %w", ErrUnavailable, err)
	}
	var snap routing.RoutingSnapshot
	if err := json.Unmarshal(raw, &snap); err != nil {
		return fetchResult{}, fmt.Errorf("decode routing snapshot: %w", err)
	}
	return fetchResult{snap: &snap, raw: raw}, nil
}

// httpError turns the router's JSON error answer into an SDK error.
func httpError(resp *http.Response, doing string) error {
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body)
	var kind error
	switch {
	case resp.StatusCode == http.StatusNotFound:
		kind = ErrNotFound
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		kind = ErrDenied
	case resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusUnprocessableEntity || resp.StatusCode == http.StatusRequestEntityTooLarge:
		kind = ErrInvalid
	default:
		kind = ErrUnavailable
	}
	msg := body.Error.Message
	if msg == "" {
		msg = resp.Status
	}
	return fmt.Errorf("%w: %s: %s", kind, doing, msg)
}
