package service

import (
	"context"
	"fmt"
	"strings"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/privilege"
)

// Write changes tenant's policy set ("" for the platform roles) in one
// transaction: fn makes the changes, the whole set as fn left it is
// compiled — every problem reported at once as apperr.Unprocessable, and
// nothing is committed — and on commit the tenant's version goes up and
// is announced to every replica. The returned token names the version
// (the current one when fn changed nothing); a check passing it is
// answered from that version or a later one.
//
// A committed change that cannot be announced (Redis down) still
// succeeds: replicas learn it by polling within PollInterval.
func (s *Service) Write(ctx context.Context, tenant, actor, summary string, fn func(privilege.Tx) error) (Token, error) {
	if err := privilege.CheckTenant(tenant); err != nil {
		return Token{}, err
	}
	var platform int64
	v, err := s.store.InTx(ctx, tenant, func(tx privilege.Tx) error {
		var before privilege.Snapshot
		if tenant == "" {
			var err error
			if before, err = tx.Snapshot(ctx); err != nil {
				return err
			}
		}
		if err := fn(tx); err != nil {
			return err
		}
		tx.Describe(actor, summary)
		snap, err := tx.Snapshot(ctx)
		if err != nil {
			return err
		}
		platform = snap.PlatformVersion
		if _, err := privilege.CompileSnapshot(snap); err != nil {
			return err
		}
		if tenant == "" {
			return checkRemovedPlatformRoles(ctx, tx, before, snap)
		}
		return nil
	})
	if err != nil {
		return Token{}, err
	}
	if tenant == "" {
		platform = v
	}
	s.learn(tenant, v, "local")
	if err := s.announce(ctx, tenant, v); err != nil {
		s.metrics.publishErrors.Inc()
		s.opts.Log.Warn("privilege: change committed but not announced; replicas will learn it by polling", "tenant", tenant, "version", v, "err", err)
	}
	return Token{Tenant: tenant, Version: v, PlatformVersion: platform}, nil
}

// checkRemovedPlatformRoles refuses a platform write that removes a
// platform role some tenant still inherits or assigns: those tenants'
// sets would stop compiling and their checks be denied.
func checkRemovedPlatformRoles(ctx context.Context, tx privilege.Tx, before, after privilege.Snapshot) error {
	kept := map[string]bool{}
	for _, r := range after.Roles {
		kept[r.Name] = true
	}
	problems := map[string]string{}
	for _, r := range before.Roles {
		if kept[r.Name] {
			continue
		}
		users, err := tx.PlatformRoleUsers(ctx, r.Name)
		if err != nil {
			return err
		}
		if len(users) > 0 {
			shown := users[:min(len(users), 10)]
			msg := "is still inherited or assigned in tenant(s) " + strings.Join(shown, ", ")
			if len(users) > len(shown) {
				msg += fmt.Sprintf(" and %d more", len(users)-len(shown))
			}
			problems["roles."+r.Name] = msg
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return &apperr.Error{Code: apperr.Conflict, Message: "platform roles still in use cannot be removed", Details: problems}
}

// Store returns the store the service reads and writes, for listings and
// history.
func (s *Service) Store() privilege.Store { return s.store }
