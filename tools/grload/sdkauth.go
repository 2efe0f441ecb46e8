package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"

	"github.com/greyrouter/greyrouter/login"
	"github.com/greyrouter/greyrouter/sdk/auth"
)

type sdkauthFlags struct {
	url, redisAddr, token, issuer, audience string
	services, trials                        int
	poll                                    time.Duration
}

const sdkauthSummary = `Measures how long a logout takes to reach services that authenticate with
the SDK middleware (sdk/auth), over HTTP. It starts --services HTTP servers
on loopback in this process, each with its own sdk/auth Authenticator, Redis
connection and key set client (as separate services would have); even ones
serve through the net/http middleware, odd ones through gin. For each of
--trials trials it logs a user in, checks that every service answers 200 to
the access token, logs out, and times until every service answers 401; each
service is asked again every millisecond. The clock starts before the logout
request is sent. The Authenticators always subscribe to the feed's
notifications, as services do; 'grload revocation --pubsub=false' measures
the polling fallback alone. A platform administrator for the run is created with the
bootstrap token (default $GREYROUTER_ADMIN_TOKEN).`

func sdkauthCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f sdkauthFlags
	fs := flag.NewFlagSet("grload sdkauth", flag.ContinueOnError)
	fs.StringVar(&f.url, "url", "http://127.0.0.1:8080", "greyrouter base URL (loopback only)")
	fs.StringVar(&f.redisAddr, "redis", "127.0.0.1:6379", "host:port of the Redis greyrouter uses (loopback only)")
	fs.StringVar(&f.token, "token", "", "bootstrap token (default $GREYROUTER_ADMIN_TOKEN)")
	fs.StringVar(&f.issuer, "issuer", "greyrouter", "expected iss of access tokens")
	fs.StringVar(&f.audience, "audience", "greyrouter", "expected aud of access tokens")
	fs.IntVar(&f.services, "services", 10, "services, each with its own Authenticator and HTTP server")
	fs.IntVar(&f.trials, "trials", 100, "logout trials")
	fs.DurationVar(&f.poll, "poll", time.Second, "the Authenticators' PollInterval (the fallback for missed notifications)")
	if err := parse(fs, sdkauthSummary, args, stdout, stderr); err != nil {
		return err
	}
	if f.services < 1 || f.services > 100 || f.trials < 1 || f.trials > 10_000 || f.poll <= 0 {
		return fmt.Errorf("%w: --services must be 1..100, --trials 1..10000 and --poll positive", errUsage)
	}
	u, err := loopbackURL(f.url)
	if err != nil {
		return err
	}
	if err := loopbackAddr(f.redisAddr); err != nil {
		return err
	}
	if f.token == "" {
		f.token = os.Getenv("GREYROUTER_ADMIN_TOKEN")
	}
	log := newLogger(stderr)
	api := newAPIClient(u.Scheme+"://"+u.Host, 8)

	user, password := "grload-"+login.NewSessionID()[:12], login.NewSecret()
	if err := api.ensurePlatformAdmin(ctx, f.token, user, password); err != nil {
		return fmt.Errorf("create the run's administrator: %w", err)
	}

	gin.SetMode(gin.ReleaseMode)
	urls := make([]string, f.services)
	for i := range urls {
		rdb := redis.NewClient(&redis.Options{Addr: f.redisAddr, PoolSize: 4})
		defer rdb.Close()
		startCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		a, err := auth.New(startCtx, auth.Config{
			Issuer: f.issuer, Audience: f.audience, BaseURL: api.base, Redis: rdb, PollInterval: f.poll,
			MaxStaleness: max(time.Minute, 2*f.poll), Log: log.With("service", i),
		})
		cancel()
		if err != nil {
			return fmt.Errorf("service %d: %w", i, err)
		}
		defer a.Close()
		url, stop, err := serveSDKAuth(a, i%2 == 1, log)
		if err != nil {
			return err
		}
		defer stop()
		urls[i] = url
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		MaxIdleConns: 4 * f.services, MaxIdleConnsPerHost: 4, DisableCompression: true,
	}}

	lat := make([]time.Duration, 0, f.trials)
	for trial := range f.trials {
		if err := ctx.Err(); err != nil {
			return err
		}
		g, err := api.login(ctx, "", user, password)
		if err != nil {
			return fmt.Errorf("trial %d: login: %w", trial, err)
		}
		for i, url := range urls {
			if status, err := whoami(ctx, client, url, g.AccessToken); err != nil || status != http.StatusOK {
				return fmt.Errorf("trial %d: service %d answers a fresh token with %d (%v)", trial, i, status, err)
			}
		}
		start := time.Now()
		if err := api.do(ctx, http.MethodPost, "/api/v1/logout", g.AccessToken, nil, nil); err != nil {
			return fmt.Errorf("trial %d: logout: %w", trial, err)
		}
		slowest, err := untilEveryServiceRefuses(ctx, client, urls, g.AccessToken, start)
		if err != nil {
			return fmt.Errorf("trial %d: %w", trial, err)
		}
		lat = append(lat, slowest)
		if (trial+1)%25 == 0 {
			log.Info("progress", "trials", trial+1, "of", f.trials)
		}
	}
	slices.Sort(lat)
	fmt.Fprintf(stdout, "\ngrload sdkauth: services=%d (net/http and gin alternating) trials=%d poll=%s (time from sending logout until every service answers 401)\n\n", f.services, f.trials, f.poll)
	fmt.Fprintf(stdout, "p50 %s  p90 %s  p99 %s  max %s   bar p99 <= 1s: %s\n",
		ms(percentile(lat, 0.50)), ms(percentile(lat, 0.90)), ms(percentile(lat, 0.99)), ms(lat[len(lat)-1]),
		metIf(percentile(lat, 0.99) <= time.Second))
	return nil
}

// serveSDKAuth serves GET /whoami behind a's middleware, on gin or
// net/http, on a free loopback port, and returns its URL.
func serveSDKAuth(a *auth.Authenticator, onGin bool, log *slog.Logger) (string, func(), error) {
	var h http.Handler
	if onGin {
		r := gin.New()
		r.GET("/whoami", a.Gin(), func(c *gin.Context) {
			p, _ := auth.FromGin(c)
			c.String(http.StatusOK, p.Subject)
		})
		h = r
	} else {
		mux := http.NewServeMux()
		mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
			p, _ := auth.FromContext(r.Context())
			_, _ = io.WriteString(w, p.Subject)
		})
		h = a.Middleware(mux)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			log.Error("service stopped", "err", err)
		}
	}()
	return "http://" + ln.Addr().String() + "/whoami", func() { _ = srv.Close() }, nil
}

// whoami asks a service with the token and returns its status.
func whoami(ctx context.Context, client *http.Client, url, token string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// untilEveryServiceRefuses asks every service every millisecond until it
// answers 401, and returns the time from start until the last one did.
func untilEveryServiceRefuses(ctx context.Context, client *http.Client, urls []string, token string, start time.Time) (time.Duration, error) {
	took, err := untilAll(len(urls), "service", start, time.Millisecond, func(i int) (bool, error) {
		status, err := whoami(ctx, client, urls[i], token)
		if err == nil && status != http.StatusOK && status != http.StatusUnauthorized {
			err = fmt.Errorf("answers %d", status)
		}
		return status == http.StatusUnauthorized, err
	})
	if err != nil {
		return 0, err
	}
	return slices.Max(took), nil
}
