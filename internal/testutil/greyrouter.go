package testutil

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// GreyrouterAdminToken is the break-glass admin token of every server that
// Greyrouter starts, unless the test sets GREYROUTER_ADMIN_TOKEN itself.
const GreyrouterAdminToken = "test-admin-token-0123456789"

// GreyrouterKEK is the key-encryption key (base64 of 32 bytes) that seals
// the signing keys of every server that Greyrouter starts, unless the test
// sets GREYROUTER_KEY_ENCRYPTION_KEY itself.
const GreyrouterKEK = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

const (
	// greyrouterReadyTimeout bounds how long a started binary may take to
	// answer /readyz with 200.
	greyrouterReadyTimeout = 60 * time.Second
	// greyrouterStopTimeout bounds how long the binary may take to exit
	// after SIGTERM before it is killed.
	greyrouterStopTimeout = 30 * time.Second
)

// GreyrouterOptions configures a greyrouter binary started by Greyrouter.
type GreyrouterOptions struct {
	// Env is added to (and overrides) the default environment:
	// GREYROUTER_DATA_DIR (a temporary directory), GREYROUTER_ADMIN_TOKEN
	// (GreyrouterAdminToken), GREYROUTER_KEY_ENCRYPTION_KEY (GreyrouterKEK)
	// and GREYROUTER_RECONCILE_INTERVAL (100ms). GREYROUTER_ADDR is always
	// set to the server's own port. Point REDIS_URL at testutil.Redis and
	// DATABASE_URL at testutil.Postgres to use real servers; without them
	// the binary runs its embedded Redis and SQLite.
	Env map[string]string
	// Args are extra flags after "serve".
	Args []string
}

// GreyrouterServer is the real greyrouter binary running as a child process
// of the test, so that a test can take it down and bring it back as an
// outage would.
type GreyrouterServer struct {
	// URL is the base URL, http://127.0.0.1:PORT.
	URL string
	// Addr is 127.0.0.1:PORT; it stays the same across Stop and Start.
	Addr string
	// DataDir is the server's GREYROUTER_DATA_DIR; it survives Stop and
	// Start.
	DataDir string

	bin     string
	args    []string
	env     []string
	logPath string

	mu      sync.Mutex // guards cmd, done and waitErr against Log and Stop from cleanup
	cmd     *exec.Cmd
	done    chan struct{} // closed when cmd has exited
	waitErr error         // valid after done is closed
}

// Greyrouter builds the greyrouter binary (once per test process, from
// ./cmd/greyrouter of the module the test runs in), starts `greyrouter
// serve` on a free loopback port, waits until /readyz answers 200 and stops
// it when the test ends. Without a go command to build it the test is
// skipped, or fails when GREYROUTER_REQUIRE_SERVICES=1.
func Greyrouter(t testing.TB, opts GreyrouterOptions) *GreyrouterServer {
	t.Helper()
	bin := greyrouterBinary(t)
	s := &GreyrouterServer{bin: bin, args: append([]string{"serve"}, opts.Args...)}
	env := map[string]string{
		"GREYROUTER_DATA_DIR":           "",
		"GREYROUTER_ADMIN_TOKEN":        GreyrouterAdminToken,
		"GREYROUTER_KEY_ENCRYPTION_KEY": GreyrouterKEK,
		"GREYROUTER_RECONCILE_INTERVAL": "100ms",
	}
	for k, v := range opts.Env {
		env[k] = v
	}
	if env["GREYROUTER_DATA_DIR"] == "" {
		env["GREYROUTER_DATA_DIR"] = t.TempDir()
	}
	s.DataDir = env["GREYROUTER_DATA_DIR"]
	logDir := t.TempDir()
	s.logPath = filepath.Join(logDir, "greyrouter.log")
	// Registered after the temporary directories, so it runs before they
	// are removed.
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("greyrouter %s log tail:\n%s", s.Addr, s.Log())
		}
	})

	var err error
	// Another process may take the port between the check and the
	// binary's bind; the binary then exits, and a new port is tried.
	for range 5 {
		var port int
		if port, err = freeLoopbackPort(); err != nil {
			break
		}
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		s.URL = "http://" + s.Addr
		env["GREYROUTER_ADDR"] = s.Addr
		s.env = environ(env)
		if err = s.start(); err == nil || !errors.Is(err, errGreyrouterExited) {
			break
		}
	}
	if err != nil {
		t.Fatalf("testutil: start greyrouter: %v", err)
	}
	return s
}

// Stop sends SIGTERM and waits for the binary to exit (killing it after
// 30 s); clients see connection errors, as in an outage, until Start.
func (s *GreyrouterServer) Stop(t testing.TB) {
	t.Helper()
	if err := s.stop(); err != nil {
		t.Errorf("testutil: stop greyrouter %s: %v\n%s", s.Addr, err, s.Log())
	}
}

// Start starts a stopped server again on the same port with the same data
// directory and environment, and waits until /readyz answers 200.
func (s *GreyrouterServer) Start(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	running := s.cmd != nil
	s.mu.Unlock()
	if running {
		t.Fatalf("testutil: greyrouter on %s is already running", s.Addr)
	}
	if err := s.start(); err != nil {
		t.Fatalf("testutil: start greyrouter again: %v", err)
	}
}

