package router

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/greyrouter/greyrouter/internal/apperr"
)

// Rollback restores the configuration as it was right after revision n, as
// a new revision. For every record changed after n, the "before" side of its
// first later change is what it was at n. Integrity is checked like any
// write, so a rollback that would strand an instance on a deleted version
// fails with a conflict and changes nothing.
func (m *Manager) Rollback(ctx context.Context, actor string, n int64) (Revision, error) {
	rev, err := m.change(ctx, actor, fmt.Sprintf("rollback to revision %d", n), func(ctx context.Context, tx Tx, rec *recorder) error {
		if _, err := tx.GetRevision(ctx, n); err != nil {
			return err
		}
		later, err := tx.RevisionsAfter(ctx, n)
		if err != nil {
			return err
		}
		if len(later) == 0 {
			return apperr.New(apperr.Invalid, "revision %d is the latest; nothing to roll back", n)
		}
		type target struct {
			kind Kind
			key  string
			at   json.RawMessage
		}
		seen := map[string]bool{}
		var targets []target
		for _, r := range later {
			for _, c := range r.Changes {
				id := string(c.Kind) + "|" + c.Key
				if !seen[id] {
					seen[id] = true
					targets = append(targets, target{c.Kind, c.Key, c.Before})
				}
			}
		}
		// Apply in dependency order so each step is meaningful on its own:
		// tenants and services, then versions, then bindings.
		for _, kind := range []Kind{KindTenant, KindService, KindVersion, KindBinding} {
			for _, t := range targets {
				if t.kind != kind {
					continue
				}
				if err := m.restore(ctx, tx, rec, t.kind, t.key, t.at); err != nil {
					return fmt.Errorf("restore %s %s: %w", t.kind, t.key, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return Revision{}, err
	}
	return rev, nil
}

// restore sets one record to its state at (nil: absent) and records the change.
func (m *Manager) restore(ctx context.Context, tx Tx, rec *recorder, kind Kind, key string, at json.RawMessage) error {
	switch kind {
	case KindTenant:
		cur, err := tx.GetTenant(ctx, key)
		return restoreRecord(ctx, rec, kind, key, at, cur, err, func(t Tenant) error {
			rec.tenant(key, true)
			return tx.PutTenant(ctx, t)
		}, func() error {
			rec.tenant(key, false)
			return tx.DeleteTenant(ctx, key)
		})
	case KindService:
		cur, err := tx.GetService(ctx, key)
		rec.touch(key)
		return restoreRecord(ctx, rec, kind, key, at, cur, err, func(s Service) error { return tx.PutService(ctx, s) },
			func() error { return tx.DeleteService(ctx, key) })
	case KindVersion:
		svc, name, _ := strings.Cut(key, "/")
		cur, err := tx.GetVersion(ctx, svc, name)
		rec.touch(svc)
		return restoreRecord(ctx, rec, kind, key, at, cur, err, func(v Version) error { return tx.PutVersion(ctx, v) },
			func() error { return tx.DeleteVersion(ctx, svc, name) })
	case KindBinding:
		tenant, svc, _ := strings.Cut(key, "/")
		cur, err := tx.GetBinding(ctx, tenant, svc)
		rec.touch(svc)
		return restoreRecord(ctx, rec, kind, key, at, cur, err, func(b Binding) error { return tx.PutBinding(ctx, b) },
			func() error { return tx.DeleteBinding(ctx, tenant, svc) })
	}
	return apperr.New(apperr.Internal, "unknown record kind %q in revision history", kind)
}

// restoreRecord is the kind-independent part of restore: decode the target,
// compare with the current record, write or delete, and record the change.
func restoreRecord[T any](ctx context.Context, rec *recorder, kind Kind, key string, at json.RawMessage, cur T, getErr error,
	put func(T) error, del func() error) error {
	present, err := exists(getErr)
	if err != nil {
		return err
	}
	var before any
	if present {
		before = cur
	}
	if len(at) == 0 {
		if !present {
			return nil
		}
		if err := del(); err != nil {
			return err
		}
		return rec.add(kind, key, before, nil)
	}
	var want T
	if err := json.Unmarshal(at, &want); err != nil {
		return fmt.Errorf("decode %s %s from history: %w", kind, key, err)
	}
	if err := put(want); err != nil {
		return err
	}
	return rec.add(kind, key, before, want)
}
