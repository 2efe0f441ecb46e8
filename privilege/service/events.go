package service

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Invalidation: every write bumps its tenant's version in the database
// (the source of truth). After the commit the writer records the version
// in a Redis hash (raising it only, so announcements racing each other
// cannot lower it) and publishes it on a channel, in one script. Every
// replica subscribes and learns the version within milliseconds; a
// poller reads all versions every PollInterval — from the database, or
// from the Redis hash when the database is unreachable — so a missed
// message (a reconnect, a failed publish) costs at most one interval.
// Learning a version never touches the caches: keys carry versions, so
// the older entries are simply no longer asked for.

// announceScript raises the tenant's field of the versions hash to the
// version and publishes "<version> <tenant>" on the channel.
var announceScript = redis.NewScript(`
local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local v = tonumber(ARGV[2])
if v > cur then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
redis.call('PUBLISH', ARGV[3], ARGV[2] .. ' ' .. ARGV[1])
return v`)

// versionsKey is the Redis hash of every tenant's policy version; the
// platform's field is "-" (hash fields cannot be usefully empty in logs).
func (s *Service) versionsKey() string { return s.opts.KeyPrefix + "versions" }

func (s *Service) channel() string { return s.opts.KeyPrefix + "changes" }

func field(tenant string) string {
	if tenant == "" {
		return "-"
	}
	return tenant
}

func unfield(f string) string {
	if f == "-" {
		return ""
	}
	return f
}

// announce tells every replica that tenant is at version.
func (s *Service) announce(ctx context.Context, tenant string, version int64) error {
	if s.rdb == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	return announceScript.Run(ctx, s.rdb, []string{s.versionsKey()}, field(tenant), version, s.channel()).Err()
}

// subscribe follows the channel until ctx ends, resubscribing after
// errors; every (re)subscription triggers a poll, which covers what was
// published while it was away.
func (s *Service) subscribe(ctx context.Context) {
	defer s.wg.Done()
	for ctx.Err() == nil {
		sub := s.rdb.Subscribe(ctx, s.channel())
		s.subMu.Lock()
		s.sub = sub
		s.subMu.Unlock()
		if ctx.Err() == nil { // Close closes s.sub to end a blocked Receive
			s.followSubscription(ctx, sub)
		}
		_ = sub.Close()
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (s *Service) followSubscription(ctx context.Context, sub *redis.PubSub) {
	for {
		msg, err := sub.Receive(ctx)
		if err != nil {
			return
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				s.pollNow()
			}
		case *redis.Message:
			v, tenant, ok := strings.Cut(m.Payload, " ")
			if !ok {
				continue
			}
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				s.learn(tenant, n, "pubsub")
			}
		}
	}
}

// pollNow asks the poller for an immediate poll without waiting.
func (s *Service) pollNow() {
	select {
	case s.pollKick <- struct{}{}:
	default:
	}
}

// poll reads every version every PollInterval (and when kicked) until
// ctx ends.
func (s *Service) poll(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(s.opts.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.pollKick:
		}
		_ = s.pollOnce(ctx)
	}
}

// pollOnce learns every tenant's version from the database, or from the
// Redis hash when the database does not answer, and records when the
// versions were last confirmed.
func (s *Service) pollOnce(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.PollInterval+2*time.Second)
	defer cancel()
	vs, err := s.store.Versions(ctx)
	source := "poll"
	if err != nil && s.rdb != nil {
		var m map[string]string
		m, rerr := s.rdb.HGetAll(ctx, s.versionsKey()).Result()
		if rerr != nil {
			err = errors.Join(err, rerr)
		} else {
			err, source = nil, "poll-redis"
			vs = make(map[string]int64, len(m))
			for f, v := range m {
				if n, perr := strconv.ParseInt(v, 10, 64); perr == nil {
					vs[unfield(f)] = n
				}
			}
		}
	}
	if err != nil {
		s.metrics.pollErrors.Inc()
		return err
	}
	for tenant, v := range vs {
		s.learn(tenant, v, source)
	}
	s.confirmed.Store(s.now().UnixNano())
	return nil
}
