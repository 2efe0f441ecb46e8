package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// healthcheckCommand probes a readiness URL and fails unless it answers 200.
// Container images without a shell use it as their health check.
func healthcheckCommand(ctx context.Context, args []string, stdout io.Writer) error {
	target := "http://127.0.0.1:8080/readyz"
	switch len(args) {
	case 0:
	case 1:
		target = args[0]
	default:
		return fmt.Errorf("%w: healthcheck takes at most one URL", errUsage)
	}
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: healthcheck needs an http(s) URL, got %q", errUsage, target)
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %s", target, resp.Status)
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}
