package router

import (
	"context"

	"github.com/greyrouter/greyrouter/internal/apperr"
)

// checkIntegrity verifies, inside the writing transaction, that every
// reference of the touched services resolves: the default version exists and
// is not retired, each binding names an existing tenant and routable
// versions, and each instance's version exists; and that no deleted tenant
// keeps a binding. One check for every kind of write (including rollbacks)
// means no write path can leave a dangling reference.
func checkIntegrity(ctx context.Context, tx Tx, services, tenants map[string]bool) error {
	for name := range services {
		if err := checkService(ctx, tx, name); err != nil {
			return err
		}
	}
	for name, present := range tenants {
		if present {
			continue
		}
		bs, err := tx.ListBindings(ctx, BindingFilter{Tenant: name})
		if err != nil {
			return err
		}
		if len(bs) > 0 {
			return apperr.New(apperr.Conflict, "tenant %q still has %d bindings", name, len(bs))
		}
	}
	return nil
}

func checkService(ctx context.Context, tx Tx, name string) error {
	versions, err := tx.ListVersions(ctx, name)
	if err != nil {
		return err
	}
	state := map[string]VersionState{}
	for _, v := range versions {
		state[v.Name] = v.State
	}
	routable := func(v string) error {
		st, ok := state[v]
		if !ok {
			return apperr.New(apperr.Conflict, "service %q has no version %q", name, v)
		}
		if st == VersionRetired {
			return apperr.New(apperr.Conflict, "version %s/%s is retired", name, v)
		}
		return nil
	}
	svc, err := tx.GetService(ctx, name)
	if apperr.Is(err, apperr.NotFound) {
		// A deleted service must leave nothing behind.
		if len(versions) > 0 {
			return apperr.New(apperr.Conflict, "service %q still has %d versions", name, len(versions))
		}
		bs, err := tx.ListBindings(ctx, BindingFilter{Service: name})
		if err != nil {
			return err
		}
		if len(bs) > 0 {
			return apperr.New(apperr.Conflict, "service %q still has %d tenant bindings", name, len(bs))
		}
		return nil
	}
	if err != nil {
		return err
	}
	if svc.DefaultVersion != "" {
		if err := routable(svc.DefaultVersion); err != nil {
			return apperr.New(apperr.Conflict, "default version: %s", apperr.MessageOf(err))
		}
	}
	bindings, err := tx.ListBindings(ctx, BindingFilter{Service: name})
	if err != nil {
		return err
	}
	for _, b := range bindings {
		if _, err := tx.GetTenant(ctx, b.Tenant); err != nil {
			if apperr.Is(err, apperr.NotFound) {
				return apperr.New(apperr.Conflict, "binding %s/%s refers to missing tenant %q", b.Tenant, name, b.Tenant)
			}
			return err
		}
		for _, v := range b.Versions() {
			if err := routable(v); err != nil {
				return apperr.New(apperr.Conflict, "binding %s/%s: %s", b.Tenant, name, apperr.MessageOf(err))
			}
		}
	}
	instances, err := tx.ListInstances(ctx, name)
	if err != nil {
		return err
	}
	for _, in := range instances {
		if _, ok := state[in.Version]; !ok {
			return apperr.New(apperr.Conflict, "instance %s/%s refers to missing version %q", name, in.ID, in.Version)
		}
	}
	return nil
}
