package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/greyrouter/greyrouter/internal/dbx"
	privhttp "github.com/greyrouter/greyrouter/privilege/httpapi"
	"github.com/greyrouter/greyrouter/privilege/service"
	privsql "github.com/greyrouter/greyrouter/privilege/sqlstore"
	"github.com/greyrouter/greyrouter/router"
)

// privilegeStack is the wired privilege service and its HTTP API.
type privilegeStack struct {
	service   *service.Service
	api       *privhttp.API
	store     *privsql.Store
	retention time.Duration
	maxStale  time.Duration
}

// newPrivilegeStack wires the privilege service: policy sets and the
// decision audit in the platform database, the shared decision cache and
// change announcements in Redis, metrics on reg. Tenants are the router's:
// a policy set is kept only for a tenant that exists.
func newPrivilegeStack(ctx context.Context, c config, db *dbx.DB, rdb redis.UniversalClient, m *router.Manager, reg prometheus.Registerer, log *slog.Logger) (*privilegeStack, error) {
	if err := c.validPrivilege(); err != nil {
		return nil, err
	}
	store := privsql.New(db.Gorm)
	svc, err := service.New(ctx, store, service.Options{
		Redis: rdb, L1Size: c.PrivilegeL1Size, PollInterval: c.PrivilegePoll, MaxStaleness: c.PrivilegeStaleness,
		Audit: store, Metrics: reg, Log: log,
	})
	if err != nil {
		return nil, fmt.Errorf("start privilege service: %w", err)
	}
	api := privhttp.New(privhttp.Config{
		Service: svc, Log: log,
		TenantExists: func(ctx context.Context, tenant string) error {
			_, err := m.Store().GetTenant(ctx, tenant)
			return err
		},
	})
	return &privilegeStack{service: svc, api: api, store: store, retention: c.PrivilegeRetention, maxStale: c.PrivilegeStaleness}, nil
}

// run prunes the decision audit every hour (and once at start) until ctx
// ends.
func (p *privilegeStack) run(ctx context.Context, log *slog.Logger) {
	if p.retention <= 0 {
		return
	}
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		n, err := p.store.PruneDecisions(ctx, time.Now().Add(-p.retention))
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("privilege: could not prune the decision audit", "err", err)
		case n > 0:
			log.Info("privilege: pruned the decision audit", "deleted", n, "older_than", p.retention)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ready reports the privilege service ready while its view of the policy
// versions was confirmed recently (within the max staleness, else within
// 5 minutes): an advisory check, since cached answers keep flowing.
func (p *privilegeStack) ready(context.Context) error {
	limit := p.maxStale
	if limit <= 0 {
		limit = 5 * time.Minute
	}
	if age := p.service.Staleness(); age > limit {
		return fmt.Errorf("policy versions not confirmed for %s (database and Redis unreachable?)", age.Round(time.Second))
	}
	return nil
}

// validPrivilege checks the privilege settings; zero durations and sizes
// take the service's defaults.
func (c config) validPrivilege() error {
	if c.PrivilegePoll < 0 || c.PrivilegeStaleness < 0 || c.PrivilegeL1Size < 0 || c.PrivilegeRetention < 0 {
		return fmt.Errorf("%w: --privilege-poll-interval, --privilege-max-staleness, --privilege-l1-size and --privilege-audit-retention must not be negative", errUsage)
	}
	if c.PrivilegeRetention > 0 && c.PrivilegeRetention < time.Hour {
		return fmt.Errorf("%w: --privilege-audit-retention must be at least 1h (or 0 to keep everything)", errUsage)
	}
	if c.PrivilegeStaleness > 0 && c.PrivilegeStaleness <= c.PrivilegePoll {
		return fmt.Errorf("%w: --privilege-max-staleness must be longer than --privilege-poll-interval", errUsage)
	}
	return nil
}

// close stops following policy changes and writes the decisions audited
// so far; serve calls it after the HTTP server has stopped.
func (p *privilegeStack) close() { p.service.Close() }
