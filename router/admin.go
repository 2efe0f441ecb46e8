package router

import (
	"context"
	"fmt"
	"time"

	"github.com/greyrouter/greyrouter/internal/apperr"
)

// exists reports whether get found a record, passing other errors through.
func exists(err error) (bool, error) {
	if err == nil {
		return true, nil
	}
	if apperr.Is(err, apperr.NotFound) {
		return false, nil
	}
	return false, err
}

// CreateTenant adds a tenant; it becomes routable (to service defaults) at once.
func (m *Manager) CreateTenant(ctx context.Context, actor string, t Tenant) (Tenant, Revision, error) {
	if err := t.Validate(); err != nil {
		return Tenant{}, Revision{}, err
	}
	rev, err := m.change(ctx, actor, "create tenant "+t.Name, func(ctx context.Context, tx Tx, rec *recorder) error {
		_, err := tx.GetTenant(ctx, t.Name)
		if ok, err := exists(err); err != nil || ok {
			return orConflict(err, "tenant %q already exists", t.Name)
		}
		t.CreatedAt = m.now().UTC()
		t.UpdatedAt = t.CreatedAt
		rec.tenant(t.Name, true)
		if err := tx.PutTenant(ctx, t); err != nil {
			return err
		}
		return rec.add(KindTenant, t.Name, nil, t)
	})
	return t, rev, err
}

// UpdateTenant replaces a tenant's mutable fields.
func (m *Manager) UpdateTenant(ctx context.Context, actor string, t Tenant) (Tenant, Revision, error) {
	if err := t.Validate(); err != nil {
		return Tenant{}, Revision{}, err
	}
	rev, err := m.change(ctx, actor, "update tenant "+t.Name, func(ctx context.Context, tx Tx, rec *recorder) error {
		old, err := tx.GetTenant(ctx, t.Name)
		if err != nil {
			return err
		}
		t.CreatedAt, t.UpdatedAt = old.CreatedAt, m.now().UTC()
		if err := tx.PutTenant(ctx, t); err != nil {
			return err
		}
		return rec.add(KindTenant, t.Name, old, t)
	})
	return t, rev, err
}

// DeleteTenant removes a tenant that has no bindings left.
func (m *Manager) DeleteTenant(ctx context.Context, actor, name string) (Revision, error) {
	return m.change(ctx, actor, "delete tenant "+name, func(ctx context.Context, tx Tx, rec *recorder) error {
		old, err := tx.GetTenant(ctx, name)
		if err != nil {
			return err
		}
		bs, err := tx.ListBindings(ctx, BindingFilter{Tenant: name})
		if err != nil {
			return err
		}
		if len(bs) > 0 {
			return apperr.New(apperr.Conflict, "tenant %q still has %d bindings; delete them first", name, len(bs))
		}
		rec.tenant(name, false)
		if err := tx.DeleteTenant(ctx, name); err != nil {
			return err
		}
		return rec.add(KindTenant, name, old, nil)
	})
}

// CreateService adds a service. Its default version may be named only once
// the version exists, so a new service usually starts without one.
func (m *Manager) CreateService(ctx context.Context, actor string, s Service) (Service, Revision, error) {
	if err := s.Validate(); err != nil {
		return Service{}, Revision{}, err
	}
	rev, err := m.change(ctx, actor, "create service "+s.Name, func(ctx context.Context, tx Tx, rec *recorder) error {
		_, err := tx.GetService(ctx, s.Name)
		if ok, err := exists(err); err != nil || ok {
			return orConflict(err, "service %q already exists", s.Name)
		}
		s.CreatedAt = m.now().UTC()
		s.UpdatedAt = s.CreatedAt
		rec.touch(s.Name)
		if err := tx.PutService(ctx, s); err != nil {
			return err
		}
		return rec.add(KindService, s.Name, nil, s)
	})
	return s, rev, err
}

// UpdateService replaces a service's settings.
func (m *Manager) UpdateService(ctx context.Context, actor string, s Service) (Service, Revision, error) {
	if err := s.Validate(); err != nil {
		return Service{}, Revision{}, err
	}
	rev, err := m.change(ctx, actor, "update service "+s.Name, func(ctx context.Context, tx Tx, rec *recorder) error {
		old, err := tx.GetService(ctx, s.Name)
		if err != nil {
			return err
		}
		s.CreatedAt, s.UpdatedAt = old.CreatedAt, m.now().UTC()
		rec.touch(s.Name)
		if err := tx.PutService(ctx, s); err != nil {
			return err
		}
		return rec.add(KindService, s.Name, old, s)
	})
	return s, rev, err
}

