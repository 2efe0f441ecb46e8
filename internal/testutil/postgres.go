package testutil

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgTimeout bounds each administrative step: starting the cluster, creating
// or dropping a database.
const pgTimeout = 60 * time.Second

// The throwaway cluster is shared by every test of one test binary: initdb
// costs about half a second, a new database a few milliseconds. These are
// the only package-level variables, and they exist because a test process
// has no other place to keep a server alive across tests.
var (
	pgOnce   sync.Once
	pgShared *pgCluster
	pgErr    error

	stopMu sync.Mutex
	stops  []func()
)

// errPostgresMissing marks a machine without PostgreSQL binaries, which
// skips tests instead of failing them (unless services are required).
var errPostgresMissing = errors.New("postgresql is not installed")

// Postgres returns the URL of a new, empty database that is dropped when the
// test ends. When TEST_DATABASE_URL is set the database is created on that
// server (the URL's user must be allowed to CREATE DATABASE); otherwise a
// throwaway cluster is started once per test binary, which RunMain stops.
// Without PostgreSQL binaries the test is skipped, or fails when
// GREYROUTER_REQUIRE_SERVICES=1.
func Postgres(t testing.TB) string {
	t.Helper()
	admin := os.Getenv("TEST_DATABASE_URL")
	if admin == "" {
		pgOnce.Do(func() {
			pgShared, pgErr = startPostgres()
			if pgShared != nil {
				onStop(pgShared.stop)
			}
		})
		if errors.Is(pgErr, errPostgresMissing) {
			requireOrSkip(t, "testutil: %v", pgErr)
		}
		if pgErr != nil {
			t.Fatalf("testutil: start postgresql: %v", pgErr)
		}
		admin = pgShared.url("postgres")
	}
	dsn, err := createDatabase(admin)
	if err != nil {
		t.Fatalf("testutil: %v", err)
	}
	t.Cleanup(func() {
		if err := dropDatabase(admin, dsn); err != nil {
			t.Errorf("testutil: %v", err)
		}
	})
	return dsn
}

// RunMain runs the tests and then stops every server the helpers started
// for the whole process. Packages that use Postgres call it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(testutil.RunMain(m)) }
func RunMain(m *testing.M) int {
	code := m.Run()
	StopAll()
	return code
}

// StopAll stops every process-wide server started so far. RunMain calls
// it; call it directly only from a TestMain that cannot use RunMain.
func StopAll() {
	stopMu.Lock()
	fns := stops
	stops = nil
	stopMu.Unlock()
	for _, fn := range slices.Backward(fns) {
		fn()
	}
}

// onStop registers a process-wide server's shutdown with StopAll.
func onStop(fn func()) {
	stopMu.Lock()
	defer stopMu.Unlock()
	stops = append(stops, fn)
}

