package examples_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/internal/testutil"
)

// buildExamples builds the example programs into dir.
func buildExamples(dir string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// Without symbol tables and DWARF the three links take less time.
	cmd := exec.CommandContext(ctx, "go", "build", "-ldflags=-s -w", "-o", dir+string(filepath.Separator), "./orders", "./billing", "./caller")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./orders ./billing ./caller: %v\n%s", err, out)
	}
	return nil
}

// proc is an example program running as a child process of the test.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, valid once done is closed
}

// procs are the example processes of one test; one cleanup stops them all
// at once, so that their drains overlap.
type procs struct {
	t    *testing.T
	bins string
	env  []string
	mu   sync.Mutex
	all  []*proc
}

func newProcs(t *testing.T, bins string, env map[string]string) *procs {
	ps := &procs{t: t, bins: bins, env: os.Environ()}
	for k, v := range env {
		ps.env = append(ps.env, k+"="+v)
	}
	t.Cleanup(ps.stopAll)
	return ps
}

// start runs program with args and waits until it prints that it is
// serving (registered with the router).
func (ps *procs) start(name, program string, args ...string) *proc {
	ps.t.Helper()
	p := ps.launch(name, program, args...)
	ps.waitServing(p)
	return p
}

// launch runs program with args.
func (ps *procs) launch(name, program string, args ...string) *proc {
	t := ps.t
	t.Helper()
	p := &proc{name: name, out: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(filepath.Join(ps.bins, program), args...)
	p.cmd.Env = ps.env
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	ps.mu.Lock()
	ps.all = append(ps.all, p)
	ps.mu.Unlock()
	return p
}

// waitServing waits until p prints that it is serving: it listens and is
// registered with the router.
func (ps *procs) waitServing(p *proc) {
	t := ps.t
	t.Helper()
	name := p.name
	deadline := time.After(30 * time.Second)
	for !strings.Contains(p.out.String(), " serving on ") {
		select {
		case <-p.done:
			t.Fatalf("%s exited before serving: %v\n%s", name, p.err, p.out.String())
		case <-deadline:
			t.Fatalf("%s did not register within 30s\n%s", name, p.out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// terminate sends SIGTERM, as an orchestrator stopping the instance does.
func (p *proc) terminate() { _ = p.cmd.Process.Signal(syscall.SIGTERM) }

// wait waits for the process to exit, killing it after timeout.
func (p *proc) wait(timeout time.Duration) error {
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s did not exit within %s of SIGTERM; killed", p.name, timeout)
	}
}

func (ps *procs) stopAll() {
	ps.mu.Lock()
	all := ps.all
	ps.mu.Unlock()
	for _, p := range all {
		p.terminate()
	}
	for _, p := range all {
		if err := p.wait(20 * time.Second); err != nil {
			ps.t.Errorf("%s: %v", p.name, err)
		}
		if ps.t.Failed() {
			ps.t.Logf("%s output:\n%s", p.name, tail(p.out.String(), 30))
		}
	}
}

// syncBuffer is a concurrent-safe log and output buffer.
type syncBuffer = testutil.SyncBuffer

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// admin calls greyrouter's admin API with a bearer token.
type admin struct {
	base, token string
}

// reply is a decoded JSON answer.
type reply = testutil.Reply

func (a admin) call(t *testing.T, method, path string, body any) reply {
	t.Helper()
	return testutil.CallAPI(t, nil, a.base, a.token, method, path, body)
}

// eventually polls check every 20 ms until it returns nil, failing the
// test with its last error after timeout.
func eventually(t *testing.T, timeout time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var errNotYet = errors.New("not yet")