// DeleteService removes a service that has no versions or bindings left.
func (m *Manager) DeleteService(ctx context.Context, actor, name string) (Revision, error) {
	return m.change(ctx, actor, "delete service "+name, func(ctx context.Context, tx Tx, rec *recorder) error {
		old, err := tx.GetService(ctx, name)
		if err != nil {
			return err
		}
		rec.touch(name)
		if err := tx.DeleteService(ctx, name); err != nil {
			return err
		}
		return rec.add(KindService, name, old, nil)
	})
}

// CreateVersion adds a version to a service.
func (m *Manager) CreateVersion(ctx context.Context, actor string, v Version) (Version, Revision, error) {
	if v.State == "" {
		v.State = VersionActive
	}
	if err := v.Validate(); err != nil {
		return Version{}, Revision{}, err
	}
	rev, err := m.change(ctx, actor, fmt.Sprintf("create version %s/%s", v.Service, v.Name), func(ctx context.Context, tx Tx, rec *recorder) error {
		if _, err := tx.GetService(ctx, v.Service); err != nil {
			return err
		}
		_, err := tx.GetVersion(ctx, v.Service, v.Name)
		if ok, err := exists(err); err != nil || ok {
			return orConflict(err, "version %s/%s already exists", v.Service, v.Name)
		}
		v.CreatedAt = m.now().UTC()
		v.UpdatedAt = v.CreatedAt
		rec.touch(v.Service)
		if err := tx.PutVersion(ctx, v); err != nil {
			return err
		}
		return rec.add(KindVersion, v.Service+"/"+v.Name, nil, v)
	})
	return v, rev, err
}

// UpdateVersion changes a version's state or description. Retiring a
// version that is still referenced fails with a conflict.
func (m *Manager) UpdateVersion(ctx context.Context, actor string, v Version) (Version, Revision, error) {
	if err := v.Validate(); err != nil {
		return Version{}, Revision{}, err
	}
	rev, err := m.change(ctx, actor, fmt.Sprintf("update version %s/%s", v.Service, v.Name), func(ctx context.Context, tx Tx, rec *recorder) error {
		old, err := tx.GetVersion(ctx, v.Service, v.Name)
		if err != nil {
			return err
		}
		v.CreatedAt, v.UpdatedAt = old.CreatedAt, m.now().UTC()
		rec.touch(v.Service)
		if err := tx.PutVersion(ctx, v); err != nil {
			return err
		}
		return rec.add(KindVersion, v.Service+"/"+v.Name, old, v)
	})
	return v, rev, err
}

// DeleteVersion removes an unreferenced version without instances.
func (m *Manager) DeleteVersion(ctx context.Context, actor, service, name string) (Revision, error) {
	return m.change(ctx, actor, fmt.Sprintf("delete version %s/%s", service, name), func(ctx context.Context, tx Tx, rec *recorder) error {
		old, err := tx.GetVersion(ctx, service, name)
		if err != nil {
			return err
		}
		rec.touch(service)
		if err := tx.DeleteVersion(ctx, service, name); err != nil {
			return err
		}
		return rec.add(KindVersion, service+"/"+name, old, nil)
	})
}

// PutBinding creates or replaces a tenant's binding for a service. The salt
// of an existing binding is kept unless the new one names its own, so that
// changing the percentage never reshuffles users.
func (m *Manager) PutBinding(ctx context.Context, actor string, b Binding) (Binding, Revision, error) {
	b.Normalize()
	if err := b.Validate(); err != nil {
		return Binding{}, Revision{}, err
	}
	rev, err := m.change(ctx, actor, fmt.Sprintf("set binding %s/%s", b.Tenant, b.Service), func(ctx context.Context, tx Tx, rec *recorder) error {
		if _, err := tx.GetTenant(ctx, b.Tenant); err != nil {
			return err
		}
		if _, err := tx.GetService(ctx, b.Service); err != nil {
			return err
		}
		old, err := tx.GetBinding(ctx, b.Tenant, b.Service)
		found, err := exists(err)
		if err != nil {
			return err
		}
		if b.Salt == "" {
			b.Salt = old.Salt
		}
		if b.Salt == "" {
			b.Salt = newSalt()
		}
		b.UpdatedAt = m.now().UTC()
		rec.touch(b.Service)
		if err := tx.PutBinding(ctx, b); err != nil {
			return err
		}
		var before any
		if found {
			before = old
		}
		return rec.add(KindBinding, b.Tenant+"/"+b.Service, before, b)
	})
	return b, rev, err
}