// createDatabase creates a uniquely named database on the server that admin
// points to and returns its URL.
func createDatabase(admin string) (string, error) {
	u, err := url.Parse(admin)
	if err != nil {
		return "", errors.New("postgresql admin url is not a valid url")
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	name := "t_" + hex.EncodeToString(b[:])

	ctx, cancel := context.WithTimeout(context.Background(), pgTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", fmt.Errorf("connect to postgresql at %s: %w", u.Redacted(), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("create database %s on %s: %w", name, u.Redacted(), err)
	}
	u.Path = "/" + name
	return u.String(), nil
}

// dropDatabase drops the database that dsn names, disconnecting any client
// the test forgot to close.
func dropDatabase(admin, dsn string) error {
	u, err := url.Parse(dsn)
	if err != nil {
		return fmt.Errorf("parse test database url: %w", err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	ctx, cancel := context.WithTimeout(context.Background(), pgTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return fmt.Errorf("connect to drop database %s: %w", name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// pgCluster is a throwaway PostgreSQL cluster in a temporary directory,
// tuned for tests: no fsync, trust authentication, loopback only.
type pgCluster struct {
	dir, pgCtl string
	port       int
	asRoot     bool
}

func (c *pgCluster) url(database string) string {
	return fmt.Sprintf("postgres://postgres@%s/%s?sslmode=disable",
		net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)), database)
}

// startPostgres runs initdb and pg_ctl start, as the postgres user when the
// test runs as root (PostgreSQL refuses to run as root).
func startPostgres() (*pgCluster, error) {
	initdb, pgCtl, err := findPostgres()
	if err != nil {
		return nil, err
	}
	c := &pgCluster{pgCtl: pgCtl, asRoot: os.Geteuid() == 0}
	if c.dir, err = os.MkdirTemp("", "greyrouter-pg-"); err != nil {
		return nil, fmt.Errorf("create cluster directory: %w", err)
	}
	if c.asRoot {
		if err := chownToPostgres(c.dir); err != nil {
			_ = os.RemoveAll(c.dir)
			return nil, err
		}
	}
	data := filepath.Join(c.dir, "data")
	if out, err := c.run(initdb, "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
		"--no-sync", "--no-instructions"); err != nil {
		_ = os.RemoveAll(c.dir)
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	// Another process may take the free port before the server binds it;
	// pg_ctl then fails fast and a new port is tried.
	for range 5 {
		if c.port, err = pgFreePort(); err != nil {
			break
		}
		opts := fmt.Sprintf("-h 127.0.0.1 -p %d -k %s -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
			c.port, c.dir)
		// -w makes pg_ctl poll until the server accepts connections.
		_, err = c.run(pgCtl, "-D", data, "-l", filepath.Join(c.dir, "pg.log"), "-w",
			"-t", strconv.Itoa(int(pgTimeout.Seconds())), "-o", opts, "start")
		if err == nil {
			return c, nil
		}
	}
	log, _ := os.ReadFile(filepath.Join(c.dir, "pg.log"))
	_ = os.RemoveAll(c.dir)
	return nil, fmt.Errorf("pg_ctl start: %w\n%s", err, log)
}

// stop shuts the cluster down and deletes its directory.
func (c *pgCluster) stop() {
	_, _ = c.run(c.pgCtl, "-D", filepath.Join(c.dir, "data"), "-m", "fast", "-w", "stop")
	_ = os.RemoveAll(c.dir)
}

// run executes a PostgreSQL program from the cluster directory, through
// runuser when the test runs as root.
func (c *pgCluster) run(bin string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*pgTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	if c.asRoot {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", "postgres", "--", bin}, args...)...)
	}
	cmd.Dir = c.dir
	return cmd.CombinedOutput()
}

// findPostgres looks for initdb and pg_ctl in PATH, then in the Debian
// layout /usr/lib/postgresql/<major>/bin, newest major first.
func findPostgres() (initdb, pgCtl string, err error) {
	if initdb, err = exec.LookPath("initdb"); err == nil {
		if pgCtl, err = exec.LookPath("pg_ctl"); err == nil {
			return initdb, pgCtl, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return pgMajor(b) - pgMajor(a) })
	for _, d := range dirs {
		initdb, pgCtl = filepath.Join(d, "initdb"), filepath.Join(d, "pg_ctl")
		if isExecutable(initdb) && isExecutable(pgCtl) {
			return initdb, pgCtl, nil
		}
	}
	return "", "", fmt.Errorf("%w: initdb and pg_ctl are not in PATH or /usr/lib/postgresql/*/bin; "+
		"install postgresql or set TEST_DATABASE_URL", errPostgresMissing)
}

// pgMajor reads the major version from /usr/lib/postgresql/<major>/bin.
func pgMajor(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// chownToPostgres hands the cluster directory to the postgres user.
func chownToPostgres(dir string) error {
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("%w: running as root needs a postgres user to own the cluster: %v", errPostgresMissing, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		return fmt.Errorf("chown cluster directory to postgres: %w", err)
	}
	return nil
}

// pgFreePort asks the kernel for a loopback port that is free right now.
func pgFreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
