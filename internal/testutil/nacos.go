package testutil

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// nacosStartTimeout bounds how long the Nacos test server may take to
// answer as the process just started (it takes about half a second).
const nacosStartTimeout = 30 * time.Second

// nacosToolDir is the wrapper module that builds the Nacos test server,
// relative to the repository root.
const nacosToolDir = "tools/nacos-test-server"

// nacosKeyFiles are the files of nacosToolDir whose content keys the cached
// binary, in this order. scripts/test.sh computes the same key (see
// nacosCacheKey); TestNacosCacheKeyMatchesTestScript keeps them in step.
var nacosKeyFiles = []string{"go.mod", "go.sum", "main.go", "identity.go", "config.yaml.tmpl"}

// NacosServer is a Nacos-compatible server owned by one test: PolarisMesh
// with only its Nacos apiserver, built from tools/nacos-test-server. It
// speaks the Nacos 1.x HTTP API on Addr and the 2.x gRPC API on GRPCPort
// (always Port+1000, where Nacos clients look for it). Behaviour that
// differs from the official Nacos server: pushes to subscribers arrive
// 0.8–1.9 s after a change (Polaris refreshes its cache every second),
// returned metadata carries extra internal-nacos-* keys, and the Nacos
// "public" namespace is stored as the Polaris namespace "default".
type NacosServer struct {
	// Addr is the host:port of the Nacos HTTP API.
	Addr string
	// Host is the IP the server listens on (127.0.0.1).
	Host string
	// Port is the HTTP port; GRPCPort is Port+1000.
	Port, GRPCPort int
	// Dir holds the server's boltdb file, configuration and logs; it
	// survives Stop and Start, so a restarted server keeps its data.
	Dir string

	bin     string
	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error
}

// Nacos starts a fresh Nacos test server on free loopback ports with an
// empty data directory, waits until it answers, and kills it when the test
// ends. The binary comes from TEST_NACOS_BIN, else from the user cache
// (nacos-test-server-<key> under $XDG_CACHE_HOME/greyrouter or
// ~/.cache/greyrouter, keyed by the wrapper module's sources and the Go
// version), else it is built there first (about 40 s on 2 cores with the
// module cache filled, 55 s with nothing cached; scripts/test.sh builds it
// before the tests so no test timeout pays for it). When the binary cannot be found or built — no Go toolchain, no
// module proxy, -short mode with nothing cached — the test is skipped, or
// fails when GREYROUTER_REQUIRE_SERVICES=1.
func Nacos(t testing.TB) *NacosServer {
	t.Helper()
	bin := nacosBinary(t)
	s := &NacosServer{Host: "127.0.0.1", Dir: t.TempDir(), bin: bin}
	// Registered after t.TempDir, so it runs before the directory is
	// removed.
	t.Cleanup(s.kill)
	var err error
	// Another process may take one of the two ports between the check and
	// the server's bind; the server then exits (it cannot bind) or is killed
	// (a foreign server answers), and new ports are tried.
	for range 5 {
		if s.Port, err = freeNacosPort(); err != nil {
			break
		}
		s.GRPCPort = s.Port + 1000
		s.Addr = net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
		if err = s.start(); err == nil || !(errors.Is(err, errPortTaken) || errors.Is(err, errNacosExited)) {
			break
		}
	}
	if err != nil {
		t.Fatalf("testutil: start nacos test server: %v", err)
	}
	return s
}

// Stop kills the server (SIGKILL: Polaris takes about 7 s to stop on
// SIGTERM) and waits for it to exit; clients see connection errors, as in
// an outage, until Start.
func (s *NacosServer) Stop(t testing.TB) {
	t.Helper()
	s.kill()
}

// Start starts a stopped server again on the same ports with the same data
// directory, and waits until it answers.
func (s *NacosServer) Start(t testing.TB) {
	t.Helper()
	if s.cmd != nil {
		t.Fatalf("testutil: nacos test server on %s is already running", s.Addr)
	}
	if err := s.start(); err != nil {
		t.Fatalf("testutil: start nacos test server again: %v", err)
	}
}

// Restart kills the server and starts it again on the same ports with the
// same data: clients lose their connections and must reconnect.
func (s *NacosServer) Restart(t testing.TB) {
	t.Helper()
	s.Stop(t)
	s.Start(t)
}

