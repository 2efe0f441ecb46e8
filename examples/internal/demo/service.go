package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/greyrouter/greyrouter/sdk/auth"
	"github.com/greyrouter/greyrouter/sdk/lane"
	"github.com/greyrouter/greyrouter/sdk/privilege"
	"github.com/greyrouter/greyrouter/sdk/registry"
	"github.com/greyrouter/greyrouter/sdk/router"
)

// startTimeout bounds what a start waits for: greyrouter's keys and
// revocation feed, the first routing snapshot, the registration.
const startTimeout = 30 * time.Second

// Deps is what an example service's handler builds on.
type Deps struct {
	// Config is the process's configuration, with ID and Advertise
	// filled in.
	Config ServiceConfig
	// Downstream calls other services the way the router decides
	// (sdk/router's Transport on local decisions): the URL's host names
	// the service, the verified principal the tenant and sticky key. Send
	// each request with the incoming request's context, so that the
	// Transport keeps it in its release lane.
	Downstream *http.Client
	Log        *slog.Logger
}

// Serve runs an example service until ctx ends: every request passes
// sdk/lane's middleware (the lane from the baggage header), sdk/auth's
// (the caller's access token, verified in process) and, with
// cfg.Require, sdk/privilege's permission check, before the handler
// build returns. Once it listens, the instance registers itself with the
// router (sdk/registry) and keeps sending heartbeats.
//
// When ctx ends (SIGTERM) it leaves without losing a request: it marks
// the instance draining, so callers stop choosing it while it still
// answers what they chose before; waits cfg.DrainFor; deregisters; and
// only then stops the HTTP server, letting requests in flight finish.
func Serve(ctx context.Context, cfg ServiceConfig, stdout io.Writer, log *slog.Logger, build func(Deps) http.Handler) error {
	tokens, err := cfg.Tokens()
	if err != nil {
		return err
	}
	opts, err := redis.ParseURL(cfg.Redis)
	if err != nil {
		return errors.New("-redis is not a redis:// or rediss:// URL")
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()

	startCtx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	authn, err := auth.New(startCtx, auth.Config{Issuer: cfg.Issuer, Audience: cfg.Audience, BaseURL: cfg.URL, Redis: rdb, Log: log})
	if err != nil {
		return fmt.Errorf("start token verification: %w", err)
	}
	defer authn.Close()
	routes, err := router.NewLocal(startCtx, router.LocalConfig{RouterURL: cfg.URL, Tokens: router.TokenSource(tokens), Logger: log})
	if err != nil {
		return fmt.Errorf("fetch the routing snapshot: %w", err)
	}
	defer routes.Close()
	reporter, err := router.NewReporter(routes, router.ReporterConfig{Logger: log})
	if err != nil {
		return fmt.Errorf("start the outcome reporter: %w", err)
	}
	defer closeWithin(reporter.Close, 5*time.Second)

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	if cfg.Advertise == "" {
		cfg.Advertise = ln.Addr().String()
	}
	if cfg.ID == "" {
		_, port, _ := net.SplitHostPort(cfg.Advertise)
		cfg.ID = strings.Join([]string{cfg.Service, cfg.Version, port}, "-")
	}

	downstream := &http.Client{Timeout: 10 * time.Second, Transport: &router.Transport{
		Client: routes, Reporter: reporter, Tenant: principalTenant, Options: principalKey}}
	handler := build(Deps{Config: cfg, Downstream: downstream, Log: log})
	if cfg.Require != "" {
		perms, err := privilege.New(startCtx, privilege.Options{BaseURL: cfg.URL, TokenSource: tokens, Redis: rdb, Log: log})
		if err != nil {
			ln.Close()
			return fmt.Errorf("start privilege checks: %w", err)
		}
		defer perms.Close()
		resource, action, _ := strings.Cut(cfg.Require, ":")
		handler = perms.RequirePermission(resource, action)(handler)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	mux.Handle("/", lane.Middleware(authn.Middleware(handler)))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	reg, err := registry.Register(startCtx, registry.WithRouter(cfg.URL, tokens),
		registry.Instance{Service: cfg.Service, ID: cfg.ID, Version: cfg.Version, Address: cfg.Advertise},
		registry.Options{TTL: cfg.TTL, DrainFor: cfg.DrainFor, Log: log})
	if err != nil {
		_ = srv.Close()
		return fmt.Errorf("register %s: %w", cfg.ID, err)
	}
	fmt.Fprintf(stdout, "%s %s serving on %s as %s\n", cfg.Service, cfg.Version, cfg.Advertise, cfg.ID)

	select {
	case <-ctx.Done():
	case err := <-served:
		// The server failed: leave the router's table at once.
		closeWithin(reg.Shutdown, 5*time.Second)
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("draining", "id", cfg.ID, "for", cfg.DrainFor)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.DrainFor+15*time.Second)
	defer cancel()
	// Drain and deregister first: the server keeps answering what callers
	// decided before they heard of the drain.
	errReg := reg.Shutdown(shutdownCtx)
	errSrv := srv.Shutdown(shutdownCtx)
	fmt.Fprintf(stdout, "%s drained and stopped\n", cfg.ID)
	return errors.Join(errReg, errSrv)
}

// principalTenant routes a downstream call for the tenant of the caller
// sdk/auth verified.
func principalTenant(r *http.Request) string {
	p, _ := auth.FromContext(r.Context())
	return p.Tenant
}

// principalKey makes the caller's subject the sticky key, so one user
// stays on one side of a percentage split.
func principalKey(r *http.Request) router.ResolveOptions {
	p, _ := auth.FromContext(r.Context())
	return router.ResolveOptions{Key: p.Subject}
}

// closeWithin calls close with a context that ends after d.
func closeWithin(close func(context.Context) error, d time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	_ = close(ctx)
}
