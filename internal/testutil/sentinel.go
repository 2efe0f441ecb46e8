package testutil

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// SentinelMaster is the master name RedisSentinel monitors.
const SentinelMaster = "grmaster"

// RedisSentinelServer is a master and one Sentinel monitoring it.
type RedisSentinelServer struct {
	Master        *RedisServer
	SentinelAddrs []string
}

// RedisSentinel starts a redis-server master and a redis-server in
// sentinel mode monitoring it as SentinelMaster, and waits until the
// Sentinel reports the master's address. Both stop when the test ends.
func RedisSentinel(t testing.TB) *RedisSentinelServer {
	t.Helper()
	master := Redis(t)
	if master.proc == nil {
		t.Skip("testutil: RedisSentinel needs its own servers; TEST_REDIS_ADDR is set")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "sentinel.conf")
	body := fmt.Sprintf("sentinel monitor %s 127.0.0.1 %d 1\nsentinel down-after-milliseconds %s 5000\n", SentinelMaster, master.proc.port, SentinelMaster)
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &redisProc{bin: master.proc.bin, dir: dir, conf: conf, extra: []string{"--sentinel"}}
	p.logPath = filepath.Join(dir, "sentinel.log")
	if err := p.startOnFreePort(freeLoopbackPort); err != nil {
		t.Fatalf("testutil: start sentinel: %v", err)
	}
	t.Cleanup(p.stop)

	sc := redis.NewSentinelClient(&redis.Options{Addr: p.addr()})
	defer sc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		addr, err := sc.GetMasterAddrByName(ctx, SentinelMaster).Result()
		if err == nil && len(addr) == 2 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("testutil: sentinel never reported master %s: %v\n%s", SentinelMaster, err, logTail(p.logPath))
		case <-time.After(20 * time.Millisecond):
		}
	}
	return &RedisSentinelServer{Master: master, SentinelAddrs: []string{p.addr()}}
}
