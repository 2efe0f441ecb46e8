package httpapi

import (
	"cmp"
	"github.com/greyrouter/greyrouter/internal/httpx"
	"sync"

	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/greyrouter/greyrouter/router"
)

// Check is one readiness dependency (database, redis).
type Check struct {
	Name string
	Fn   func(ctx context.Context) error
	// Advisory checks are reported in the details without making the
	// process unready (a stale registry: decisions still work from the
	// last known instances).
	Advisory bool
}

// API serves the router over HTTP.
type API struct {
	m          *router.Manager
	log        *slog.Logger
	adminToken string
	auth       gin.HandlerFunc
	extra      func(r *gin.Engine)
	checks     []Check
	reg        *prometheus.Registry
	metrics    *metrics
	// draining is closed by Drain: long polls answer at once.
	draining  chan struct{}
	drainOnce sync.Once
	// snapshotRefresh is Config.SnapshotRefresh, defaulted.
	snapshotRefresh time.Duration
}

// Config holds what New needs.
type Config struct {
	Manager *router.Manager
	Log     *slog.Logger
	// Authenticate is the authentication middleware (login/httpapi); it
	// sets the principal (internal/httpx). When nil, only AdminToken is
	// accepted, as a platform principal.
	Authenticate gin.HandlerFunc
	AdminToken   string
	// Routes registers further APIs (login) on the same engine, behind
	// the same recovery, metrics and not-found handling.
	Routes func(r *gin.Engine)
	Checks []Check
	// Registry receives the API's metrics and is served on /metrics.
	Registry *prometheus.Registry
	// SnapshotRefresh is how often, at least, the routing snapshot is
	// rebuilt while clients wait on it, to notice what neither a revision
	// nor the decider's change count shows (lapsed heartbeats, cooldowns
	// over); 0 means one second.
	SnapshotRefresh time.Duration
}

// New builds the API; call Handler for the http.Handler.
func New(cfg Config) *API {
	a := &API{m: cfg.Manager, log: cfg.Log, adminToken: cfg.AdminToken, auth: cfg.Authenticate, extra: cfg.Routes, checks: cfg.Checks, reg: cfg.Registry}
	a.metrics = newMetrics(cfg.Registry, cfg.Manager)
	a.draining = make(chan struct{})
	a.snapshotRefresh = cmp.Or(cfg.SnapshotRefresh, snapshotMinRefresh)
	return a
}

// Drain makes requests that wait for a change (routing snapshot long
// polls) answer now with what they have, and later ones not wait, so
// that a graceful shutdown (http.Server.RegisterOnShutdown) is not held
// up by clients that would otherwise wait up to a minute.
func (a *API) Drain() { a.drainOnce.Do(func() { close(a.draining) }) }

// Handler returns the gin engine with every route.
func (a *API) Handler() http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	// Trust no proxy headers for the client address unless configured.
	_ = r.SetTrustedProxies(nil)
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	r.Use(a.recoverJSON(), a.observe())
	r.NoRoute(func(c *gin.Context) {
		c.AbortWithStatusJSON(http.StatusNotFound, httpx.ErrorBody{Error: httpx.ErrorDoc{Code: "not_found", Message: "no such route: " + c.Request.Method + " " + c.Request.URL.Path}})
	})
	r.NoMethod(func(c *gin.Context) {
		c.AbortWithStatusJSON(http.StatusMethodNotAllowed, httpx.ErrorBody{Error: httpx.ErrorDoc{Code: "method_not_allowed", Message: "method " + c.Request.Method + " not allowed on " + c.Request.URL.Path}})
	})
	a.routes(r)
	if a.extra != nil {
		a.extra(r)
	}
	return r
}

// recoverJSON turns a panic into a logged 500 with the JSON error shape.
func (a *API) recoverJSON() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if v := recover(); v != nil {
				a.log.Error("panic in handler", "path", c.FullPath(), "panic", v)
				c.AbortWithStatusJSON(http.StatusInternalServerError, httpx.ErrorBody{Error: httpx.ErrorDoc{Code: "internal", Message: "internal error"}})
			}
		}()
		c.Next()
	}
}

// observe records request metrics by route template.
func (a *API) observe() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		took := time.Since(start)
		a.metrics.requests.WithLabelValues(c.Request.Method, route, strconv.Itoa(c.Writer.Status())).Inc()
		a.metrics.latency.WithLabelValues(c.Request.Method, route).Observe(took.Seconds())
		if a.log.Enabled(c, slog.LevelDebug) {
			a.log.LogAttrs(c, slog.LevelDebug, "request", slog.String("method", c.Request.Method), slog.String("route", route),
				slog.Int("status", c.Writer.Status()), slog.Duration("took", took), slog.String("remote", c.ClientIP()))
		}
	}
}

func (a *API) healthz(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) }

// readyz checks every dependency, each within a short deadline.
func (a *API) readyz(c *gin.Context) {
	status, code := "ready", http.StatusOK
	details := gin.H{}
	for _, ch := range a.checks {
		ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
		err := ch.Fn(ctx)
		cancel()
		if err != nil {
			if !ch.Advisory {
				status, code = "not ready", http.StatusServiceUnavailable
			}
			details[ch.Name] = err.Error()
			continue
		}
		details[ch.Name] = "ok"
	}
	// A projection awaiting retry does not make the router unready (it still
	// decides from the last table), but operators should see it.
	if n := a.m.Pending(); n > 0 {
		details["projection"] = fmt.Sprintf("%d services await a retry of their routing table", n)
	} else {
		details["projection"] = "ok"
	}
	c.JSON(code, gin.H{"status": status, "checks": details})
}

func (a *API) metricsHandler() gin.HandlerFunc {
	h := promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{})
	return func(c *gin.Context) { h.ServeHTTP(c.Writer, c.Request) }
}
