package registry

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nacos-group/nacos-sdk-go/v2/model"
	"github.com/nacos-group/nacos-sdk-go/v2/vo"

	"github.com/greyrouter/greyrouter/internal/testutil"
	"github.com/greyrouter/greyrouter/router/nacos"
)

// nacosPush bounds how long a change takes to reach a subscriber: the test
// server pushes 0.8–1.9 s after a change.
const nacosPush = 10 * time.Second

// The SDK's logger is process-wide and configured by the first client, so
// every client logs to one directory, removed by TestMain.
var (
	nacosLogOnce sync.Once
	nacosLogDir  string
)

func removeNacosLogDir() {
	if nacosLogDir != "" {
		_ = os.RemoveAll(nacosLogDir)
	}
}

func newNaming(t *testing.T, s *testutil.NacosServer) nacos.Naming {
	t.Helper()
	nacosLogOnce.Do(func() {
		dir, err := os.MkdirTemp("", "greyrouter-registry-nacos-log-")
		if err != nil {
			t.Fatal(err)
		}
		nacosLogDir = dir
	})
	n, err := nacos.NewNaming(nacos.ClientConfig{Servers: []string{s.Addr}, CacheDir: t.TempDir(), LogDir: nacosLogDir, LogLevel: "error"})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// nacosInstance returns what observer sees of the instance at ip:port of
// service orders, and whether it sees it.
func nacosInstance(t *testing.T, observer nacos.Naming, ip string, port uint64) (model.Instance, bool) {
	t.Helper()
	svc, err := observer.GetService(vo.GetServiceParam{ServiceName: "orders"})
	if err != nil {
		return model.Instance{}, false
	}
	for _, h := range svc.Hosts {
		if h.Ip == ip && h.Port == port {
			return h, true
		}
	}
	return model.Instance{}, false
}

func TestNacosBackend(t *testing.T) {
	if testutil.RaceEnabled() {
		t.Skip("nacos-sdk-go v2.3.2 has data races of its own (reconnect, concurrent subscribe and push); scripts/test.sh runs this without -race")
	}
	s := testutil.Nacos(t)
	observer := newNaming(t, s)
	t.Cleanup(observer.CloseClient)

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	in := Instance{Service: "orders", Version: "1.2", Address: "127.0.0.1:18080", Weight: 200, Metadata: map[string]string{"zone": "a"}}
	rec := &recordingNaming{Naming: newNaming(t, s)}
	reg, err := Register(ctx, WithNacos(rec, ""), in, Options{DrainFor: 6 * time.Second})
	if err != nil {
		t.Fatal(err)
	}

	// Weight 200 is Nacos's 2.0: the test server (Polaris) keeps integer
	// weights only and would turn 0.5 into 0.
	t.Run("the registered instance is visible, enabled, with its version and weight", func(t *testing.T) {
		var got model.Instance
		eventually(t, nacosPush, "instance visible", func() bool {
			var ok bool
			got, ok = nacosInstance(t, observer, "127.0.0.1", 18080)
			return ok
		})
		if !got.Enable || !got.Healthy || !got.Ephemeral || got.Weight != 2 || got.Metadata["version"] != "1.2" || got.Metadata["zone"] != "a" {
			t.Fatalf("instance = %+v", got)
		}
	})

	// Nacos (and the test server) leave disabled instances out of what
	// subscribers see, and the router's sync drains instances that leave:
	// so "disabled" shows as the instance leaving the subscriber's view
	// while Shutdown still waits out DrainFor, before it deregisters.
	t.Run("shutdown disables the instance first, then removes it", func(t *testing.T) {
		done := make(chan error, 1)
		start := time.Now()
		go func() { done <- reg.Shutdown(context.Background()) }()
		eventually(t, nacosPush, "instance disabled", func() bool {
			got, ok := nacosInstance(t, observer, "127.0.0.1", 18080)
			return !ok || !got.Enable
		})
		select {
		case err := <-done:
			t.Fatalf("shutdown returned (%v) before the drain period was over", err)
		default:
		}
		if d := time.Since(start); d >= 6*time.Second {
			t.Fatalf("instance left the view after %s, when the deregistration was due", d)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		eventually(t, nacosPush, "instance gone", func() bool {
			_, ok := nacosInstance(t, observer, "127.0.0.1", 18080)
			return !ok
		})
		// The server's view cannot tell disabled from gone; the calls the
		// server accepted can.
		ops := rec.calls()
		if len(ops) != 3 || ops[0].op != "update enable=false" || ops[1].op != "deregister" || ops[2].op != "close" {
			t.Fatalf("calls after register = %v, want update enable=false, deregister, close", ops)
		}
		if gap := ops[1].at.Sub(ops[0].at); gap < 6*time.Second {
			t.Fatalf("deregistered %s after disabling, want DrainFor (6s)", gap)
		}
	})
}

// recordingNaming passes calls to a real client and records the ones the
// server accepted, after registration.
type recordingNaming struct {
	nacos.Naming
	mu  sync.Mutex
	log []call
}

type call struct {
	op string
	at time.Time
}

func (r *recordingNaming) record(op string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log = append(r.log, call{op, time.Now()})
}

func (r *recordingNaming) calls() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.log)
}

func (r *recordingNaming) UpdateInstance(p vo.UpdateInstanceParam) (bool, error) {
	ok, err := r.Naming.UpdateInstance(p)
	if ok && err == nil {
		r.record(fmt.Sprintf("update enable=%t", p.Enable))
	}
	return ok, err
}

func (r *recordingNaming) DeregisterInstance(p vo.DeregisterInstanceParam) (bool, error) {
	ok, err := r.Naming.DeregisterInstance(p)
	if ok && err == nil {
		r.record("deregister")
	}
	return ok, err
}

func (r *recordingNaming) CloseClient() {
	r.Naming.CloseClient()
	r.record("close")
}
