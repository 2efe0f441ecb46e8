package auth

import (
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/greyrouter/greyrouter/internal/apperr"
)

// Defaults of Config.
const (
	// DefaultPollInterval matches greyrouter's own verifier: a process
	// that misses a notification catches up within about a second.
	DefaultPollInterval = time.Second
	// DefaultMaxStaleness matches greyrouter's --revocation-max-staleness.
	DefaultMaxStaleness = time.Minute
)

// jwksPath is where greyrouter publishes its signing keys.
const jwksPath = "/.well-known/jwks.json"

// Config configures an Authenticator. Issuer, Audience, Redis and one of
// JWKSURL or BaseURL are required.
type Config struct {
	// Issuer is the iss greyrouter signs with (its --issuer).
	Issuer string
	// Audience is the aud a token must name to be accepted here
	// (greyrouter's --audience).
	Audience string
	// BaseURL is greyrouter's base URL, e.g. "http://greyrouter:8080";
	// the keys are fetched from BaseURL + "/.well-known/jwks.json"
	// unless JWKSURL is set.
	BaseURL string
	// JWKSURL is where the signing keys are published, when not under
	// BaseURL.
	JWKSURL string
	// Redis is the Redis greyrouter publishes revocations on: a
	// standalone, Sentinel or Cluster client. The Authenticator reads and
	// subscribes; it never writes, and does not close the client.
	Redis redis.UniversalClient
	// PollInterval is how often the revocation feed is read even when no
	// notification arrives (notifications are lost while a subscription
	// reconnects); default DefaultPollInterval.
	PollInterval time.Duration
	// MaxStaleness is how long the revocation state may go without a
	// complete read of the feed before it counts as stale; default
	// DefaultMaxStaleness, negative for never. It must exceed
	// PollInterval.
	MaxStaleness time.Duration
	// AcceptWhenStale keeps accepting valid tokens while the revocation
	// state is stale: availability over prompt revocation (tokens revoked
	// meanwhile pass until they expire). The default refuses every token
	// with 503 until the feed is read again.
	AcceptWhenStale bool
	// CacheSize bounds the verified-token cache; default 100,000 tokens,
	// negative disables it.
	CacheSize int
	// HTTPClient fetches the key set; default a client with a 10-second
	// timeout.
	HTTPClient *http.Client
	// Log receives the state changes worth an operator's attention (the
	// revocation state going stale and recovering, keys unavailable); it
	// never receives a token. Default slog.Default().
	Log *slog.Logger
}

// keysURL returns the JWKS URL the configuration names.
func (c Config) keysURL() string {
	if c.JWKSURL != "" {
		return c.JWKSURL
	}
	return strings.TrimRight(c.BaseURL, "/") + jwksPath
}

// withDefaults checks c and fills in the defaults; every problem is
// reported at once, per field.
func (c Config) withDefaults() (Config, error) {
	p := map[string]string{}
	if c.Issuer == "" {
		p["issuer"] = "must not be empty"
	}
	if c.Audience == "" {
		p["audience"] = "must not be empty"
	}
	if c.Redis == nil {
		p["redis"] = "must be set: revocations reach other processes only through greyrouter's Redis feed"
	}
	switch {
	case c.JWKSURL == "" && c.BaseURL == "":
		p["jwks_url"] = "set JWKSURL or BaseURL"
	case !httpURL(c.keysURL()):
		field := "base_url"
		if c.JWKSURL != "" {
			field = "jwks_url"
		}
		p[field] = "must be an absolute http or https URL"
	}
	if c.PollInterval == 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.MaxStaleness == 0 {
		c.MaxStaleness = DefaultMaxStaleness
	}
	if c.PollInterval < 0 {
		p["poll_interval"] = "must not be negative"
	} else if c.MaxStaleness > 0 && c.MaxStaleness <= c.PollInterval {
		p["max_staleness"] = "must exceed poll_interval (" + c.PollInterval.String() + ")"
	}
	if len(p) > 0 {
		return c, configError(p)
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return c, nil
}

// configError is an Invalid error that names every problem in its text
// too, since a Go caller usually prints just that.
func configError(problems map[string]string) error {
	fields := slices.Sorted(maps.Keys(problems))
	msgs := make([]string, len(fields))
	for i, f := range fields {
		msgs[i] = f + " " + problems[f]
	}
	return &apperr.Error{Code: apperr.Invalid, Message: "invalid auth configuration: " + strings.Join(msgs, "; "), Details: problems}
}

func httpURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
