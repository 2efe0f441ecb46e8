package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/internal/dbx"
	"github.com/greyrouter/greyrouter/login"
	loginhttp "github.com/greyrouter/greyrouter/login/httpapi"
	loginredis "github.com/greyrouter/greyrouter/login/redisstore"
	loginsql "github.com/greyrouter/greyrouter/login/sqlstore"
	"github.com/greyrouter/greyrouter/login/verify"
	"github.com/greyrouter/greyrouter/router"
)

// loginStack is the wired login service and what serve runs beside it.
type loginStack struct {
	service     *login.Service
	api         *loginhttp.API
	ring        *login.KeyRing
	feed        *loginredis.Feed
	revocations *verify.Revocations
	audit       *login.AuditLog
	store       *loginsql.Store
}

// newLoginStack wires the login service: users, clients, keys, audit and
// revocations in the database; sessions, throttling and the revocation
// feed in Redis; this process's verifier kept current by the feed.
func newLoginStack(ctx context.Context, c config, kek []byte, db *dbx.DB, rdb redis.UniversalClient, m *router.Manager, bootstrap string, reg *prometheus.Registry, log *slog.Logger) (*loginStack, error) {
	store := loginsql.New(db.Gorm)
	// Verifiers accept tokens this long after their exp (clock skew), so
	// revocations and retired keys must be remembered that much longer.
	const leeway = 30 * time.Second
	maxLifetime := c.AccessTokenTTL + leeway
	ring, err := login.NewKeyRing(store, login.KeyRingConfig{
		Algorithm: c.SigningAlgorithm, Overlap: c.KeyOverlap, MaxTokenLifetime: maxLifetime,
		RotateEvery: c.KeyRotation, KEK: kek,
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	if err := ring.Load(ctx); err != nil {
		return nil, fmt.Errorf("load signing keys: %w", err)
	}
	tc := login.TokenConfig{Issuer: c.Issuer, Audience: []string{c.Audience}, Lifetime: c.AccessTokenTTL}
	if err := tc.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	revs := verify.NewRevocations(nil)
	verifier, err := verify.New(verify.Config{
		Issuer: c.Issuer, Audience: c.Audience, Keys: ring, Revocations: revs, Leeway: leeway,
		MaxStaleness: c.RevocationStale,
	})
	if err != nil {
		return nil, err
	}
	workers := c.HashConcurrency
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	hasher, err := login.NewHasher(login.DefaultPasswordParams(), workers)
	if err != nil {
		return nil, err
	}
	// Under a login flood at most this many wait; the rest get a 503 with
	// Retry-After at once.
	queue := c.HashQueue
	if queue == 0 {
		queue = 64 * workers // about two seconds of work at 30 ms a hash
	}
	hasher.SetMaxQueued(queue)
	events := newLoginMetrics(reg, revs)
	audit := login.NewAuditLog(store, log, 10_000)
	auditor := events.wrap(audit)
	throttle := loginredis.NewThrottle(loginredis.New(rdb), loginredis.AccountPolicy(), loginredis.IPPolicy())
	feed := loginredis.NewFeed(rdb)
	svc := login.NewService(login.ServiceConfig{
		SessionIdle: c.SessionIdle, SessionLifetime: c.SessionLifetime,
		MaxSessionsPerUser: c.MaxSessions, MaxTokenLifetime: maxLifetime,
	}, login.ServiceDeps{
		Users: store, Clients: store, Sessions: loginredis.NewSessions(rdb), Revocations: store,
		Feed: feed, Sink: revs,
		Authenticator: login.NewAuthenticator(store, hasher, throttle, auditor, log, nil),
		Hasher:        hasher, Issuer: login.NewIssuer(ring, tc, nil), Verifier: verifier, Audit: auditor,
		TenantExists: func(ctx context.Context, tenant string) error {
			_, err := m.Store().GetTenant(ctx, tenant)
			return err
		},
		Log: log,
	})
	api := loginhttp.New(loginhttp.Config{
		Service: svc, Keys: ring, Audit: store, BootstrapToken: bootstrap, Issuer: c.Issuer, Log: log,
	})
	return &loginStack{service: svc, api: api, ring: ring, feed: feed, revocations: revs, audit: audit, store: store}, nil
}

// validLogin checks the login settings.
func (c config) validLogin() error {
	switch {
	case c.AccessTokenTTL < login.MinAccessTokenLifetime || c.AccessTokenTTL > login.MaxAccessTokenLifetime:
		return fmt.Errorf("%w: --access-token-ttl must be between %s and %s", errUsage, login.MinAccessTokenLifetime, login.MaxAccessTokenLifetime)
	case c.SessionIdle <= 0 || c.SessionLifetime < c.SessionIdle:
		return fmt.Errorf("%w: --session-idle-timeout must be positive and at most --session-lifetime", errUsage)
	case c.MaxSessions < 0:
		return fmt.Errorf("%w: --max-sessions-per-user must not be negative", errUsage)
	case c.RevocationStale < 0:
		return fmt.Errorf("%w: --revocation-max-staleness must not be negative", errUsage)
	case c.HashConcurrency < 0 || c.HashQueue < 0:
		return fmt.Errorf("%w: --password-hash-concurrency and --password-hash-queue must not be negative", errUsage)
	case c.SigningAlgorithm != login.AlgEdDSA && c.SigningAlgorithm != login.AlgES256:
		return fmt.Errorf("%w: --signing-algorithm must be EdDSA or ES256", errUsage)
	case c.KeyRotation != 0 && c.KeyRotation <= c.KeyOverlap:
		return fmt.Errorf("%w: --key-rotation-interval must be longer than --key-rotation-overlap", errUsage)
	}
	return nil
}

// run keeps the login service's background state current until ctx ends:
// the verifier follows the revocation feed; the signing keys are reloaded
// (and rotated when due) every minute; revocations Redis lost are
// published again from the database; expired revocations are pruned.
func (l *loginStack) run(ctx context.Context, log *slog.Logger) {
	go l.revocations.Follow(ctx, l.feed, l.feed.Notifications(ctx), time.Second)
	keys := time.NewTicker(time.Minute)
	defer keys.Stop()
	feedCheck := time.NewTicker(2 * time.Second)
	defer feedCheck.Stop()
	prune := time.NewTicker(time.Hour)
	defer prune.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-keys.C:
			if err := l.ring.Maintain(ctx); err != nil {
				log.Warn("signing key maintenance failed", "err", err)
			}
		case <-feedCheck.C:
			// A missing stream means Redis was flushed or replaced: every
			// revocation that still matters is published again.
			exists, err := l.feed.Exists(ctx)
			if err != nil {
				continue
			}
			if n, err := l.service.RepublishRevocations(ctx, !exists); err != nil {
				log.Warn("republishing revocations failed", "err", err)
			} else if n > 0 {
				log.Info("revocations republished", "count", n, "stream_was_missing", !exists)
			}
		case <-prune.C:
			if _, err := l.store.PruneRevocations(ctx, time.Now()); err != nil {
				log.Warn("pruning revocations failed", "err", err)
			}
		}
	}
}

