package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/redis/go-redis/v9"

	"github.com/greyrouter/greyrouter/internal/embeddedredis"
)

// openRedis returns one UniversalClient for whatever is configured: Cluster
// seeds, Sentinel, a redis:// or rediss:// URL, or, with none of those, an
// embedded in-process Redis. The returned close function releases both.
func openRedis(ctx context.Context, c config, log *slog.Logger) (redis.UniversalClient, func(), error) {
	switch {
	case c.RedisClusterAddrs != "":
		rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: splitList(c.RedisClusterAddrs), Password: c.RedisPassword, PoolSize: c.RedisPoolSize})
		log.Info("redis: cluster", "seeds", splitList(c.RedisClusterAddrs))
		return rdb, func() { rdb.Close() }, nil
	case c.RedisSentinelAddrs != "":
		if c.RedisSentinelMain == "" {
			return nil, nil, fmt.Errorf("%w: --redis-sentinel-addrs needs --redis-sentinel-master", errUsage)
		}
		rdb := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: c.RedisSentinelMain, SentinelAddrs: splitList(c.RedisSentinelAddrs),
			Password: c.RedisPassword, PoolSize: c.RedisPoolSize})
		log.Info("redis: sentinel", "master", c.RedisSentinelMain, "sentinels", splitList(c.RedisSentinelAddrs))
		return rdb, func() { rdb.Close() }, nil
	case c.RedisURL != "":
		opts, err := redis.ParseURL(c.RedisURL)
		if err != nil {
			// The URL may hold a password: do not echo it.
			return nil, nil, fmt.Errorf("%w: REDIS_URL is not a valid redis:// or rediss:// URL", errUsage)
		}
		opts.PoolSize = c.RedisPoolSize
		rdb := redis.NewClient(opts)
		log.Info("redis: standalone", "addr", opts.Addr, "db", opts.DB, "tls", opts.TLSConfig != nil)
		return rdb, func() { rdb.Close() }, nil
	}
	srv, err := embeddedredis.Start(ctx, log)
	if err != nil {
		return nil, nil, fmt.Errorf("start embedded redis: %w", err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), PoolSize: c.RedisPoolSize})
	return rdb, func() { rdb.Close(); srv.Close() }, nil
}
