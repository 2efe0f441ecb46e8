package main

import (
	"bytes"
	"context"
	"flag"
	"strings"
	"testing"
)

// TestBadInputGetsAClearError checks that bad requests get a 4xx with the
// JSON error shape naming the problem, and change nothing.
func TestBadInputGetsAClearError(t *testing.T) {
	s := start(t, map[string]string{})
	setupOrders(t, s)
	before := s.call(t, "GET", "/api/v1/revisions?limit=1", nil).Must(t, 200).Raw

	tests := []struct {
		name, method, path string
		body               any
		status             int
		code               string
		mention            string
	}{
		{"malformed JSON", "POST", "/api/v1/tenants", `{"name":`, 400, "invalid", "malformed JSON"},
		{"trailing garbage", "POST", "/api/v1/tenants", `{"name":"x"} {}`, 400, "invalid", "unexpected data"},
		{"an empty body", "POST", "/api/v1/tenants", ``, 400, "invalid", "empty"},
		{"an unknown field", "POST", "/api/v1/tenants", `{"name":"x","colour":"red"}`, 400, "invalid", "colour"},
		{"a wrong type", "POST", "/api/v1/services", `{"name":"x","lease_seconds":"long"}`, 400, "invalid", "lease_seconds"},
		{"an oversized body", "POST", "/api/v1/tenants", `{"name":"x","display_name":"` + strings.Repeat("a", 2<<20) + `"}`, 413, "too_large", "larger than"},
		{"a duplicate tenant", "POST", "/api/v1/tenants", map[string]any{"name": "acme"}, 409, "conflict", "already exists"},
		{"a duplicate version", "POST", "/api/v1/services/orders/versions", map[string]any{"name": "v1"}, 409, "conflict", "already exists"},
		{"an invalid tenant name", "POST", "/api/v1/tenants", map[string]any{"name": "Bad Name!"}, 422, "unprocessable", "invalid tenant"},
		{"percent 150", "PUT", "/api/v1/tenants/acme/bindings/orders", `{"mode":"split","baseline":"v1","candidate":"v2","percent":150}`, 400, "invalid", "between 0 and 100"},
		{"percent with three decimals", "PUT", "/api/v1/tenants/acme/bindings/orders", `{"mode":"split","baseline":"v1","candidate":"v2","percent":1.234}`, 400, "invalid", "two decimals"},
		{"an invalid rule", "PUT", "/api/v1/tenants/acme/bindings/orders", map[string]any{"mode": "default", "rules": []any{map[string]any{"version": "v2", "when": []any{map[string]any{"source": "cookie", "name": "x", "op": "equals", "values": []string{"1"}}}}}}, 422, "unprocessable", "invalid binding"},
		{"an unknown lane mode", "PUT", "/api/v1/tenants/acme/bindings/orders", map[string]any{"mode": "pin", "version": "v1", "lane_mode": "sometimes"}, 422, "unprocessable", "invalid binding"},
		{"resolve avoiding a malformed instance id", "POST", "/api/v1/resolve", map[string]any{"tenant": "acme", "service": "orders", "avoid": "a b"}, 422, "unprocessable", "invalid resolve request"},
		{"resolve in a malformed lane", "POST", "/api/v1/resolve", map[string]any{"tenant": "acme", "service": "orders", "lane": "../v2"}, 422, "unprocessable", "invalid resolve request"},
		{"a binding to a missing version", "PUT", "/api/v1/tenants/acme/bindings/orders", map[string]any{"mode": "pin", "version": "v9"}, 409, "conflict", "no version"},
		{"a binding for an unknown tenant", "PUT", "/api/v1/tenants/nobody/bindings/orders", map[string]any{"mode": "pin", "version": "v1"}, 404, "not_found", "nobody"},
		{"resolve for an unknown tenant", "POST", "/api/v1/resolve", map[string]any{"tenant": "nobody", "service": "orders"}, 404, "not_found", "nobody"},
		{"resolve for an unknown service", "POST", "/api/v1/resolve", map[string]any{"tenant": "acme", "service": "nothing"}, 404, "not_found", "nothing"},
		{"resolve with nested attributes", "POST", "/api/v1/resolve", `{"tenant":"acme","service":"orders","attributes":{"a":{"b":1}}}`, 400, "invalid", "attribute"},
		{"resolve without a tenant", "POST", "/api/v1/resolve", `{"service":"orders"}`, 422, "unprocessable", "invalid resolve request"},
		{"a bad path name", "GET", "/api/v1/tenants/BAD%20NAME", nil, 400, "invalid", "not a valid name"},
		{"a rollback to a missing revision", "POST", "/api/v1/revisions/99999/rollback", nil, 404, "not_found", "99999"},
		{"a rollback that would strand instances on a deleted version", "POST", "/api/v1/revisions/4/rollback", nil, 409, "conflict", "missing version"},
		{"a rollback to the latest revision", "POST", "/api/v1/revisions/6/rollback", nil, 400, "invalid", "nothing to roll back"},
		{"a rollback to a non-number", "POST", "/api/v1/revisions/abc/rollback", nil, 400, "invalid", "positive integer"},
		{"deleting a version in use", "DELETE", "/api/v1/services/orders/versions/v1", nil, 409, "conflict", ""},
		{"retiring the default version", "PUT", "/api/v1/services/orders/versions/v1", map[string]any{"state": "retired"}, 409, "conflict", "retired"},
		{"a body name that contradicts the path", "PUT", "/api/v1/services/orders", map[string]any{"name": "billing"}, 400, "invalid", "does not match"},
		{"an unknown route", "GET", "/api/v1/nothing", nil, 404, "not_found", "no such route"},
		{"a wrong method", "PATCH", "/api/v1/tenants", nil, 405, "method_not_allowed", "not allowed"},
		{"a report for an unknown instance", "POST", "/api/v1/report", map[string]any{"service": "orders", "instance": "ghost", "ok": false}, 404, "not_found", "ghost"},
		{"a report with a negative latency", "POST", "/api/v1/report", map[string]any{"service": "orders", "instance": "o1a", "ok": true, "latency_ms": -1}, 422, "unprocessable", "invalid report"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.call(t, tt.method, tt.path, tt.body)
			if r.Status != tt.status || r.ErrCode() != tt.code {
				t.Fatalf("got %d %s, want %d %s: %.300s", r.Status, r.ErrCode(), tt.status, tt.code, r.Raw)
			}
			if !strings.Contains(r.Str("error", "message")+" "+r.Raw, tt.mention) {
				t.Fatalf("error does not mention %q: %.300s", tt.mention, r.Raw)
			}
		})
	}
	t.Run("nothing was changed by the rejected requests", func(t *testing.T) {
		if after := s.call(t, "GET", "/api/v1/revisions?limit=1", nil).Raw; after != before {
			t.Fatalf("revisions changed:\nbefore %s\nafter  %s", before, after)
		}
	})
	t.Run("requests without the admin token are refused", func(t *testing.T) {
		for _, tok := range []string{"", "wrong-token", testToken + "x"} {
			r := s.callAs(t, tok, "GET", "/api/v1/tenants", nil)
			if r.Status != 401 || r.ErrCode() != "unauthenticated" {
				t.Fatalf("token %q: %d %s", tok, r.Status, r.Raw)
			}
		}
	})
}

