package service

import (
	"context"
	"errors"

	"github.com/greyrouter/greyrouter/privilege/cache"
)

// Invalidation: every write bumps its tenant's version in the database
// (the source of truth). After the commit the writer announces the
// version through the shared cache protocol (privilege/cache.Versions:
// a Redis hash raised only upwards and a pub/sub message, in one
// script). Every replica subscribes and learns the version within
// milliseconds; a poller reads all versions every PollInterval — from
// the database, or from the Redis hash when the database is
// unreachable — so a missed message costs at most one interval. SDK
// clients follow the same hash and channel but cannot read the database:
// each poll also raises the hash where it lags the database (an
// announcement lost while Redis was away, a Redis restarted empty), so
// they too learn every version within about a poll. Learning a version
// never touches the caches: keys carry versions, so the older entries
// are simply no longer asked for.

// newVersions follows the versions: announcements on Redis, polls of the
// database (falling back to the Redis hash).
func (s *Service) newVersions() *cache.Versions {
	return cache.NewVersions(cache.VersionsOptions{
		Redis:        s.rdb,
		KeyPrefix:    s.opts.KeyPrefix,
		PollInterval: s.opts.PollInterval,
		Poll:         s.pollVersions,
		Now:          s.now,
		OnLearn:      func(source string) { s.metrics.invalidations.WithLabelValues(source).Inc() },
		OnPollError:  func(error) { s.metrics.pollErrors.Inc() },
	})
}

// pollVersions reads every tenant's version from the database, or from
// the Redis hash when the database does not answer.
func (s *Service) pollVersions(ctx context.Context) (map[string]int64, string, error) {
	vs, err := s.store.Versions(ctx)
	if err == nil && s.rdb != nil {
		s.repairHash(ctx, vs)
	}
	if err == nil || s.rdb == nil {
		return vs, "poll", err
	}
	vs, rerr := s.versions.ReadHash(ctx)
	if rerr != nil {
		return nil, "", errors.Join(err, rerr)
	}
	return vs, "poll-redis", nil
}

// announce tells every replica and SDK client that tenant is at version.
func (s *Service) announce(ctx context.Context, tenant string, version int64) error {
	return s.versions.Announce(ctx, tenant, version)
}

// repairHash announces again every version the Redis hash lags the
// database by. It gives up at the first failure: Redis is away, and the
// next poll tries again.
func (s *Service) repairHash(ctx context.Context, stored map[string]int64) {
	announced, err := s.versions.ReadHash(ctx)
	if err != nil {
		return
	}
	for tenant, v := range stored {
		if announced[tenant] >= v {
			continue
		}
		if err := s.versions.Announce(ctx, tenant, v); err != nil {
			s.metrics.publishErrors.Inc()
			return
		}
		s.metrics.repairs.Inc()
	}
}
