package testutil

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
)

func TestRedisStartsAServerThatAnswersPing(t *testing.T) {
	t.Parallel()
	s := Redis(t)
	c := s.Client(t)
	if got, err := c.Ping(t.Context()).Result(); err != nil || got != "PONG" {
		t.Fatalf("PING = %q, %v; want PONG", got, err)
	}
	if err := c.Set(t.Context(), "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	if got := c.Get(t.Context(), "k").Val(); got != "v" {
		t.Fatalf("GET k = %q, want v", got)
	}
}

func TestRedisGivesEachTestItsOwnServer(t *testing.T) {
	t.Parallel()
	a, b := Redis(t), Redis(t)
	if a.Addr == b.Addr {
		t.Fatalf("two servers share address %s", a.Addr)
	}
	if err := a.Client(t).Set(t.Context(), "k", "a", 0).Err(); err != nil {
		t.Fatalf("SET on a: %v", err)
	}
	if n := b.Client(t).Exists(t.Context(), "k").Val(); n != 0 {
		t.Fatalf("key written to server a is visible on server b")
	}
}

func TestRedisRestartLosesDataAndScriptsButClientsReconnect(t *testing.T) {
	t.Parallel()
	s := Redis(t)
	c := s.Client(t)
	ctx := t.Context()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	sha, err := c.ScriptLoad(ctx, "return 1").Result()
	if err != nil {
		t.Fatalf("SCRIPT LOAD: %v", err)
	}

	s.Restart(t)

	if _, err := c.Get(ctx, "k").Result(); !errors.Is(err, redis.Nil) {
		t.Fatalf("GET k after restart: err = %v, want redis.Nil", err)
	}
	exists, err := c.ScriptExists(ctx, sha).Result()
	if err != nil || exists[0] {
		t.Fatalf("SCRIPT EXISTS after restart = %v, %v; want [false]", exists, err)
	}
}

func TestRedisUsesTestRedisAddrWhenSet(t *testing.T) {
	external := Redis(t)
	ec := external.Client(t)
	ctx := t.Context()
	if err := ec.Set(ctx, "stale", "v", 0).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	t.Setenv("TEST_REDIS_ADDR", external.Addr)

	s := Redis(t)
	if s.Addr != external.Addr {
		t.Fatalf("Addr = %s, want TEST_REDIS_ADDR %s", s.Addr, external.Addr)
	}
	c := s.Client(t)
	if n := c.Exists(ctx, "stale").Val(); n != 0 {
		t.Fatal("server from TEST_REDIS_ADDR was not flushed at start")
	}

	t.Run("restart is simulated by dropping data and connections", func(t *testing.T) {
		if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
			t.Fatalf("SET: %v", err)
		}
		id := c.ClientID(ctx).Val()
		s.Restart(t)
		if _, err := c.Get(ctx, "k").Result(); !errors.Is(err, redis.Nil) {
			t.Fatalf("GET k after simulated restart: err = %v, want redis.Nil", err)
		}
		if after := c.ClientID(ctx).Val(); after == id {
			t.Fatalf("client connection %d survived the simulated restart", id)
		}
	})
}

func TestRedisClusterSpreadsKeysOverEveryMaster(t *testing.T) {
	t.Parallel()
	cl := RedisCluster(t)
	if len(cl.Addrs) != 3 {
		t.Fatalf("Addrs = %v, want 3 masters", cl.Addrs)
	}
	c := cl.Client(t)
	ctx := t.Context()
	for i := range 30 {
		if err := c.Set(ctx, fmt.Sprintf("key%d", i), i, 0).Err(); err != nil {
			t.Fatalf("SET key%d: %v", i, err)
		}
	}
	var masters, empty atomic.Int32
	err := c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		masters.Add(1)
		if m.DBSize(ctx).Val() == 0 {
			empty.Add(1)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("ForEachMaster: %v", err)
	}
	if masters.Load() != 3 || empty.Load() != 0 {
		t.Fatalf("%d masters, %d without keys; want 3 masters all holding keys", masters.Load(), empty.Load())
	}
}

func TestRedisClusterRejectsScriptsWhoseKeysSpanSlots(t *testing.T) {
	t.Parallel()
	c := RedisCluster(t).Client(t)
	ctx := t.Context()
	const script = "redis.call('SET', KEYS[1], 'x'); return redis.call('SET', KEYS[2], 'y')"

	t.Run("keys sharing a hash tag succeed", func(t *testing.T) {
		if err := c.Eval(ctx, script, []string{"{user1}.a", "{user1}.b"}).Err(); err != nil {
			t.Fatalf("EVAL with same-slot keys: %v", err)
		}
	})
	t.Run("keys in two slots fail with CROSSSLOT", func(t *testing.T) {
		a, b := "foo", "bar"
		sa, sb := c.ClusterKeySlot(ctx, a).Val(), c.ClusterKeySlot(ctx, b).Val()
		if sa == sb {
			t.Fatalf("test keys %q and %q share slot %d", a, b, sa)
		}
		err := c.Eval(ctx, script, []string{a, b}).Err()
		if err == nil || !strings.Contains(err.Error(), "CROSSSLOT") {
			t.Fatalf("EVAL with keys in slots %d and %d: err = %v, want CROSSSLOT", sa, sb, err)
		}
	})
}

// recordingTB captures how requireOrSkip ends a test without ending this one.
type recordingTB struct {
	testing.TB
	skipped, failed bool
}

func (r *recordingTB) Helper()               {}
func (r *recordingTB) Skipf(string, ...any)  { r.skipped = true }
func (r *recordingTB) Fatalf(string, ...any) { r.failed = true }

func TestRequireOrSkip(t *testing.T) {
	for _, tc := range []struct {
		name, env         string
		wantSkip, wantErr bool
	}{
		{"skips when services are optional", "", true, false},
		{"fails when GREYROUTER_REQUIRE_SERVICES=1", "1", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GREYROUTER_REQUIRE_SERVICES", tc.env)
			r := &recordingTB{TB: t}
			requireOrSkip(r, "no %s", "redis-server")
			if r.skipped != tc.wantSkip || r.failed != tc.wantErr {
				t.Fatalf("skipped=%v failed=%v; want skipped=%v failed=%v", r.skipped, r.failed, tc.wantSkip, tc.wantErr)
			}
		})
	}
}
