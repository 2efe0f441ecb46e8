package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/greyrouter/greyrouter/login"
	loginredis "github.com/greyrouter/greyrouter/login/redisstore"
	"github.com/greyrouter/greyrouter/login/verify"
)

type revocationFlags struct {
	url, redisAddr, token, issuer, audience string
	verifiers, trials                       int
	pubsub                                  bool
	poll                                    time.Duration
}

const revocationSummary = `Measures how long a logout takes to reach independent verifiers. It
starts --verifiers verifiers in this process, each with its own JWKS client,
Redis connection and revocation feed subscription (as separate services
would have), then for each of --trials trials: logs a user in, checks that
every verifier accepts the access token, logs out, and times until every
verifier rejects it. The clock starts before the logout request is sent.
A platform administrator for the run is created with the bootstrap token
(default $GREYROUTER_ADMIN_TOKEN).`

func revocationCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f revocationFlags
	fs := flag.NewFlagSet("grload revocation", flag.ContinueOnError)
	fs.StringVar(&f.url, "url", "http://127.0.0.1:8080", "greyrouter base URL (loopback only)")
	fs.StringVar(&f.redisAddr, "redis", "127.0.0.1:6379", "host:port of the Redis greyrouter uses (loopback only)")
	fs.StringVar(&f.token, "token", "", "bootstrap token (default $GREYROUTER_ADMIN_TOKEN)")
	fs.StringVar(&f.issuer, "issuer", "greyrouter", "expected iss of access tokens")
	fs.StringVar(&f.audience, "audience", "greyrouter", "expected aud of access tokens")
	fs.IntVar(&f.verifiers, "verifiers", 10, "independent verifiers")
	fs.IntVar(&f.trials, "trials", 100, "logout trials")
	fs.BoolVar(&f.pubsub, "pubsub", true, "verifiers subscribe to notifications; false measures the polling fallback alone")
	fs.DurationVar(&f.poll, "poll", time.Second, "verifiers' polling interval (the fallback for missed notifications)")
	if err := parse(fs, revocationSummary, args, stdout, stderr); err != nil {
		return err
	}
	if f.verifiers < 1 || f.verifiers > 100 || f.trials < 1 || f.trials > 10_000 {
		return fmt.Errorf("%w: --verifiers must be 1..100 and --trials 1..10000", errUsage)
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

	vctx, stop := context.WithCancel(ctx)
	defer stop()
	vs := make([]*verify.Verifier, f.verifiers)
	for i := range vs {
		rdb := redis.NewClient(&redis.Options{Addr: f.redisAddr, PoolSize: 4})
		defer rdb.Close()
		feed := loginredis.NewFeed(rdb)
		revs := verify.NewRevocations(nil)
		var notify <-chan struct{}
		if f.pubsub {
			notify = feed.Notifications(vctx)
		}
		go func() { _ = revs.Follow(vctx, feed, notify, f.poll) }()
		v, err := verify.New(verify.Config{
			Issuer: f.issuer, Audience: f.audience, Revocations: revs,
			Keys: verify.NewJWKS(api.base+"/.well-known/jwks.json", &http.Client{Timeout: 5 * time.Second}, verify.JWKSOptions{}),
		})
		if err != nil {
			return err
		}
		vs[i] = v
		deadline := time.Now().Add(10 * time.Second)
		for !revs.Ready() {
			if time.Now().After(deadline) {
				return fmt.Errorf("verifier %d never read the revocation feed", i)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	lat := make([]time.Duration, 0, f.trials)
	for trial := range f.trials {
		if err := ctx.Err(); err != nil {
			return err
		}
		g, err := api.login(ctx, "", user, password)
		if err != nil {
			return fmt.Errorf("trial %d: login: %w", trial, err)
		}
		for i, v := range vs {
			if _, err := v.Verify(ctx, g.AccessToken); err != nil {
				return fmt.Errorf("trial %d: verifier %d rejects a fresh token: %w", trial, i, err)
			}
		}
		start := time.Now()
		if err := api.do(ctx, http.MethodPost, "/api/v1/logout", g.AccessToken, nil, nil); err != nil {
			return fmt.Errorf("trial %d: logout: %w", trial, err)
		}
		took, err := untilAll(len(vs), "verifier", start, 200*time.Microsecond, func(i int) (bool, error) {
			_, err := vs[i].Verify(ctx, g.AccessToken)
			return err != nil, nil // rejected: the revocation arrived
		})
		if err != nil {
			return fmt.Errorf("trial %d: %w", trial, err)
		}
		slowest := slices.Max(took)
		lat = append(lat, slowest)
		if (trial+1)%25 == 0 {
			log.Info("progress", "trials", trial+1, "of", f.trials)
		}
	}
	slices.Sort(lat)
	fmt.Fprintf(stdout, "\ngrload revocation: verifiers=%d trials=%d pubsub=%t poll=%s (time from sending logout until every verifier rejects the token)\n\n", f.verifiers, f.trials, f.pubsub, f.poll)
	fmt.Fprintf(stdout, "p50 %s  p90 %s  p99 %s  max %s   bar p99 <= 1s: %s\n",
		ms(percentile(lat, 0.50)), ms(percentile(lat, 0.90)), ms(percentile(lat, 0.99)), ms(lat[len(lat)-1]),
		metIf(percentile(lat, 0.99) <= time.Second))
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000) }