func TestHelpDocumentsEveryFlag(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"serve", "--help"}, func(string) string { return "" }, &out, &errb); err != nil {
		t.Fatal(err)
	}
	help := errb.String()
	var c config
	for _, s := range bind(flag.NewFlagSet("x", flag.ContinueOnError), &c) {
		if !strings.Contains(help, "--"+s.flag) || !strings.Contains(help, "$"+s.env) {
			t.Errorf("help lacks --%s / $%s", s.flag, s.env)
		}
	}
	for _, want := range []string{"GREYROUTER_ADMIN_TOKEN", "embedded"} {
		if !strings.Contains(help, want) {
			t.Errorf("help does not mention %s", want)
		}
	}
	if err := run(context.Background(), []string{"serve", "--bogus"}, func(string) string { return "" }, &out, &errb); exitCode(err) != 2 {
		t.Fatalf("unknown flag: %v (exit %d), want a usage error", err, exitCode(err))
	}
	if err := run(context.Background(), []string{"frobnicate"}, func(string) string { return "" }, &out, &errb); exitCode(err) != 2 {
		t.Fatalf("unknown command: %v", err)
	}
}

func TestMigrateCommand(t *testing.T) {
	dir := t.TempDir()
	env := func(k string) string {
		if k == "GREYROUTER_DATA_DIR" {
			return dir
		}
		return ""
	}
	migrate := func(cmd string) string {
		var out, errb bytes.Buffer
		if err := run(context.Background(), []string{"migrate", cmd}, env, &out, &errb); err != nil {
			t.Fatalf("migrate %s: %v\n%s", cmd, err, errb.String())
		}
		return out.String()
	}
	if st := migrate("status"); !strings.Contains(st, "pending") {
		t.Fatalf("status before up: %s", st)
	}
	migrate("up")
	if st := migrate("status"); strings.Contains(st, "pending") || !strings.Contains(st, "00001") {
		t.Fatalf("status after up: %s", st)
	}
	migrate("down")
	if st := migrate("status"); !strings.Contains(st, "pending") {
		t.Fatalf("status after down: %s", st)
	}
}

func TestHealthcheckCommand(t *testing.T) {
	s := start(t, map[string]string{})
	var out, errb bytes.Buffer
	noenv := func(string) string { return "" }
	if err := run(context.Background(), []string{"healthcheck", s.base + "/readyz"}, noenv, &out, &errb); err != nil {
		t.Fatalf("healthy server: %v", err)
	}
	if err := run(context.Background(), []string{"healthcheck", s.base + "/nothing"}, noenv, &out, &errb); err == nil {
		t.Fatal("a 404 passed the health check")
	}
	if err := run(context.Background(), []string{"healthcheck", "ftp://x"}, noenv, &out, &errb); exitCode(err) != 2 {
		t.Fatalf("bad URL: %v", err)
	}
}

func TestFlagsWinOverEnvironment(t *testing.T) {
	env := map[string]string{"GREYROUTER_ADDR": ":9000", "GREYROUTER_REDIS_POOL_SIZE": "7", "GREYROUTER_DEMO": "true"}
	getenv := func(k string) string { return env[k] }
	c, _, err := parseConfig("serve", []string{"--addr", ":9100"}, getenv, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":9100" || c.RedisPoolSize != 7 || !c.Demo || c.LogLevel != "info" {
		t.Fatalf("config %+v", c)
	}
	env["GREYROUTER_REDIS_POOL_SIZE"] = "many"
	if _, _, err := parseConfig("serve", nil, getenv, &bytes.Buffer{}); exitCode(err) != 2 || !strings.Contains(err.Error(), "GREYROUTER_REDIS_POOL_SIZE") {
		t.Fatalf("bad environment value: %v", err)
	}
}