var (
	// errPortTaken marks a start that failed because another process
	// answers on one of the server's ports.
	errPortTaken = errors.New("port taken by another process")
	// errNacosExited marks a server that exited while starting; it does
	// at once when it cannot bind one of its ports.
	errNacosExited = errors.New("nacos test server exited during start")
)

// nacosIdentity is the answer of the test server's
// GET /nacos/v1/debug/test-server (tools/nacos-test-server/identity.go).
type nacosIdentity struct {
	PID           int  `json:"pid"`
	HTTPListening bool `json:"httpListening"`
	GRPCListening bool `json:"grpcListening"`
}

// start launches the server and returns once the process just started
// answers on its HTTP port and holds its gRPC port, so that a foreign server
// on one of the ports is not mistaken for it.
func (s *NacosServer) start() error {
	logPath := filepath.Join(s.Dir, "server.out")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open nacos test server log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(s.bin, "-listen", s.Host, "-port", strconv.Itoa(s.Port), "-dir", s.Dir)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("run %s: %w", s.bin, err)
	}
	s.cmd, s.done = cmd, make(chan struct{})
	go func(done chan struct{}) {
		s.waitErr = cmd.Wait()
		close(done)
	}(s.done)

	client := &http.Client{Timeout: time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), nacosStartTimeout)
	defer cancel()
	pid := cmd.Process.Pid
	for {
		ready, err := s.probe(ctx, client, pid)
		if ready {
			return nil
		}
		if err != nil {
			s.kill()
			return fmt.Errorf("nacos test server on %s: %w", s.Addr, err)
		}
		select {
		case <-s.done:
			err := fmt.Errorf("%w on %s: %v\n%s", errNacosExited, s.Addr, s.waitErr, logTail(logPath))
			s.cmd = nil
			return err
		case <-ctx.Done():
			s.kill()
			return fmt.Errorf("nacos test server on %s did not answer within %s\n%s", s.Addr, nacosStartTimeout, logTail(logPath))
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// probe reports whether the server process pid is ready. It returns an
// error wrapping errPortTaken when another process answers on one of the
// ports, and false, nil while the server is still starting.
func (s *NacosServer) probe(ctx context.Context, client *http.Client, pid int) (bool, error) {
	var id nacosIdentity
	switch code, err := getJSON(ctx, client, "http://"+s.Addr+"/nacos/v1/debug/test-server", &id); {
	case err != nil && code == 0:
		return false, nil // not listening yet
	case err != nil || id.PID != pid:
		// Something else answers on the HTTP port: our bind failed or
		// will fail.
		return false, fmt.Errorf("%w: HTTP port %d answers as another server (status %d, pid %d)", errPortTaken, s.Port, code, id.PID)
	case !id.HTTPListening:
		return false, nil
	case !id.GRPCListening:
		// Polaris binds both ports at once. If something else listens on
		// the gRPC port, Polaris keeps answering HTTP for 5 s before it
		// exits; do not wait for that.
		if c, err := net.DialTimeout("tcp", net.JoinHostPort(s.Host, strconv.Itoa(s.GRPCPort)), time.Second); err == nil {
			c.Close()
			return false, fmt.Errorf("%w: gRPC port %d is held by another process", errPortTaken, s.GRPCPort)
		}
		return false, nil
	}
	var health struct{ Status string }
	if _, err := getJSON(ctx, client, "http://"+s.Addr+"/nacos/v1/ns/operator/metrics", &health); err != nil || health.Status != "UP" {
		return false, nil
	}
	return true, nil
}

// getJSON decodes a 200 response into v. code is 0 when no response came.
func getJSON(ctx context.Context, client *http.Client, url string, v any) (code int, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return resp.StatusCode, json.Unmarshal(body, v)
}

// kill sends SIGKILL to the server process and waits for it to exit.
func (s *NacosServer) kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// freeNacosPort finds a free loopback port P whose gRPC port P+1000 is free
// too.
func freeNacosPort() (int, error) {
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("find free port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		if port+1000 > 65535 {
			l.Close()
			continue
		}
		g, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port+1000)))
		l.Close()
		if err != nil {
			continue
		}
		g.Close()
		return port, nil
	}
	return 0, errors.New("find free port: no port with a free gRPC port (+1000)")
}

// The binary is resolved once per test process; tests calling Nacos
// meanwhile wait for the first one.
var (
	nacosBinMu sync.Mutex
	nacosBin   string
)

