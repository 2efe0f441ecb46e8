package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/greyrouter/greyrouter/login"
)

type loginFlags struct {
	bounds
	url, token string
	users      int
	pid        int
}

const loginSummary = `Measures password logins (POST /api/v1/login) at saturation against a
greyrouter on loopback and compares the rate with what the machine's cores
can hash: cores / (argon2id time per hash), the hash timed in this process
just before the run with the server's default parameters. With --pid it also
samples the server's resident memory (VmRSS) during the run, e.g. for a
500-concurrent flood. Users for the run are created in tenant "grload" with
the bootstrap token (default $GREYROUTER_ADMIN_TOKEN).`

func loginCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f loginFlags
	fs := flag.NewFlagSet("grload login", flag.ContinueOnError)
	f.bind(fs, 8, 20*time.Second)
	fs.StringVar(&f.url, "url", "http://127.0.0.1:8080", "greyrouter base URL (loopback only)")
	fs.StringVar(&f.token, "token", "", "bootstrap token (default $GREYROUTER_ADMIN_TOKEN)")
	fs.IntVar(&f.users, "users", 32, "users to log in as, in turn")
	fs.IntVar(&f.pid, "pid", 0, "server process id, to sample its resident memory (0: do not)")
	if err := parse(fs, loginSummary, args, stdout, stderr); err != nil {
		return err
	}
	if err := f.valid(); err != nil {
		return err
	}
	if f.users < 1 || f.users > 10_000 {
		return fmt.Errorf("%w: --users must be 1..10000", errUsage)
	}
	u, err := loopbackURL(f.url)
	if err != nil {
		return err
	}
	if f.token == "" {
		f.token = os.Getenv("GREYROUTER_ADMIN_TOKEN")
	}
	log := newLogger(stderr)
	api := newAPIClient(u.Scheme+"://"+u.Host, f.concurrency)

	// Users for the run: one tenant, f.users users sharing a password.
	if err := api.do(ctx, http.MethodPost, "/api/v1/tenants", f.token, map[string]any{"name": "grload"}, nil); err != nil {
		var se *statusError
		if !errors.As(err, &se) || se.status != http.StatusConflict {
			return fmt.Errorf("create tenant grload: %w", err)
		}
	}
	run, password := login.NewSessionID()[:8], login.NewSecret()
	names := make([]string, f.users)
	for i := range names {
		names[i] = fmt.Sprintf("u%s-%d", run, i)
		if err := api.do(ctx, http.MethodPost, "/api/v1/tenants/grload/users", f.token,
			map[string]any{"username": names[i], "password": password}, nil); err != nil {
			return fmt.Errorf("create user %s: %w", names[i], err)
		}
	}
	log.Info("users created", "count", f.users)

	perHash, err := timeHash(ctx, 8)
	if err != nil {
		return err
	}
	cores := runtime.NumCPU()
	ceiling := float64(cores) / perHash.Seconds()

	var rss rssSampler
	if f.pid > 0 {
		rss.before = readRSS(f.pid)
		stopRSS := rss.start(f.pid)
		defer stopRSS()
	}
	// A shed login (503, Retry-After) is not an error: the client waits
	// as told, like a well-behaved one, and the attempt is counted apart.
	var shed atomic.Int64
	fn := func(ctx context.Context, seq int64) error {
		_, err := api.login(ctx, "grload", names[int(seq)%len(names)], password)
		var se *statusError
		if errors.As(err, &se) && se.status == http.StatusServiceUnavailable {
			shed.Add(1)
			select {
			case <-time.After(time.Second):
			case <-ctx.Done():
			}
			return errShed
		}
		return err
	}
	p := runPhase(ctx, log, "login", 1, f.concurrency, f.bounds.duration, f.requests, fn)
	if err := ctx.Err(); err != nil {
		return err
	}
	p.errs -= shed.Load()
	s := summarize("login", "1", p)
	fmt.Fprintf(stdout, "\ngrload login: url=%s concurrency=%d duration=%s users=%d\n\n", u.Host, f.concurrency, f.bounds.duration, f.users)
	printTable(stdout, []summary{s}, false)
	ok := float64(p.calls-p.errs-shed.Load()) / p.elapsed.Seconds()
	ratio := ok / ceiling
	fmt.Fprintf(stdout, "\nargon2id per hash (this process, 1 thread): %s; cores %d; ceiling %.1f logins/s\n", perHash.Round(10*time.Microsecond), cores, ceiling)
	fmt.Fprintf(stdout, "achieved %.1f successful logins/s = %.2f of the ceiling   bar >= 0.90: %s   (shed with 503 + Retry-After: %d)\n", ok, ratio, metIf(ratio >= 0.90), shed.Load())
	if f.pid > 0 {
		fmt.Fprintf(stdout, "server VmRSS before %d MiB, max during the run %d MiB\n", rss.before>>20, rss.max.Load()>>20)
	}
	if p.errs > 0 {
		return fmt.Errorf("%d of %d logins failed, first: %w", p.errs, p.calls, p.firstErr)
	}
	return nil
}

// errShed marks a login the server shed; runPhase counts it as an error,
// which the command subtracts again.
var errShed = errors.New("shed")

// timeHash returns the median time of n argon2id hashes with the
// server's default parameters, one at a time.
func timeHash(ctx context.Context, n int) (time.Duration, error) {
	h, err := login.NewHasher(login.DefaultPasswordParams(), 1)
	if err != nil {
		return 0, err
	}
	ds := make([]time.Duration, n)
	for i := range ds {
		t0 := time.Now()
		if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
			return 0, err
		}
		ds[i] = time.Since(t0)
	}
	slices.Sort(ds)
	return ds[n/2], nil
}

// rssSampler records the maximum resident memory of a process.
type rssSampler struct {
	before int64
	max    atomic.Int64
}

func (r *rssSampler) start(pid int) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if v := readRSS(pid); v > r.max.Load() {
					r.max.Store(v)
				}
			}
		}
	}()
	return func() { close(done) }
}

// readRSS returns VmRSS of pid in bytes, 0 when unknown.
func readRSS(pid int) int64 {
	fh, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
