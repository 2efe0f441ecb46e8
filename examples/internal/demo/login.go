package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Login logs a user in with greyrouter's login API (POST /api/v1/login)
// and returns the access token, the bearer the example services verify.
func Login(ctx context.Context, hc *http.Client, routerURL, tenant, username, password string) (string, error) {
	body, _ := json.Marshal(map[string]string{"tenant": tenant, "username": username, "password": password})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(routerURL, "/")+"/api/v1/login", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("log in as %s/%s: %w", tenant, username, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("log in as %s/%s: %w", tenant, username, err)
	}
	if resp.StatusCode != http.StatusOK {
		var doc ErrorBody
		_ = json.Unmarshal(answer, &doc)
		return "", fmt.Errorf("log in as %s/%s: %w", tenant, username, &StatusError{Status: resp.StatusCode, ErrorDoc: doc.Error})
	}
	var tokens struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(answer, &tokens); err != nil || tokens.AccessToken == "" {
		return "", fmt.Errorf("log in as %s/%s: no access token in the answer", tenant, username)
	}
	return tokens.AccessToken, nil
}
