package auth_test

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/internal/testutil"
	loginredis "github.com/greyrouter/greyrouter/login/redisstore"
	"github.com/greyrouter/greyrouter/sdk/auth"
)

func TestNewNamesEveryProblemOfTheConfiguration(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never dialled
	t.Cleanup(func() { _ = rdb.Close() })
	good := auth.Config{Issuer: "greyrouter", Audience: "orders", BaseURL: "http://greyrouter:8080", Redis: rdb}
	cases := []struct {
		name   string
		edit   func(*auth.Config)
		fields []string
	}{
		{"an empty configuration", func(c *auth.Config) { *c = auth.Config{} }, []string{"audience", "issuer", "jwks_url", "redis"}},
		{"a base URL without a scheme", func(c *auth.Config) { c.BaseURL = "greyrouter:8080" }, []string{"base_url"}},
		{"a key set URL that is not HTTP", func(c *auth.Config) { c.JWKSURL = "file:///etc/jwks.json" }, []string{"jwks_url"}},
		{"a staleness within the poll interval", func(c *auth.Config) { c.PollInterval, c.MaxStaleness = time.Second, time.Second }, []string{"max_staleness"}},
		{"a negative poll interval", func(c *auth.Config) { c.PollInterval = -time.Second }, []string{"poll_interval"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := good
			c.edit(&cfg)
			a, err := auth.New(t.Context(), cfg)
			if err == nil {
				a.Close()
				t.Fatal("New accepted the configuration")
			}
			if apperr.CodeOf(err) != apperr.Invalid {
				t.Errorf("code %s, want invalid: %v", apperr.CodeOf(err), err)
			}
			if got := slices.Sorted(maps.Keys(apperr.DetailsOf(err))); !slices.Equal(got, c.fields) {
				t.Errorf("fields %v, want %v (%v)", got, c.fields, err)
			}
			for _, f := range c.fields {
				if !strings.Contains(err.Error(), f) {
					t.Errorf("error text %q does not name %s", err, f)
				}
			}
		})
	}
}

func TestNewFailsWithoutTheKeysOrTheRevocationFeed(t *testing.T) {
	gr := newStub()
	t.Cleanup(gr.Close)
	t.Run("the key set cannot be fetched", func(t *testing.T) {
		_, err := auth.New(t.Context(), auth.Config{Issuer: "greyrouter", Audience: "orders", JWKSURL: gr.URL + "/nowhere", Redis: gr.Redis})
		if err == nil || !strings.Contains(err.Error(), "fetch signing keys") {
			t.Fatalf("New = %v, want a key fetch failure", err)
		}
	})
	t.Run("Redis does not answer before the deadline", func(t *testing.T) {
		rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
		t.Cleanup(func() { _ = rdb.Close() })
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		_, err := auth.New(ctx, auth.Config{Issuer: "greyrouter", Audience: "orders", BaseURL: gr.URL + "/", Redis: rdb})
		if err == nil || !strings.Contains(err.Error(), "read the revocation feed") {
			t.Fatalf("New = %v, want a feed failure", err)
		}
	})
}

func TestCloseEndsTheSubscriptionAndMayBeCalledTwice(t *testing.T) {
	gr := newStub() // its key set; the feed on a real Redis
	t.Cleanup(gr.Close)
	rdb := testutil.Redis(t).Client(t)
	a, err := auth.New(t.Context(), auth.Config{Issuer: "greyrouter", Audience: "orders", BaseURL: gr.URL, Redis: rdb})
	if err != nil {
		t.Fatal(err)
	}
	subscribers := func() int64 {
		n, err := rdb.PubSubNumSub(t.Context(), loginredis.RevocationChannel).Result()
		if err != nil {
			t.Fatal(err)
		}
		return n[loginredis.RevocationChannel]
	}
	if !eventually(5*time.Second, func() bool { return subscribers() == 1 }) {
		t.Fatalf("%d subscribers to the feed, want 1", subscribers())
	}
	a.Close()
	a.Close()
	if !eventually(5*time.Second, func() bool { return subscribers() == 0 }) {
		t.Fatalf("%d subscribers after Close, want 0", subscribers())
	}
}
