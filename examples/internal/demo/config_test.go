package demo

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestParseService(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	base := []string{"GREYROUTER_TOKEN", "t0k", "REDIS_URL", "redis://127.0.0.1:6379"}

	t.Run("the environment gives the defaults and flags win over it", func(t *testing.T) {
		c, err := ParseService("orders", []string{"-version", "v2", "-router", "http://gr:8080/"},
			env(append(base, "GREYROUTER_URL", "http://elsewhere:1", "DEMO_VERSION", "v9")...), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if c.Service != "orders" || c.Version != "v2" || c.URL != "http://gr:8080" || c.Token != "t0k" || c.Addr != "127.0.0.1:0" || c.DrainFor != 5*time.Second {
			t.Fatalf("got %+v", c)
		}
	})
	t.Run("a machine client wins over a token", func(t *testing.T) {
		c, err := ParseService("billing", []string{"-client-id", "gc-1", "-client-secret", "s"}, env(base...), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if c.ClientID != "gc-1" || !c.HasCredentials() {
			t.Fatalf("got %+v", c)
		}
	})
	for _, tc := range []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"no credentials are refused", nil, []string{"REDIS_URL", "redis://r:6379"}, "no credentials"},
		{"a client id without its secret is refused", []string{"-client-id", "gc-1"}, []string{"REDIS_URL", "redis://r:6379"}, "-client-secret"},
		{"no Redis is refused", nil, []string{"GREYROUTER_TOKEN", "t"}, "-redis"},
		{"a router that is not a URL is refused", []string{"-router", "gr:8080"}, base, "not an http(s) URL"},
		{"a permission without an action is refused", []string{"-require", "orders"}, base, "resource:action"},
		{"stray arguments are refused", []string{"extra"}, base, "unexpected arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseService("orders", tc.args, env(tc.env...), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestAnswerHops(t *testing.T) {
	for _, tc := range []struct {
		name string
		a    Answer
		want string
	}{
		{"one hop", Answer{Service: "billing", Version: "v1"}, "billing v1"},
		{"two hops in the baseline", Answer{Service: "orders", Version: "v1", Billing: &Answer{Service: "billing", Version: "v1"}}, "orders v1 -> billing v1"},
		{"two hops in a lane", Answer{Service: "orders", Version: "v2", Billing: &Answer{Service: "billing", Version: "v2", Lane: "v2"}}, "orders v2 -> billing v2 (lane v2)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.a.Hops(); got != tc.want {
				t.Fatalf("Hops() = %q, want %q", got, tc.want)
			}
		})
	}
}
