package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/internal/testutil"
)

func TestMain(m *testing.M) { os.Exit(testutil.RunMain(m)) }

const testToken = "test-admin-token-0123456789"

// testKEK seals signing keys in tests; replicas of one test share it, as
// replicas of one deployment must.
const testKEK = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

// server is a running greyrouter started through runWith.
type server struct {
	base   string
	stop   func()
	stderr *syncBuffer
}

// syncBuffer is a concurrent-safe log and output buffer.
type syncBuffer = testutil.SyncBuffer

// start runs `greyrouter serve` on a free loopback port with env, waits
// until /readyz answers 200 and stops it at cleanup.
func start(t *testing.T, env map[string]string, args ...string) *server {
	t.Helper()
	if env["GREYROUTER_DATA_DIR"] == "" {
		env["GREYROUTER_DATA_DIR"] = t.TempDir()
	}
	env["GREYROUTER_ADDR"] = "127.0.0.1:0"
	if _, ok := env["GREYROUTER_ADMIN_TOKEN"]; !ok {
		env["GREYROUTER_ADMIN_TOKEN"] = testToken
	}
	env["GREYROUTER_RECONCILE_INTERVAL"] = "100ms"
	if _, ok := env["GREYROUTER_KEY_ENCRYPTION_KEY"]; !ok {
		env["GREYROUTER_KEY_ENCRYPTION_KEY"] = testKEK
	}
	getenv := func(k string) string { return env[k] }
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	s := &server{stderr: &syncBuffer{}}
	go func() {
		done <- runWith(ctx, append([]string{"serve"}, args...), getenv, io.Discard, s.stderr, func(a net.Addr) { addrc <- a })
	}()
	select {
	case a := <-addrc:
		s.base = "http://" + a.String()
	case err := <-done:
		cancel()
		t.Fatalf("serve exited before listening: %v\n%s", err, s.stderr.String())
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatalf("serve did not listen within 60s\n%s", s.stderr.String())
	}
	var once sync.Once
	s.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("serve returned %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Errorf("serve did not stop within 30s")
			}
		})
	}
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("server log:\n%s", tail(s.stderr.String(), 40))
		}
	})
	waitReady(t, s.base)
	return s
}

func waitReady(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/readyz not ready within 30s (last: %v)", base, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// reply is a decoded JSON response.
type reply = testutil.Reply

// call sends body (a string or []byte is sent raw, anything else as JSON)
// with the test token.
func (s *server) call(t *testing.T, method, path string, body any) reply {
	t.Helper()
	return s.callAs(t, testToken, method, path, body)
}

// callAs sends body with token (none when empty).
func (s *server) callAs(t *testing.T, token, method, path string, body any) reply {
	t.Helper()
	return testutil.CallAPI(t, nil, s.base, token, method, path, body)
}

// resolve returns version and instance id for a request.
func (s *server) resolve(t *testing.T, tenant, service, key string) (version, instance string) {
	t.Helper()
	r := s.call(t, "POST", "/api/v1/resolve", map[string]any{"tenant": tenant, "service": service, "key": key}).Must(t, 200)
	return r.Str("version"), r.Str("instance", "id")
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// waitVersion polls resolve until the tenant gets the version, for up to 10 s.
func (s *server) waitVersion(t *testing.T, tenant, service, version, when string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := s.call(t, "POST", "/api/v1/resolve", map[string]any{"tenant": tenant, "service": service})
		if r.Status == 200 && r.Str("version") == version {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s/%s not routed to %s within 10s: %s", when, tenant, service, version, r.Raw)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
