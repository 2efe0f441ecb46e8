package embeddedredis_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/greyrouter/greyrouter/internal/embeddedredis"
)

func start(t *testing.T) (*embeddedredis.Server, *redis.Client) {
	t.Helper()
	s, err := embeddedredis.Start(t.Context(), nil)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(s.Close)
	c := redis.NewClient(&redis.Options{Addr: s.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	return s, c
}

// luaTime returns what a Lua script sees as redis.call('TIME').
func luaTime(t *testing.T, c *redis.Client) time.Time {
	t.Helper()
	v, err := c.Eval(t.Context(), "return redis.call('TIME')", nil).StringSlice()
	if err != nil || len(v) != 2 {
		t.Fatalf("EVAL TIME = %v, %v", v, err)
	}
	sec, err1 := strconv.ParseInt(v[0], 10, 64)
	usec, err2 := strconv.ParseInt(v[1], 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("EVAL TIME = %v: not numbers", v)
	}
	return time.Unix(sec, usec*1000)
}

func assertNearNow(t *testing.T, c *redis.Client) {
	t.Helper()
	before := time.Now()
	got := luaTime(t, c)
	after := time.Now()
	const slack = 50 * time.Millisecond
	if got.Before(before.Add(-slack)) || got.After(after.Add(slack)) {
		t.Fatalf("Lua TIME = %s, wall clock was %s..%s", got.Format(time.RFC3339Nano), before.Format(time.RFC3339Nano), after.Format(time.RFC3339Nano))
	}
}

func TestStartListensOnLoopbackAndWarns(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	s, err := embeddedredis.Start(t.Context(), log)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer s.Close()

	if !strings.HasPrefix(s.Addr(), "127.0.0.1:") {
		t.Errorf("Addr = %q, want a 127.0.0.1 address", s.Addr())
	}
	out := buf.String()
	if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "for evaluation only; set REDIS_URL for production") {
		t.Errorf("log = %q, want a WARN that embedded redis is for evaluation only", out)
	}
	c := redis.NewClient(&redis.Options{Addr: s.Addr()})
	defer c.Close()
	if err := c.Ping(t.Context()).Err(); err != nil {
		t.Fatalf("PING: %v", err)
	}
}

func TestKeysExpireWithTheWallClock(t *testing.T) {
	_, c := start(t)
	ctx := t.Context()

	set := time.Now()
	if err := c.Set(ctx, "session", "v", 300*time.Millisecond).Err(); err != nil {
		t.Fatalf("SET PX 300: %v", err)
	}
	if pttl := c.PTTL(ctx, "session").Val(); pttl <= 0 || pttl > 300*time.Millisecond {
		t.Fatalf("PTTL right after SET = %s, want (0, 300ms]", pttl)
	}

	deadline := set.Add(3 * time.Second)
	for {
		_, err := c.Get(ctx, "session").Result()
		if errors.Is(err, redis.Nil) {
			break
		}
		if err != nil {
			t.Fatalf("GET: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("key with a 300ms TTL still exists after %s", time.Since(set))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if gone := time.Since(set); gone < 300*time.Millisecond {
		t.Fatalf("key with a 300ms TTL expired after only %s", gone)
	}
	assertNearNow(t, c) // the clock has moved on with the wall, not stopped at Start
}

func TestLuaTimeIsTheWallClock(t *testing.T) {
	_, c := start(t)
	assertNearNow(t, c)
}

func TestCloseIsIdempotentAndStopsListening(t *testing.T) {
	s, err := embeddedredis.Start(t.Context(), nil)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	addr := s.Addr()
	s.Close()
	s.Close()
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Fatal("server still accepts connections after Close")
	}
}

func TestStartFailsOnCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if s, err := embeddedredis.Start(ctx, nil); err == nil {
		s.Close()
		t.Fatal("Start with a cancelled context succeeded")
	}
}