// ready reports whether tokens can be signed and revocations are current.
func (l *loginStack) ready(ctx context.Context) error {
	if _, err := l.ring.Current(time.Now()); err != nil {
		return err
	}
	if age := time.Since(l.revocations.Synced()); age > 10*time.Second {
		return fmt.Errorf("revocation state is %s old", age.Round(time.Second))
	}
	return nil
}

// close flushes the audit trail.
func (l *loginStack) close(ctx context.Context, log *slog.Logger) {
	if err := l.audit.Close(ctx); err != nil {
		log.Warn("audit trail not fully written at shutdown", "err", err, "dropped", l.audit.Dropped())
	}
}

// seedDemoUsers creates a platform administrator "admin" and, for tenant
// acme, an administrator "alice" and a user "bob", with random passwords
// printed once. It does nothing for users that exist.
func seedDemoUsers(ctx context.Context, svc *login.Service, stdout io.Writer) error {
	seed := login.Principal{Kind: login.PrincipalBootstrap, Subject: "demo-seed", Platform: true}
	users := []login.NewUser{
		{Username: "admin", Platform: true, DisplayName: "Platform administrator"},
		{Tenant: "acme", Username: "alice", Admin: true, DisplayName: "Alice (acme admin)"},
		{Tenant: "acme", Username: "bob", DisplayName: "Bob"},
	}
	var created []string
	for _, n := range users {
		n.Password = login.NewSecret()[:20]
		_, err := svc.CreateUser(ctx, seed, n)
		if apperr.Is(err, apperr.Conflict) {
			continue
		}
		if err != nil {
			return fmt.Errorf("seed user %s: %w", n.Username, err)
		}
		tenant := n.Tenant
		if tenant == "" {
			tenant = `""`
		}
		created = append(created, fmt.Sprintf("    tenant %-6s user %-6s password %s", tenant, n.Username, n.Password))
	}
	if len(created) > 0 {
		fmt.Fprintf(stdout, "\nDemo users (passwords shown once):\n\n")
		for _, l := range created {
			fmt.Fprintln(stdout, l)
		}
		fmt.Fprintln(stdout)
	}
	return nil
}

// loginMetrics counts login events by kind and exposes the verifier's
// revocation state age.
type loginMetrics struct {
	events *prometheus.CounterVec
}

func newLoginMetrics(reg *prometheus.Registry, revs *verify.Revocations) *loginMetrics {
	lm := &loginMetrics{events: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "greyrouter_login_events_total",
		Help: "Login service events (login_success, login_failure, login_throttled, logout, refresh_reused, token_revoked, ...).",
	}, []string{"kind"})}
	reg.MustRegister(lm.events, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "greyrouter_revocation_state_age_seconds",
		Help: "Seconds since this process's verifier last read the revocation feed.",
	}, func() float64 { return time.Since(revs.Synced()).Seconds() }))
	return lm
}

// wrap counts every audit event on its way to the audit log.
func (lm *loginMetrics) wrap(next login.Auditor) login.Auditor {
	return auditorFunc(func(ctx context.Context, e login.AuditEvent) {
		lm.events.WithLabelValues(e.Kind).Inc()
		next.Record(ctx, e)
	})
}

type auditorFunc func(ctx context.Context, e login.AuditEvent)

func (f auditorFunc) Record(ctx context.Context, e login.AuditEvent) { f(ctx, e) }
