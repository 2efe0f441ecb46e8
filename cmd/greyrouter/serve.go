package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/greyrouter/greyrouter/internal/dbx"
	loginhttp "github.com/greyrouter/greyrouter/login/httpapi"
	privhttp "github.com/greyrouter/greyrouter/privilege/httpapi"
	"github.com/greyrouter/greyrouter/router"
	"github.com/greyrouter/greyrouter/router/httpapi"
	"github.com/greyrouter/greyrouter/router/redisstore"
	"github.com/greyrouter/greyrouter/router/sqlstore"
)

// serveCommand wires every dependency explicitly and serves until ctx ends,
// then shuts down gracefully.
func serveCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, onListen func(net.Addr)) error {
	c, rest, err := parseConfig("serve", args, getenv, stderr)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, rest)
	}
	log, err := newLogger(c, stderr)
	if err != nil {
		return err
	}

	// Secrets and login settings are checked before anything is opened.
	kek, err := keyEncryptionKey(c)
	if err != nil {
		return err
	}
	if err := c.validLogin(); err != nil {
		return err
	}

	db, err := dbx.Open(ctx, c.DatabaseURL, c.DataDir, log)
	if err != nil {
		return err
	}
	defer db.Close()
	if !c.SkipMigrations {
		if _, err := dbx.Up(ctx, db); err != nil {
			return err
		}
	}

	rdb, closeRedis, err := openRedis(ctx, c, log)
	if err != nil {
		return err
	}
	defer closeRedis()

	token, err := adminToken(c, stdout)
	if err != nil {
		return err
	}

	store := sqlstore.New(db.Gorm, db.Dialect())
	// Decisions are pipelined: concurrent requests share Redis round trips.
	rs := redisstore.NewBatched(rdb, 4)
	defer rs.Close()
	m := router.NewManager(store, rs, rs, log, nil)
	if c.DrainGrace < 0 || c.DrainMax < c.DrainGrace {
		return fmt.Errorf("%w: --drain-grace must not be negative nor longer than --drain-max", errUsage)
	}
	m.SetLifecycle(router.Lifecycle{DrainGrace: c.DrainGrace, DrainMax: c.DrainMax})
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	auth, err := newLoginStack(ctx, c, kek, db, rdb, m, token, reg, log)
	if err != nil {
		return err
	}
	priv, err := newPrivilegeStack(ctx, c, db, rdb, m, reg, log)
	if err != nil {
		return err
	}
	defer priv.close()
	if c.Demo {
		if err := seedDemo(ctx, m); err != nil {
			return fmt.Errorf("seed demo data: %w", err)
		}
		if err := seedDemoUsers(ctx, auth.service, stdout); err != nil {
			return err
		}
	}
	start := time.Now()
	if err := m.SyncAll(ctx); err != nil {
		// Redis may come later: the reconciler keeps trying.
		log.Warn("initial projection incomplete; retrying in the background", "err", err)
	} else {
		log.Info("routing tables projected to redis", "took", time.Since(start).Round(time.Millisecond))
	}
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBG()
	go m.RunReconciler(bg, c.ReconcileInterval, c.ResyncInterval)
	go auth.run(bg, log)
	go priv.run(bg, log)
	registry, err := newNacosStack(c, m, reg, log)
	if err != nil {
		return err
	}
	checks := []httpapi.Check{
		{Name: "database", Fn: store.Ping},
		{Name: "redis", Fn: func(ctx context.Context) error { return rdb.Ping(ctx).Err() }},
		{Name: "login", Fn: auth.ready},
		{Name: "privilege", Fn: priv.ready, Advisory: true},
	}
	if registry != nil {
		go registry.run(bg)
		defer registry.leave()
		checks = append(checks, httpapi.Check{Name: "nacos", Fn: registry.ready, Advisory: true})
	}
	defer auth.close(context.WithoutCancel(ctx), log)

	api := composeAPI(auth.api, priv.api, httpapi.Config{
		Manager: m, Log: log, Registry: reg,
		Checks: checks,
	})
	srv := &http.Server{
		Handler:           api.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	// Long polls answer at once when shutting down, rather than hold up
	// Shutdown for as long as they would wait.
	srv.RegisterOnShutdown(api.Drain)
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.Addr, err)
	}
	log.Info("greyrouter listening", "addr", ln.Addr().String(), "database", db.Dialect(), "demo", c.Demo)
	if onListen != nil {
		onListen(ln.Addr())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	if registry != nil {
		// Leave Nacos first, so that callers stop choosing this process
		// while it finishes what it has.
		registry.leave()
	}
	log.Info("shutting down", "timeout", c.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	stopBG()
	log.Info("stopped")
	return nil
}

// composeAPI puts the router, login and privilege APIs on one engine: the
// login API authenticates every router and privilege route and adds its
// own.
func composeAPI(auth *loginhttp.API, p *privhttp.API, cfg httpapi.Config) *httpapi.API {
	authenticate := auth.Authenticate()
	cfg.Authenticate = authenticate
	cfg.Routes = func(r *gin.Engine) {
		auth.Routes(r)
		p.Routes(r, authenticate)
	}
	return httpapi.New(cfg)
}
