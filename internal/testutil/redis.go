package testutil

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisStartTimeout bounds how long a redis-server may take to answer PING.
const redisStartTimeout = 15 * time.Second

// RedisServer is a Redis server owned by one test. Tests that need Redis
// behaviour miniredis does not reproduce (EVALSHA caching across restarts,
// real TTL expiry, exact error strings) use it instead of miniredis.
type RedisServer struct {
	// Addr is the host:port of the server.
	Addr string

	proc *redisProc // nil when the server comes from TEST_REDIS_ADDR
}

// Redis starts a private redis-server on a free loopback port, without
// persistence, and stops it when the test ends. When TEST_REDIS_ADDR is set
// that server is used instead and flushed first, so a shared server must not
// be used by tests or packages running in parallel. Without redis-server in
// PATH the test is skipped, or fails when GREYROUTER_REQUIRE_SERVICES=1.
func Redis(t testing.TB) *RedisServer {
	t.Helper()
	if addr := os.Getenv("TEST_REDIS_ADDR"); addr != "" {
		s := &RedisServer{Addr: addr}
		s.FlushAll(t)
		return s
	}
	bin := lookRedisBinary(t, "redis-server")
	p := &redisProc{bin: bin, dir: t.TempDir()}
	p.logPath = filepath.Join(p.dir, "redis.log")
	if err := p.startOnFreePort(freeLoopbackPort); err != nil {
		t.Fatalf("testutil: start redis-server: %v", err)
	}
	t.Cleanup(p.stop)
	return &RedisServer{Addr: p.addr(), proc: p}
}

