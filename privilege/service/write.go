package service

import (
	"context"

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
		if err := fn(tx); err != nil {
			return err
		}
		tx.Describe(actor, summary)
		snap, err := tx.Snapshot(ctx)
		if err != nil {
			return err
		}
		platform = snap.PlatformVersion
		_, err = privilege.CompileSnapshot(snap)
		return err
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

// Store returns the store the service reads and writes, for listings and
// history.
func (s *Service) Store() privilege.Store { return s.store }
