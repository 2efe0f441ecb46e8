package router

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/greyrouter/greyrouter/internal/apperr"
)

// RegistrySnapshot is a registry's complete list of one service's
// instances (Nacos: one push or query of the service).
type RegistrySnapshot struct {
	Service string
	// Ref orders snapshots of one service: the registry's own version of
	// the list (Nacos: lastRefTime). A snapshot older than the newest
	// applied is skipped, so a replica holding a view it has not yet
	// seen replaced cannot undo another replica's sync. 0: unordered.
	Ref       int64
	Instances []Instance
	// CreateVersions creates versions that instances name but the service
	// lacks (as a revision by Actor); otherwise such instances are left
	// out and reported in SyncResult.Unknown.
	CreateVersions bool
	Actor          string
}

// SyncResult says what a sync changed.
type SyncResult struct {
	Added, Updated int
	// Removed counts instances gone from the registry, now draining.
	Removed int
	// Stale is set when the snapshot was older than one already applied
	// and nothing was done.
	Stale bool
	// Invalid lists instances left out (id: reason): invalid fields, or a
	// version the service lacks (or has retired).
	Invalid map[string]string
	// CreatedVersions lists versions created for the snapshot.
	CreatedVersions []string
}

// Changed reports whether the sync wrote anything.
func (r SyncResult) Changed() bool {
	return r.Added+r.Updated+r.Removed+len(r.CreatedVersions) > 0
}

// SyncInstances makes the service's registry instances (Source registry)
// follow the snapshot, in one transaction: new ones are added, changed
// ones replaced (keeping their first registration time), missing ones set
// draining (no new decisions; the lifecycle reconciler removes them once
// their leases are done); instances registered through the API are not
// touched. A sync
// that changes nothing writes nothing and projects nothing, so replicas
// that all sync the same registry agree without churn. An empty snapshot
// removes every registry instance: callers pass only lists the registry
// actually served, never an absence of news.
func (m *Manager) SyncInstances(ctx context.Context, snap RegistrySnapshot) (SyncResult, error) {
	res := SyncResult{Invalid: map[string]string{}}
	desired := make(map[string]Instance, len(snap.Instances))
	for _, in := range snap.Instances {
		in.Service, in.Source = snap.Service, SourceRegistry
		if in.Weight == 0 {
			in.Weight = 100
		}
		if err := in.Validate(); err != nil {
			res.Invalid[in.ID] = apperr.MessageOf(err) + detailSummary(err)
			continue
		}
		if _, dup := desired[in.ID]; dup {
			res.Invalid[in.ID] = "duplicate instance id in the snapshot"
			continue
		}
		desired[in.ID] = in
	}
	actor := snap.Actor
	if actor == "" {
		actor = "registry"
	}
	_, err := m.change(ctx, actor, "create versions announced by the registry for "+snap.Service, func(ctx context.Context, tx Tx, rec *recorder) error {
		res = SyncResult{Invalid: res.Invalid}
		if _, err := tx.GetService(ctx, snap.Service); err != nil {
			return err
		}
		if snap.Ref > 0 {
			last, err := tx.RegistryRef(ctx, snap.Service, SourceRegistry)
			if err != nil {
				return err
			}
			if snap.Ref < last {
				res.Stale = true
				return nil
			}
		}
		if err := m.checkVersions(ctx, tx, rec, snap, desired, &res); err != nil {
			return err
		}
		current, err := tx.ListInstances(ctx, snap.Service)
		if err != nil {
			return err
		}
		now := m.now().UTC()
		have := map[string]Instance{}
		for _, in := range current {
			if in.Source != SourceRegistry {
				if _, clash := desired[in.ID]; clash {
					res.Invalid[in.ID] = "an instance registered through the API has this id"
					delete(desired, in.ID)
				}
				continue
			}
			have[in.ID] = in
			if _, keep := desired[in.ID]; !keep && !in.Draining {
				// Gone from the registry: drain rather than delete, so
				// that calls holding a lease finish; the lifecycle
				// reconciler removes it once they have.
				in.Draining, in.DrainingSince, in.UpdatedAt = true, now, now
				if err := tx.PutInstance(ctx, in); err != nil {
					return err
				}
				res.Removed++
			}
		}
		for _, id := range slices.Sorted(maps.Keys(desired)) {
			in := desired[id]
			old, exists := have[id]
			if !exists && in.Draining {
				// Nothing to drain: a disabled instance that is not in
				// the table (or was already drained and removed) stays
				// out, rather than being added and removed again.
				continue
			}
			if exists && sameRegistryInstance(old, in) {
				continue
			}
			in.DrainingSince = drainingSince(old, in.Draining, now)
			in.CreatedAt, in.UpdatedAt = now, now
			if exists {
				in.CreatedAt = old.CreatedAt
				res.Updated++
			} else {
				res.Added++
			}
			if err := tx.PutInstance(ctx, in); err != nil {
				return err
			}
		}
		if !res.Changed() {
			return nil
		}
		rec.touch(snap.Service)
		if snap.Ref > 0 {
			return tx.PutRegistryRef(ctx, snap.Service, SourceRegistry, snap.Ref, now)
		}
		return nil
	})
	if err != nil {
		return SyncResult{}, err
	}
	return res, nil
}

// checkVersions drops (or, when asked, creates) instances of versions the
// service lacks, and drops instances of retired versions.
func (m *Manager) checkVersions(ctx context.Context, tx Tx, rec *recorder, snap RegistrySnapshot, desired map[string]Instance, res *SyncResult) error {
	versions, err := tx.ListVersions(ctx, snap.Service)
	if err != nil {
		return err
	}
	state := map[string]VersionState{}
	for _, v := range versions {
		state[v.Name] = v.State
	}
	for _, id := range slices.Sorted(maps.Keys(desired)) {
		in := desired[id]
		st, ok := state[in.Version]
		switch {
		case !ok && snap.CreateVersions:
			now := m.now().UTC()
			v := Version{Service: snap.Service, Name: in.Version, State: VersionActive,
				Description: "announced by the registry", CreatedAt: now, UpdatedAt: now}
			if err := tx.PutVersion(ctx, v); err != nil {
				return err
			}
			if err := rec.add(KindVersion, v.Service+"/"+v.Name, nil, v); err != nil {
				return err
			}
			state[v.Name] = VersionActive
			res.CreatedVersions = append(res.CreatedVersions, v.Name)
		case !ok:
			res.Invalid[id] = fmt.Sprintf("version %q of service %q does not exist", in.Version, snap.Service)
			delete(desired, id)
		case st == VersionRetired:
			res.Invalid[id] = fmt.Sprintf("version %q of service %q is retired", in.Version, snap.Service)
			delete(desired, id)
		}
	}
	return nil
}

// sameRegistryInstance reports whether a stored registry instance already
// says what the registry says (times aside).
func sameRegistryInstance(a, b Instance) bool {
	return a.Version == b.Version && a.Address == b.Address && a.Weight == b.Weight &&
		a.Enabled == b.Enabled && a.Draining == b.Draining && a.HeartbeatSeconds == b.HeartbeatSeconds &&
		maps.Equal(a.Metadata, b.Metadata)
}

// detailSummary renders an error's field details for SyncResult.Invalid.
func detailSummary(err error) string {
	d := apperr.DetailsOf(err)
	if len(d) == 0 {
		return ""
	}
	out := ""
	for _, k := range slices.Sorted(maps.Keys(d)) {
		out += fmt.Sprintf("; %s %s", k, d[k])
	}
	return out
}