// Log returns the tail of the binary's stdout and stderr, across every
// start, for failure messages.
func (s *GreyrouterServer) Log() string {
	return logTail(s.logPath)
}

// errGreyrouterExited marks a binary that exited while starting, as it does
// at once when it cannot bind its port.
var errGreyrouterExited = errors.New("greyrouter exited during start")

// start launches the binary and returns once /readyz answers 200 while the
// process just started is alive.
func (s *GreyrouterServer) start() error {
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open greyrouter log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(s.bin, s.args...)
	cmd.Env = s.env
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("run %s: %w", s.bin, err)
	}
	done := make(chan struct{})
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	go func() {
		err := cmd.Wait()
		s.mu.Lock()
		s.waitErr = err
		s.mu.Unlock()
		close(done)
	}()

	client := &http.Client{Timeout: time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), greyrouterReadyTimeout)
	defer cancel()
	var last string
	for {
		// A foreign server on the port cannot pass for this one for long:
		// the binary fails to bind and exits, which the select sees.
		last = probeReady(ctx, client, s.URL+"/readyz")
		if last == "" {
			select {
			case <-done:
			default:
				return nil
			}
		}
		select {
		case <-done:
			s.mu.Lock()
			err := fmt.Errorf("%w on %s: %v\n%s", errGreyrouterExited, s.Addr, s.waitErr, s.Log())
			s.cmd = nil
			s.mu.Unlock()
			return err
		case <-ctx.Done():
			_ = s.stop()
			return fmt.Errorf("greyrouter on %s: /readyz not 200 within %s (last: %s)\n%s", s.Addr, greyrouterReadyTimeout, last, s.Log())
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// probeReady returns "" when url answers 200, else what it answered.
func probeReady(ctx context.Context, client *http.Client, url string) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err.Error()
	}
	resp, err := client.Do(req)
	if err != nil {
		return err.Error()
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp.Status
	}
	return ""
}

// stop sends SIGTERM, waits for the exit and kills the process when it
// takes longer than greyrouterStopTimeout. It returns an error when the
// binary had to be killed or exited with a failure status.
func (s *GreyrouterServer) stop() error {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return nil
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(greyrouterStopTimeout):
		_ = cmd.Process.Kill()
		<-done
		return fmt.Errorf("did not exit within %s of SIGTERM; killed", greyrouterStopTimeout)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.waitErr != nil {
		return fmt.Errorf("exited after SIGTERM: %w", s.waitErr)
	}
	return nil
}

// environ returns the test process's environment without the binary's own
// settings (a developer's REDIS_URL or DATABASE_URL must not leak into a
// test), with env added in sorted order.
func environ(env map[string]string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !isGreyrouterSetting(kv) {
			out = append(out, kv)
		}
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, k+"="+env[k])
	}
	return out
}

// isGreyrouterSetting reports whether kv (NAME=value) is one of the
// environment variables cmd/greyrouter reads.
func isGreyrouterSetting(kv string) bool {
	for _, p := range []string{"GREYROUTER_", "REDIS_", "NACOS_", "DATABASE_URL="} {
		if strings.HasPrefix(kv, p) {
			return true
		}
	}
	return false
}

// The binary is built once per test process into a temporary directory,
// which RunMain removes; tests calling Greyrouter meanwhile wait for the
// first one.
var (
	greyrouterBuildOnce sync.Once
	greyrouterBin       string
	greyrouterBuildErr  error
)

// errNoGoCommand marks a machine that cannot build the binary.
var errNoGoCommand = errors.New("the go command is not in PATH")

// greyrouterBinary returns the path of the binary, building it the first
// time.
func greyrouterBinary(t testing.TB) string {
	t.Helper()
	greyrouterBuildOnce.Do(func() {
		greyrouterBin, greyrouterBuildErr = buildGreyrouter()
	})
	if errors.Is(greyrouterBuildErr, errNoGoCommand) {
		requireOrSkip(t, "testutil: cannot build greyrouter: %v", greyrouterBuildErr)
	}
	if greyrouterBuildErr != nil {
		t.Fatalf("testutil: build greyrouter: %v", greyrouterBuildErr)
	}
	return greyrouterBin
}

// buildGreyrouter runs `go build -o <tmp>/greyrouter ./cmd/greyrouter` in
// the module root.
func buildGreyrouter() (string, error) {
	if _, err := exec.LookPath("go"); err != nil {
		return "", fmt.Errorf("%w: %v", errNoGoCommand, err)
	}
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "greyrouter-bin-")
	if err != nil {
		return "", err
	}
	onStop(func() { _ = os.RemoveAll(dir) })
	bin := filepath.Join(dir, "greyrouter")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/greyrouter")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/greyrouter in %s: %v\n%s", root, err, out)
	}
	return bin, nil
}

// moduleRoot walks up from the working directory (a package directory
// under go test) to the directory holding go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod is not in the working directory or its parents")
		}
		dir = parent
	}
}
