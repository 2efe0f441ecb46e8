package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

type httpFlags struct {
	bounds
	url     string
	token   string
	tenants string
	service string
}

const httpSummary = `Sends POST /api/v1/resolve with a bearer token to a greyrouter (or the
hello peer) on loopback, cycling through --tenants with a fresh key per
request, and prints throughput and latency percentiles. wrk with
tools/wrk/resolve.lua is the primary HTTP benchmark; this is a cross-check.
The token defaults to $GREYROUTER_ADMIN_TOKEN, which keeps it out of ps.`

func httpCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f httpFlags
	fs := flag.NewFlagSet("grload http", flag.ContinueOnError)
	f.bind(fs, 50, 10*time.Second)
	fs.StringVar(&f.url, "url", "http://127.0.0.1:8080/api/v1/resolve", "resolve URL (loopback only)")
	fs.StringVar(&f.token, "token", "", "bearer token (default $GREYROUTER_ADMIN_TOKEN)")
	fs.StringVar(&f.tenants, "tenants", "acme,globex,initech", "comma-separated tenants to cycle through")
	fs.StringVar(&f.service, "service", "orders", "service to resolve")
	if err := parse(fs, httpSummary, args, stdout, stderr); err != nil {
		return err
	}
	if err := f.valid(); err != nil {
		return err
	}
	u, err := loopbackURL(f.url)
	if err != nil {
		return err
	}
	if f.token == "" {
		f.token = os.Getenv("GREYROUTER_ADMIN_TOKEN")
	}
	tenants := strings.Split(f.tenants, ",")
	log := newLogger(stderr)

	client := &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns: f.concurrency, MaxIdleConnsPerHost: f.concurrency, MaxConnsPerHost: f.concurrency,
			DisableCompression: true,
		},
	}
	defer client.CloseIdleConnections()
	auth := "Bearer " + f.token
	target := u.String()
	fn := func(ctx context.Context, seq int64) error {
		body := make([]byte, 0, 96)
		body = append(body, `{"tenant":"`...)
		body = append(body, tenants[int(seq)%len(tenants)]...)
		body = append(body, `","service":"`...)
		body = append(body, f.service...)
		body = append(body, `","key":"user-`...)
		body = strconv.AppendInt(body, seq, 10)
		body = append(body, `"}`...)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", auth)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("POST %s: status %d", u.Path, resp.StatusCode)
		}
		return err
	}
	if err := fn(ctx, 0); err != nil {
		return fmt.Errorf("first request: %w", err)
	}
	p := runPhase(ctx, log, "http", 1, f.concurrency, f.bounds.duration, f.requests, fn)
	if err := ctx.Err(); err != nil {
		return err
	}
	s := summarize("http", "1", p)
	fmt.Fprintf(stdout, "\ngrload http: url=%s concurrency=%d duration=%s\n\n", target, f.concurrency, f.bounds.duration)
	printTable(stdout, []summary{s}, false)
	if p.errs > 0 {
		return fmt.Errorf("%d of %d requests failed, first: %w", p.errs, p.calls, p.firstErr)
	}
	return nil
}
