package demo

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/greyrouter/greyrouter/sdk/registry"
)

// Greyrouter says where greyrouter is and how an example process talks to
// it. Every field has a flag and an environment variable, the flag winning.
type Greyrouter struct {
	// URL is greyrouter's base URL (-router, $GREYROUTER_URL).
	URL string
	// Token is a platform principal's bearer token (-token,
	// $GREYROUTER_TOKEN), e.g. the break-glass admin token of a demo.
	Token string
	// ClientID and ClientSecret are a platform machine client's
	// credentials (-client-id, -client-secret, $GREYROUTER_CLIENT_ID,
	// $GREYROUTER_CLIENT_SECRET); they win over Token.
	ClientID, ClientSecret string
	// Redis is greyrouter's Redis (-redis, $REDIS_URL), where sdk/auth
	// follows token revocations and sdk/privilege policy changes.
	Redis string
	// Issuer and Audience are greyrouter's --issuer and --audience.
	Issuer, Audience string
}

// Bind declares g's flags on fs, defaulting to the environment.
func (g *Greyrouter) Bind(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&g.URL, "router", envOr(getenv, "GREYROUTER_URL", "http://127.0.0.1:8080"), "greyrouter's base URL ($GREYROUTER_URL)")
	fs.StringVar(&g.Token, "token", getenv("GREYROUTER_TOKEN"), "a platform principal's bearer token ($GREYROUTER_TOKEN)")
	fs.StringVar(&g.ClientID, "client-id", getenv("GREYROUTER_CLIENT_ID"), "a platform machine client's id ($GREYROUTER_CLIENT_ID)")
	fs.StringVar(&g.ClientSecret, "client-secret", getenv("GREYROUTER_CLIENT_SECRET"), "its secret ($GREYROUTER_CLIENT_SECRET)")
	fs.StringVar(&g.Redis, "redis", getenv("REDIS_URL"), "greyrouter's Redis, redis://host:port ($REDIS_URL)")
	fs.StringVar(&g.Issuer, "issuer", envOr(getenv, "GREYROUTER_ISSUER", "greyrouter"), "greyrouter's --issuer ($GREYROUTER_ISSUER)")
	fs.StringVar(&g.Audience, "audience", envOr(getenv, "GREYROUTER_AUDIENCE", "greyrouter"), "greyrouter's --audience ($GREYROUTER_AUDIENCE)")
}

// HasCredentials reports whether a platform credential was given.
func (g Greyrouter) HasCredentials() bool {
	return g.ClientID != "" || g.Token != ""
}

// Tokens returns the token source of the platform credential given: a
// machine client's tokens from the token endpoint, else the static token.
func (g Greyrouter) Tokens() (registry.TokenSource, error) {
	switch {
	case g.ClientID != "":
		if g.ClientSecret == "" {
			return nil, errors.New("-client-id needs -client-secret")
		}
		return registry.ClientCredentials(g.URL, g.ClientID, g.ClientSecret, nil), nil
	case g.Token != "":
		return registry.StaticToken(g.Token), nil
	}
	return nil, errors.New("no credentials: set -client-id and -client-secret (a platform machine client) or -token")
}

// Check checks the flags Bind declared.
func (g *Greyrouter) Check() error {
	u, err := url.Parse(g.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("-router %q is not an http(s) URL", g.URL)
	}
	g.URL = strings.TrimRight(g.URL, "/")
	return nil
}

// ServiceConfig configures an example service (orders, billing).
type ServiceConfig struct {
	Greyrouter
	// Service is the router service the process is an instance of; the
	// main package sets it.
	Service string
	// Version is the router version the instance serves (-version).
	Version string
	// Addr is the listen address (-addr); port 0 picks a free one.
	Addr string
	// Advertise is the address callers reach the instance at
	// (-advertise); default the address listened on.
	Advertise string
	// ID names the instance in the router (-id); default
	// <service>-<version>-<port>.
	ID string
	// Require, "resource:action", puts sdk/privilege's RequirePermission
	// in front of the handler (-require); empty: authentication only.
	Require string
	// DrainFor is how long the instance drains before it deregisters
	// (-drain-for), TTL its heartbeat TTL (-ttl).
	DrainFor, TTL time.Duration
}

// ParseService reads the configuration of service from args and getenv.
func ParseService(service string, args []string, getenv func(string) string, stderr io.Writer) (ServiceConfig, error) {
	c := ServiceConfig{Service: service}
	fs := flag.NewFlagSet(service, flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.Bind(fs, getenv)
	fs.StringVar(&c.Version, "version", envOr(getenv, "DEMO_VERSION", "v1"), "the version this instance serves ($DEMO_VERSION)")
	fs.StringVar(&c.Addr, "addr", envOr(getenv, "DEMO_ADDR", "127.0.0.1:0"), "listen address ($DEMO_ADDR)")
	fs.StringVar(&c.Advertise, "advertise", getenv("DEMO_ADVERTISE"), "host:port callers reach this instance at (default: the address listened on)")
	fs.StringVar(&c.ID, "id", getenv("DEMO_ID"), "instance id (default <service>-<version>-<port>)")
	fs.StringVar(&c.Require, "require", getenv("DEMO_REQUIRE"), `permission every request needs, "resource:action" (default: none)`)
	fs.DurationVar(&c.DrainFor, "drain-for", registry.DefaultDrainFor, "how long to drain on SIGTERM before deregistering")
	fs.DurationVar(&c.TTL, "ttl", registry.DefaultTTL, "heartbeat TTL told to the router")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if err := c.Check(); err != nil {
		return c, err
	}
	if c.Redis == "" {
		return c, errors.New("-redis (or $REDIS_URL) is required: sdk/auth follows token revocations on greyrouter's Redis")
	}
	if c.Require != "" {
		if res, act, ok := strings.Cut(c.Require, ":"); !ok || res == "" || act == "" {
			return c, fmt.Errorf(`-require %q is not "resource:action"`, c.Require)
		}
	}
	if _, err := c.Tokens(); err != nil {
		return c, err
	}
	return c, nil
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}