// DeleteBinding removes a binding; the tenant falls back to the default version.
func (m *Manager) DeleteBinding(ctx context.Context, actor, tenant, service string) (Revision, error) {
	return m.change(ctx, actor, fmt.Sprintf("delete binding %s/%s", tenant, service), func(ctx context.Context, tx Tx, rec *recorder) error {
		old, err := tx.GetBinding(ctx, tenant, service)
		if err != nil {
			return err
		}
		rec.touch(service)
		if err := tx.DeleteBinding(ctx, tenant, service); err != nil {
			return err
		}
		return rec.add(KindBinding, tenant+"/"+service, old, nil)
	})
}

func orConflict(err error, format string, args ...any) error {
	if err != nil {
		return err
	}
	return apperr.New(apperr.Conflict, format, args...)
}

// instanceChange runs an instance write: instances are runtime state, so
// no revision is recorded, but integrity and projection are the same.
func (m *Manager) instanceChange(ctx context.Context, service string, fn func(ctx context.Context, tx Tx) error) error {
	_, err := m.change(ctx, "", "", func(ctx context.Context, tx Tx, rec *recorder) error {
		rec.touch(service)
		return fn(ctx, tx)
	})
	return err
}

// RegisterInstance creates or replaces an instance. Its version must exist
// and not be retired.
func (m *Manager) RegisterInstance(ctx context.Context, in Instance) (Instance, error) {
	if in.Source == "" {
		in.Source = SourceAPI
	}
	if in.Weight == 0 {
		in.Weight = 100
	}
	if err := in.Validate(); err != nil {
		return Instance{}, err
	}
	err := m.instanceChange(ctx, in.Service, func(ctx context.Context, tx Tx) error {
		v, err := tx.GetVersion(ctx, in.Service, in.Version)
		if err != nil {
			return err
		}
		if v.State == VersionRetired {
			return apperr.New(apperr.Conflict, "version %s/%s is retired", in.Service, in.Version)
		}
		now := m.now().UTC()
		in.CreatedAt, in.UpdatedAt = now, now
		var old Instance
		if prev, err := tx.GetInstance(ctx, in.Service, in.ID); err == nil {
			in.CreatedAt, old = prev.CreatedAt, prev
		}
		in.DrainingSince = drainingSince(old, in.Draining, now)
		if in.HeartbeatSeconds > 0 {
			in.LastHeartbeat = now
		}
		return tx.PutInstance(ctx, in)
	})
	if err != nil {
		return Instance{}, err
	}
	if in.HeartbeatSeconds > 0 {
		if err := m.dec.Heartbeat(ctx, in.Service, in.ID, time.Duration(in.HeartbeatSeconds)*time.Second); err != nil {
			m.log.Warn("heartbeat not recorded", "service", in.Service, "instance", in.ID, "err", err)
		}
	}
	return in, nil
}

// InstancePatch changes an instance's operational flags; nil fields stay.
type InstancePatch struct {
	Enabled  *bool `json:"enabled"`
	Draining *bool `json:"draining"`
	Weight   *int  `json:"weight"`
}

// UpdateInstance applies a patch to an instance.
func (m *Manager) UpdateInstance(ctx context.Context, service, id string, p InstancePatch) (Instance, error) {
	var out Instance
	err := m.instanceChange(ctx, service, func(ctx context.Context, tx Tx) error {
		in, err := tx.GetInstance(ctx, service, id)
		if err != nil {
			return err
		}
		if p.Enabled != nil {
			in.Enabled = *p.Enabled
		}
		if p.Draining != nil {
			in.DrainingSince = drainingSince(in, *p.Draining, m.now().UTC())
			in.Draining = *p.Draining
		}
		if p.Weight != nil {
			in.Weight = *p.Weight
		}
		if err := in.Validate(); err != nil {
			return err
		}
		in.UpdatedAt = m.now().UTC()
		out = in
		return tx.PutInstance(ctx, in)
	})
	return out, err
}

// DeregisterInstance removes an instance.
func (m *Manager) DeregisterInstance(ctx context.Context, service, id string) error {
	return m.instanceChange(ctx, service, func(ctx context.Context, tx Tx) error {
		if _, err := tx.GetInstance(ctx, service, id); err != nil {
			return err
		}
		return tx.DeleteInstance(ctx, service, id)
	})
}

// Heartbeat keeps a TTL instance routable for another heartbeat period.
func (m *Manager) Heartbeat(ctx context.Context, service, id string) error {
	in, err := m.store.GetInstance(ctx, service, id)
	if err != nil {
		return err
	}
	if in.HeartbeatSeconds <= 0 {
		return apperr.New(apperr.Invalid, "instance %s/%s has no heartbeat_seconds; it needs no heartbeat", service, id)
	}
	if err := m.store.TouchInstance(ctx, service, id, m.now().UTC()); err != nil {
		return err
	}
	return m.dec.Heartbeat(ctx, service, id, time.Duration(in.HeartbeatSeconds)*time.Second)
}
