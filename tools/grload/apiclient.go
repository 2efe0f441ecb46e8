package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// apiClient calls a greyrouter's JSON API.
type apiClient struct {
	base   string // scheme://host:port
	client *http.Client
}

func newAPIClient(base string, conns int) *apiClient {
	return &apiClient{base: strings.TrimRight(base, "/"), client: &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true,
		},
	}}
}

// do sends method path with in as the JSON body (nil: none) and bearer
// (""; none), decodes a 2xx answer into out (nil: discard), and returns an
// error naming the status and body otherwise.
func (a *apiClient) do(ctx context.Context, method, path, bearer string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return &statusError{method: method, path: path, status: resp.StatusCode, body: strings.TrimSpace(string(data))}
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

type statusError struct {
	method, path string
	status       int
	body         string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s %s: status %d: %s", e.method, e.path, e.status, e.body)
}

// tokenGrant is the part of a login or token answer the tools use.
type tokenGrant struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

// login logs a user in and returns its tokens.
func (a *apiClient) login(ctx context.Context, tenant, username, password string) (tokenGrant, error) {
	var g tokenGrant
	err := a.do(ctx, http.MethodPost, "/api/v1/login", "", map[string]any{"tenant": tenant, "username": username, "password": password}, &g)
	return g, err
}

// ensurePlatformAdmin creates a platform administrator with the bootstrap
// token; an existing one (409) is fine.
func (a *apiClient) ensurePlatformAdmin(ctx context.Context, bootstrap, username, password string) error {
	err := a.do(ctx, http.MethodPost, "/api/v1/admins", bootstrap, map[string]any{"username": username, "password": password}, nil)
	if se, ok := err.(*statusError); ok && se.status == http.StatusConflict {
		return nil
	}
	return err
}
