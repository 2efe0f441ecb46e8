package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/internal/testutil"
)

func TestPercentileUsesNearestRank(t *testing.T) {
	lat := make([]time.Duration, 100)
	for i := range lat {
		lat[i] = time.Duration(i+1) * time.Microsecond
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0.50, 50 * time.Microsecond}, {0.99, 99 * time.Microsecond}, {0.999, 100 * time.Microsecond}, {0, time.Microsecond}} {
		if got := percentile(lat, tc.q); got != tc.want {
			t.Errorf("percentile(1..100us, %v) = %v, want %v", tc.q, got, tc.want)
		}
	}
	if got := percentile(nil, 0.5); got != 0 {
		t.Errorf("percentile of nothing = %v, want 0", got)
	}
}

func TestOnlyLoopbackTargetsAreAccepted(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:6379": true, "[::1]:6379": true, "localhost:6379": true, "127.1.2.3:1": true,
		"10.0.0.1:6379": false, "example.com:6379": false, ":6379": false, "0.0.0.0:6379": false, "127.0.0.1": false,
	} {
		if err := loopbackAddr(addr); (err == nil) != ok {
			t.Errorf("loopbackAddr(%q) = %v, want accepted=%t", addr, err, ok)
		}
	}
	for u, ok := range map[string]bool{
		"http://127.0.0.1:8080/api/v1/resolve": true, "http://localhost/x": true,
		"http://192.168.1.1:8080/": false, "ftp://127.0.0.1/": false, "127.0.0.1:8080": false,
	} {
		if _, err := loopbackURL(u); (err == nil) != ok {
			t.Errorf("loopbackURL(%q) = %v, want accepted=%t", u, err, ok)
		}
	}
}

func TestCommandsRejectMistakesAsUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		nil, {"nope"}, {"redis", "--addr", "10.1.1.1:6379"}, {"redis", "--concurrency", "0"},
		{"redis", "--duration", "1h"}, {"redis", "--strategy", "fastest"}, {"http", "--url", "http://10.0.0.1/"},
		{"hello", "--addr", "0.0.0.0:18081"}, {"redis", "extra"},
	} {
		var out, errOut bytes.Buffer
		if err := run(context.Background(), args, &out, &errOut); !errors.Is(err, errUsage) {
			t.Errorf("run(%q) = %v, want a usage error", args, err)
		}
	}
}

func TestHelpNamesEveryCommand(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--help"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"redis", "http", "hello"} {
		if !strings.Contains(out.String(), cmd) {
			t.Errorf("help does not mention %s:\n%s", cmd, out.String())
		}
	}
	out.Reset()
	if err := run(context.Background(), []string{"redis", "--help"}, &out, &out); !errors.Is(err, errHelp) || !strings.Contains(out.String(), "--strategy") && !strings.Contains(out.String(), "-strategy") {
		t.Errorf("redis --help = %v:\n%s", err, out.String())
	}
}

func TestRedisCommandReportsBothWorkloadsAndTheRatio(t *testing.T) {
	srv := testutil.Redis(t)
	var out, logs bytes.Buffer
	err := run(t.Context(), []string{"redis", "--addr", srv.Addr, "--concurrency", "4", "--duration", "400ms",
		"--rounds", "2", "--warmup", "100ms", "--tenants", "6", "--strategy", "least_connections"}, &out, &logs)
	if err != nil {
		t.Fatalf("grload redis: %v\n%s\n%s", err, out.String(), logs.String())
	}
	for _, want := range []string{"raw", "decide", "throughput decide/raw", "redis us/evalsha", "target decide >= 0.80 x raw"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestRedisCommandStopsAtTheRequestLimit(t *testing.T) {
	srv := testutil.Redis(t)
	var out, logs bytes.Buffer
	start := time.Now()
	err := run(t.Context(), []string{"redis", "--addr", srv.Addr, "--concurrency", "2", "--duration", "1m",
		"--rounds", "1", "--warmup", "50ms", "--requests", "200"}, &out, &logs)
	if err != nil {
		t.Fatalf("grload redis: %v\n%s", err, logs.String())
	}
	if time.Since(start) > 30*time.Second {
		t.Fatalf("took %s: --requests did not bound the run", time.Since(start))
	}
	if !strings.Contains(out.String(), "  100  ") {
		t.Errorf("want 100 calls per workload (200 over 1 round x 2 workloads):\n%s", out.String())
	}
}
