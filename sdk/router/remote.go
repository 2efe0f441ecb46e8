package router

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/greyrouter/greyrouter/internal/apperr"
	routing "github.com/greyrouter/greyrouter/router"
	"github.com/greyrouter/greyrouter/router/redisstore"
)

// NewHTTP returns a client that asks the router's resolve API
// (POST /api/v1/resolve at baseURL) for every decision: one HTTP round
// trip, with the router's shared round robin counters and
// least-connections leases. tokens gives the bearer token: a machine
// client's or a user's, which may resolve for its own tenant only, or a
// platform principal's. httpClient nil uses one with a 5 s timeout.
func NewHTTP(baseURL string, tokens TokenSource, httpClient *http.Client) *Client {
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 5 * time.Second}
	}
	return &Client{remote: &httpResolver{url: strings.TrimRight(baseURL, "/") + "/api/v1/resolve", tokens: tokens, hc: httpClient}}
}

type httpResolver struct {
	url    string
	tokens TokenSource
	hc     *http.Client
}

type resolveBody struct {
	Tenant     string            `json:"tenant"`
	Service    string            `json:"service"`
	Key        string            `json:"key,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
	Headers    map[string]string `json:"headers,omitempty"`
	Lane       string            `json:"lane,omitempty"`
	Avoid      string            `json:"avoid,omitempty"`
}

func (h *httpResolver) resolve(ctx context.Context, tenant, service string, opts ResolveOptions) (Instance, error) {
	body, err := json.Marshal(resolveBody{Tenant: tenant, Service: service, Key: opts.Key, Attributes: opts.Attributes, Headers: opts.Headers, Lane: opts.Lane, Avoid: opts.Avoid})
	if err != nil {
		return Instance{}, fmt.Errorf("%w: encode resolve request: %w", ErrInvalid, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(body))
	if err != nil {
		return Instance{}, fmt.Errorf("resolve request: %w", err)
	}
	tok, err := h.tokens(ctx)
	if err != nil {
		return Instance{}, fmt.Errorf("%w: token for the router: %w", ErrUnavailable, err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.hc.Do(req)
	if err != nil {
		return Instance{}, fmt.Errorf("%w: resolve %s/%s: %w", ErrUnavailable, tenant, service, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Instance{}, httpError(resp, "resolve "+tenant+"/"+service)
	}
	var d routing.Decision
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&d); err != nil {
		return Instance{}, fmt.Errorf("%w: decode decision: %w", ErrUnavailable, err)
	}
	return fromDecision(tenant, service, d, SourceHTTP), nil
}

func (h *httpResolver) close() {}

// NewRedis returns a client that decides with the router's own decision
// script, one EVALSHA on the Redis the router projects into (standalone,
// Sentinel or Cluster), for services that share it: the same answers as
// the resolve API without the HTTP hop. With pipelineWorkers > 0,
// concurrent decisions share round trips through that many connections;
// Close stops them. The router must be running: it keeps the tables in
// Redis current, and rebuilds a lost one on its next decision or within
// its reconcile interval, while this client answers ErrUnavailable.
func NewRedis(rdb redis.UniversalClient, pipelineWorkers int) *Client {
	st := redisstore.New(rdb)
	if pipelineWorkers > 0 {
		st = redisstore.NewBatched(rdb, pipelineWorkers)
	}
	return &Client{remote: &redisResolver{st: st}}
}

type redisResolver struct{ st *redisstore.Store }

func (r *redisResolver) resolve(ctx context.Context, tenant, service string, opts ResolveOptions) (Instance, error) {
	req := routing.Request{Tenant: tenant, Service: service, Key: opts.Key, Headers: opts.Headers, Attributes: opts.Attributes, Lane: opts.Lane, Avoid: opts.Avoid}
	if err := req.Validate(); err != nil {
		return Instance{}, fmt.Errorf("%w: %s", ErrInvalid, apperr.MessageOf(err))
	}
	d, err := r.st.Decide(ctx, req, routing.DecideOptions{})
	if err != nil {
		if errors.Is(err, routing.ErrNotProjected) {
			return Instance{}, fmt.Errorf("%w: the routing table of %q is not in Redis (unknown service, or being rebuilt by the router)", ErrUnavailable, service)
		}
		return Instance{}, fmt.Errorf("%w: %w", sentinelFor(apperr.CodeOf(err)), err)
	}
	return fromDecision(tenant, service, d, SourceRedis), nil
}

func (r *redisResolver) close() { r.st.Close() }