// nacosBinary returns the path of the Nacos test server binary: from
// TEST_NACOS_BIN, the user cache, or built into the user cache.
func nacosBinary(t testing.TB) string {
	t.Helper()
	if bin := os.Getenv("TEST_NACOS_BIN"); bin != "" {
		if !isExecutable(bin) {
			t.Fatalf("testutil: TEST_NACOS_BIN=%s is not an executable file", bin)
		}
		return bin
	}
	nacosBinMu.Lock()
	defer nacosBinMu.Unlock()
	if nacosBin != "" {
		return nacosBin
	}
	src, err := findNacosToolDir()
	if err != nil {
		requireOrSkip(t, "testutil: no Nacos test server: TEST_NACOS_BIN is not set and %v", err)
	}
	path, err := nacosCachePath(src)
	if err != nil {
		requireOrSkip(t, "testutil: no Nacos test server: TEST_NACOS_BIN is not set and %v", err)
	}
	if !isExecutable(path) {
		if testing.Short() {
			requireOrSkip(t, "testutil: the Nacos test server is not built (%s) and building it takes about a minute, not done in -short mode; run scripts/test.sh or go test without -short once", path)
		}
		if err := buildNacos(t, src, path); err != nil {
			requireOrSkip(t, "testutil: build the Nacos test server: %v", err)
		}
	}
	nacosBin = path
	return path
}

// findNacosToolDir looks for tools/nacos-test-server in the working
// directory (a package directory under go test) and its parents.
func findNacosToolDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		src := filepath.Join(dir, filepath.FromSlash(nacosToolDir))
		if _, err := os.Stat(filepath.Join(src, "go.mod")); err == nil {
			return src, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%s/go.mod is not in the working directory or its parents", nacosToolDir)
		}
		dir = parent
	}
}

// nacosCachePath returns where the binary built from src is cached:
// <user cache>/greyrouter/nacos-test-server-<key>.
func nacosCachePath(src string) (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no user cache directory: %w", err)
	}
	key, err := nacosCacheKey(src)
	if err != nil {
		return "", err
	}
	return filepath.Join(cache, "greyrouter", "nacos-test-server-"+key), nil
}

// nacosCacheKey is the first 16 hex digits of the SHA-256 of nacosKeyFiles
// concatenated, followed by the output of `go env GOVERSION GOOS GOARCH`
// run in src — what scripts/test.sh computes with
//
//	{ cat go.mod go.sum main.go identity.go config.yaml.tmpl; go env GOVERSION GOOS GOARCH; } | sha256sum
func nacosCacheKey(src string) (string, error) {
	h := sha256.New()
	for _, name := range nacosKeyFiles {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			return "", err
		}
		h.Write(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "env", "GOVERSION", "GOOS", "GOARCH")
	cmd.Dir = src
	out, err := cmd.Output()
	if err != nil {
		// Without a go command nothing can be built, but a cached binary
		// built by this toolchain can still be used.
		out = []byte(runtime.Version() + "\n" + runtime.GOOS + "\n" + runtime.GOARCH + "\n")
	}
	h.Write(out)
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// buildNacos builds the wrapper module in src into path. An exclusive lock
// on path+".lock" keeps concurrent test processes (go test runs packages in
// parallel) from building it twice: the ones that wait find it built.
func buildNacos(t testing.TB, src, path string) error {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		return fmt.Errorf("the go command is not in PATH: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	lock, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock %s: %w", lock.Name(), err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if isExecutable(path) {
		return nil // built by another process while this one waited
	}

	msg := fmt.Sprintf("testutil: building the Nacos test server, ~1 min cold (go build in %s -> %s; scripts/test.sh does this before the tests)", src, path)
	t.Log(msg)
	if !testing.Verbose() {
		fmt.Fprintln(os.Stderr, msg)
	}
	ctx := context.Background()
	// Stop early enough for a readable failure instead of a test timeout.
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if deadline, ok := d.Deadline(); ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, deadline.Add(-30*time.Second))
			defer cancel()
		}
	}
	tmp := fmt.Sprintf("%s.tmp%d", path, os.Getpid())
	defer os.Remove(tmp)
	start := time.Now()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", tmp, ".")
	cmd.Dir = src
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (stopped before the test deadline; run scripts/test.sh or raise -timeout)", ctx.Err())
		}
		return fmt.Errorf("go build in %s: %v\n%s", src, err, strings.TrimSpace(out.String()))
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	t.Logf("testutil: built the Nacos test server in %s", time.Since(start).Round(time.Second))
	return nil
}