// Client returns a client for the server that is closed when the test ends.
func (s *RedisServer) Client(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// FlushAll deletes every key in every database of the server.
func (s *RedisServer) FlushAll(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	defer c.Close()
	if err := c.FlushAll(ctx).Err(); err != nil {
		t.Fatalf("testutil: flushall on redis %s: %v", s.Addr, err)
	}
}

// Restart simulates a Redis restart without persistence: the server stops and
// starts again on the same port, so every key, the script cache and every
// client connection are lost. Against TEST_REDIS_ADDR, which cannot be
// restarted, the same losses are produced with FLUSHALL, SCRIPT FLUSH and
// CLIENT KILL.
func (s *RedisServer) Restart(t testing.TB) {
	t.Helper()
	if s.proc == nil {
		s.simulateRestart(t)
		return
	}
	s.proc.stop()
	if err := s.proc.start(); err != nil {
		t.Fatalf("testutil: restart redis-server: %v", err)
	}
}

// Stop stops the server until Start: clients see connection errors, as in
// an outage. It needs a server of the test's own (not TEST_REDIS_ADDR).
func (s *RedisServer) Stop(t testing.TB) {
	t.Helper()
	if s.proc == nil {
		t.Skip("testutil: cannot stop the shared TEST_REDIS_ADDR server")
	}
	s.proc.stop()
}

// Start starts a stopped server again on the same port, empty.
func (s *RedisServer) Start(t testing.TB) {
	t.Helper()
	if err := s.proc.start(); err != nil {
		t.Fatalf("testutil: start redis-server again: %v", err)
	}
}

func (s *RedisServer) simulateRestart(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	defer c.Close()
	for _, args := range [][]any{
		{"flushall"},
		{"script", "flush"},
		{"client", "kill", "type", "normal", "skipme", "yes"},
		{"client", "kill", "type", "pubsub", "skipme", "yes"},
	} {
		if err := c.Do(ctx, args...).Err(); err != nil {
			t.Fatalf("testutil: simulate restart of redis %s: %v: %v", s.Addr, args, err)
		}
	}
}

// RedisClusterServer is a three-master Redis Cluster owned by one test, for
// checking that keys and scripts respect hash slots.
type RedisClusterServer struct {
	// Addrs are the host:port of every master.
	Addrs []string

	nodes []*redisProc
}

// RedisCluster starts three cluster-enabled redis-servers on free loopback
// ports, joins them with redis-cli --cluster create, waits until every node
// reports all 16384 slots served, and stops them when the test ends.
func RedisCluster(t testing.TB) *RedisClusterServer {
	t.Helper()
	bin := lookRedisBinary(t, "redis-server")
	cli := lookRedisBinary(t, "redis-cli")

	c := &RedisClusterServer{}
	t.Cleanup(func() {
		for _, n := range c.nodes {
			n.stop()
		}
	})
	for i := range 3 {
		dir := t.TempDir()
		p := &redisProc{
			bin:     bin,
			dir:     dir,
			logPath: filepath.Join(dir, "redis.log"),
			extra: []string{
				"--cluster-enabled", "yes",
				"--cluster-config-file", filepath.Join(dir, "nodes.conf"),
			},
		}
		if err := p.startOnFreePort(freeClusterPort); err != nil {
			t.Fatalf("testutil: start redis cluster node %d: %v", i, err)
		}
		c.nodes = append(c.nodes, p)
		c.Addrs = append(c.Addrs, p.addr())
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := append([]string{"--cluster", "create"}, c.Addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("testutil: redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, addr := range c.Addrs {
		if err := waitClusterOK(ctx, addr, len(c.Addrs)); err != nil {
			t.Fatalf("testutil: wait for redis cluster: %v", err)
		}
	}
	return c
}

// Client returns a cluster client for the cluster that is closed when the
// test ends.
func (c *RedisClusterServer) Client(t testing.TB) *redis.ClusterClient {
	t.Helper()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs})
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// waitClusterOK polls CLUSTER INFO on addr until the node sees a healthy
// cluster of the expected size with every slot assigned and served.
func waitClusterOK(ctx context.Context, addr string, nodes int) error {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	want := []string{
		"cluster_state:ok",
		"cluster_slots_assigned:16384",
		"cluster_slots_ok:16384",
		"cluster_known_nodes:" + strconv.Itoa(nodes),
	}
	var last string
	for {
		info, err := c.ClusterInfo(ctx).Result()
		if err == nil && containsAll(info, want) {
			return nil
		}
		last = info
		if err != nil {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("node %s not ready: %w; last CLUSTER INFO:\n%s", addr, ctx.Err(), last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func containsAll(info string, want []string) bool {
	lines := make(map[string]bool)
	for _, l := range strings.Split(info, "\n") {
		lines[strings.TrimSpace(l)] = true
	}
	for _, w := range want {
		if !lines[w] {
			return false
		}
	}
	return true
}

// lookRedisBinary finds a Redis program in PATH or skips the test.
func lookRedisBinary(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		requireOrSkip(t, "testutil: %s not found in PATH; install it (apt-get install redis-server redis-tools) or run scripts/test.sh", name)
	}
	return path
}

// redisProc is one redis-server process that can be stopped and started
// again on the same port.
type redisProc struct {
	bin, dir, logPath string
	conf              string // config file, passed first (sentinels need one)
	extra             []string
	port              int

	cmd     *exec.Cmd
	done    chan struct{} // closed when cmd has exited
	waitErr error         // valid after done is closed
}

func (p *redisProc) addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.port))
}

// startOnFreePort starts the server on a port from pick, trying new ports
// when another process takes the chosen one before redis-server binds it.
func (p *redisProc) startOnFreePort(pick func() (int, error)) error {
	var err error
	for range 5 {
		if p.port, err = pick(); err != nil {
			return err
		}
		if err = p.start(); err == nil || !errors.Is(err, errExitedEarly) {
			return err
		}
	}
	return err
}

var errExitedEarly = errors.New("redis-server exited during start")

// start launches redis-server on p.port and returns once it answers as the
// process just started, so a foreign server on the same port is not mistaken
// for it.
func (p *redisProc) start() error {
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open redis log: %w", err)
	}
	defer logf.Close()
	args := []string{
		"--port", strconv.Itoa(p.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", p.dir,
	}
	if p.conf != "" {
		args = append([]string{p.conf}, args...)
	}
	cmd := exec.Command(p.bin, append(args, p.extra...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("run %s: %w", p.bin, err)
	}
	p.cmd, p.done = cmd, make(chan struct{})
	go func(done chan struct{}) {
		p.waitErr = cmd.Wait()
		close(done)
	}(p.done)

	c := redis.NewClient(&redis.Options{
		Addr:        p.addr(),
		MaxRetries:  -1,
		PoolSize:    1,
		DialTimeout: 250 * time.Millisecond,
		ReadTimeout: time.Second,
	})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), redisStartTimeout)
	defer cancel()
	want := "process_id:" + strconv.Itoa(cmd.Process.Pid)
	for {
		info, err := c.Info(ctx, "server").Result()
		if err == nil && strings.Contains(info, want+"\r\n") {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%w on port %d: %v\n%s", errExitedEarly, p.port, p.waitErr, logTail(p.logPath))
		case <-ctx.Done():
			p.stop()
			return fmt.Errorf("redis-server on port %d did not answer within %s\n%s", p.port, redisStartTimeout, logTail(p.logPath))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// stop terminates the server, killing it if it does not shut down promptly.
func (p *redisProc) stop() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	p.cmd = nil
}

// logTail returns the end of a server log for failure messages.
func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	const tail = 2048
	if len(b) > tail {
		b = b[len(b)-tail:]
	}
	return string(b)
}

// freeLoopbackPort asks the kernel for a port that is free right now.
func freeLoopbackPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// freeClusterPort finds a free port whose cluster bus port (port+10000) is
// free too; redis-cli --cluster create relies on that default offset.
func freeClusterPort() (int, error) {
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("find free port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		if port+10000 > 65535 {
			l.Close()
			continue
		}
		bus, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port+10000)))
		l.Close()
		if err != nil {
			continue
		}
		bus.Close()
		return port, nil
	}
	return 0, errors.New("find free port: no port with a free cluster bus port (+10000)")
}

// RedisBackends runs fn as two subtests: against a standalone Redis and
// against a 3-master Redis Cluster (skipped in -short mode).
func RedisBackends(t *testing.T, fn func(t *testing.T, rdb redis.UniversalClient)) {
	t.Run("standalone", func(t *testing.T) {
		fn(t, Redis(t).Client(t))
	})
	t.Run("cluster", func(t *testing.T) {
		if testing.Short() {
			t.Skip("cluster in -short mode")
		}
		fn(t, RedisCluster(t).Client(t))
	})
}
