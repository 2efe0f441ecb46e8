package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// RouterOption configures WithRouter.
type RouterOption func(*routerBackend)

// HTTPClient sets the client for the router's API; the default has a 10 s
// timeout.
func HTTPClient(c *http.Client) RouterOption {
	return func(b *routerBackend) { b.hc = c }
}

// WithRouter registers through the router's API at baseURL
// ("http://greyrouter:8080"): POST .../instances with heartbeat_seconds,
// POST .../heartbeat every third of it, PATCH {"draining": true} and
// DELETE on shutdown. tokens must give a platform principal's token.
func WithRouter(baseURL string, tokens TokenSource, opts ...RouterOption) Backend {
	b := &routerBackend{base: strings.TrimRight(baseURL, "/"), tokens: tokens, hc: &http.Client{Timeout: 10 * time.Second}}
	for _, o := range opts {
		o(b)
	}
	return b
}

type routerBackend struct {
	base   string
	tokens TokenSource
	hc     *http.Client
}

var _ Backend = (*routerBackend)(nil)

// registration is the body of POST /api/v1/services/{service}/instances.
type registration struct {
	ID               string            `json:"id"`
	Version          string            `json:"version"`
	Address          string            `json:"address"`
	Weight           int               `json:"weight,omitempty"`
	Metadata         map[string]string `json:"metadata,omitempty"`
	HeartbeatSeconds int               `json:"heartbeat_seconds"`
}

func (b *routerBackend) instances(in Instance) string {
	return "/api/v1/services/" + url.PathEscape(in.Service) + "/instances"
}

func (b *routerBackend) instance(in Instance) string {
	return b.instances(in) + "/" + url.PathEscape(in.ID)
}

func (b *routerBackend) register(ctx context.Context, in Instance, ttlSeconds int) error {
	return b.do(ctx, http.MethodPost, b.instances(in), registration{ID: in.ID, Version: in.Version, Address: in.Address,
		Weight: in.Weight, Metadata: in.Metadata, HeartbeatSeconds: ttlSeconds})
}

func (b *routerBackend) heartbeat(ctx context.Context, in Instance) error {
	err := b.do(ctx, http.MethodPost, b.instance(in)+"/heartbeat", nil)
	if isNotFound(err) {
		return fmt.Errorf("%w: %w", errGone, err)
	}
	return err
}

func (b *routerBackend) selfKeepsAlive() bool { return false }

func (b *routerBackend) drain(ctx context.Context, in Instance) error {
	return b.do(ctx, http.MethodPatch, b.instance(in), map[string]bool{"draining": true})
}

// deregister treats 404 as done: the router removes a drained instance by
// itself once its grace passed, and may have been first.
func (b *routerBackend) deregister(ctx context.Context, in Instance) error {
	if err := b.do(ctx, http.MethodDelete, b.instance(in), nil); err != nil && !isNotFound(err) {
		return err
	}
	return nil
}

func (b *routerBackend) close() {}

// do sends one request with a bearer token, asking the token source for a
// new token once if the router refuses it. Answers other than 2xx become
// *apiError; 4xx answers other than 408 and 429 are permanent.
func (b *routerBackend) do(ctx context.Context, method, path string, body any) error {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return permanent{fmt.Errorf("encode %s %s: %w", method, path, err)}
		}
	}
	token, err := b.tokens(ctx)
	if err != nil {
		return classify(fmt.Errorf("token for %s %s: %w", method, path, err))
	}
	status, answer, err := b.send(ctx, method, path, payload, token)
	if err == nil && status == http.StatusUnauthorized {
		fresh, terr := b.tokens(withRefused(ctx, token))
		if terr != nil {
			return classify(fmt.Errorf("token for %s %s after a 401: %w", method, path, terr))
		}
		if fresh != token {
			status, answer, err = b.send(ctx, method, path, payload, fresh)
		}
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if status/100 == 2 {
		return nil
	}
	return classify(fmt.Errorf("%s %s: %w", method, path, apiErrorOf(status, answer)))
}

func (b *routerBackend) send(ctx context.Context, method, path string, payload []byte, token string) (int, []byte, error) {
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, b.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, answer, err
}

// apiError is an answer other than 2xx, in the router's error shape
// {"error": {"code", "message", "details"}}.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("router answered %d: %s", e.Status, e.Message)
	}
	return fmt.Sprintf("router answered %d %s: %s", e.Status, e.Code, e.Message)
}

func apiErrorOf(status int, body []byte) *apiError {
	var doc struct {
		Error struct {
			Code    string            `json:"code"`
			Message string            `json:"message"`
			Details map[string]string `json:"details"`
		} `json:"error"`
	}
	e := &apiError{Status: status}
	if json.Unmarshal(body, &doc) == nil && doc.Error.Code != "" {
		e.Code, e.Message = doc.Error.Code, doc.Error.Message
		for _, k := range slices.Sorted(maps.Keys(doc.Error.Details)) {
			e.Message += fmt.Sprintf("; %s: %s", k, doc.Error.Details[k])
		}
		return e
	}
	e.Message = strings.TrimSpace(string(body[:min(len(body), 200)]))
	return e
}

// classify marks 4xx answers as permanent, except 408 and 429, which ask
// to come back later.
func classify(err error) error {
	var ae *apiError
	if errors.As(err, &ae) && ae.Status/100 == 4 && ae.Status != http.StatusRequestTimeout && ae.Status != http.StatusTooManyRequests {
		return permanent{err}
	}
	return err
}

func isNotFound(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.Status == http.StatusNotFound
}
