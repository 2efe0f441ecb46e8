package main

import (
	"context"
	"fmt"
	"log/slog"

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
	service *service.Service
	api     *privhttp.API
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
	return &privilegeStack{service: svc, api: api}, nil
}

// validPrivilege checks the privilege settings; zero durations and sizes
// take the service's defaults.
func (c config) validPrivilege() error {
	if c.PrivilegePoll < 0 || c.PrivilegeStaleness < 0 || c.PrivilegeL1Size < 0 {
		return fmt.Errorf("%w: --privilege-poll-interval, --privilege-max-staleness and --privilege-l1-size must not be negative", errUsage)
	}
	if c.PrivilegeStaleness > 0 && c.PrivilegeStaleness <= c.PrivilegePoll {
		return fmt.Errorf("%w: --privilege-max-staleness must be longer than --privilege-poll-interval", errUsage)
	}
	return nil
}

// close stops following policy changes and writes the decisions audited
// so far; serve calls it after the HTTP server has stopped.
func (p *privilegeStack) close() { p.service.Close() }
