package router

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	routing "github.com/greyrouter/greyrouter/router"
)

// fakeInstance is one instance of a service: a loopback HTTP server that
// names itself in its answer and remembers what it was sent.
type fakeInstance struct {
	id  string
	srv *httptest.Server
	// status is what it answers (200 unless set).
	status atomic.Int32
	hits   atomic.Int64
	// hold, when set, makes requests wait for it to be closed; entered
	// receives a value as each such request arrives.
	hold, entered chan struct{}

	mu   sync.Mutex
	last seenRequest
}

// seenRequest is what an instance was sent.
type seenRequest struct {
	host, path, query, body string
	header                  http.Header
}

func newFakeInstance(t testing.TB, id string) *fakeInstance {
	t.Helper()
	f := &fakeInstance{id: id}
	f.status.Store(http.StatusOK)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.last = seenRequest{host: r.Host, path: r.URL.Path, query: r.URL.RawQuery, body: string(body), header: r.Header.Clone()}
		f.mu.Unlock()
		if f.hold != nil {
			f.entered <- struct{}{}
			<-f.hold
		}
		w.WriteHeader(int(f.status.Load()))
		_, _ = io.WriteString(w, f.id)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// holding makes the instance hold requests until release is called.
func (f *fakeInstance) holding() (release func()) {
	f.hold, f.entered = make(chan struct{}), make(chan struct{}, 16)
	return sync.OnceFunc(func() { close(f.hold) })
}

func (f *fakeInstance) addr() string { return f.srv.Listener.Addr().String() }

func (f *fakeInstance) seen() seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

// deadAddr returns a loopback address nothing listens on any more: a
// connection to it is refused.
func deadAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// hangUpAddr returns the address of a server that accepts connections and
// closes them without answering.
func hangUpAddr(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			_ = conn.Close()
		}
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// instanceSpec places an instance: its id, version and address.
type instanceSpec struct{ id, version, addr string }

// seedService creates tenant t00 (unless it exists) and service with the
// given strategy, its versions and instances; the first instance's version
// is the default.
func (h *harness) seedService(t testing.TB, service string, strategy routing.Strategy, instances ...instanceSpec) {
	t.Helper()
	ctx := context.Background()
	if _, err := h.m.Store().GetTenant(ctx, "t00"); err != nil {
		must[routing.Tenant](t)(h.m.CreateTenant(ctx, "test", routing.Tenant{Name: "t00"}))
	}
	svc := routing.Service{Name: service, Strategy: strategy, LeaseSeconds: 30, Circuit: routing.DefaultCircuitPolicy()}
	must[routing.Service](t)(h.m.CreateService(ctx, "test", svc))
	var versions []string
	for _, in := range instances {
		if !slices.Contains(versions, in.version) {
			versions = append(versions, in.version)
			must[routing.Version](t)(h.m.CreateVersion(ctx, "test", routing.Version{Service: service, Name: in.version}))
		}
		if _, err := h.m.RegisterInstance(ctx, routing.Instance{ID: in.id, Service: service, Version: in.version,
			Address: in.addr, Enabled: true}); err != nil {
			t.Fatal(err)
		}
	}
	svc.DefaultVersion = versions[0]
	must[routing.Service](t)(h.m.UpdateService(ctx, "test", svc))
}

// routerPicks returns the instances the router's own decisions (through
// Redis, with circuit state) name for t00's requests to service in n
// tries.
func (h *harness) routerPicks(t testing.TB, service string, n int) map[string]int {
	t.Helper()
	picks := map[string]int{}
	for range n {
		d, err := h.m.Resolve(context.Background(), routing.Request{Tenant: "t00", Service: service}, routing.DecideOptions{})
		if err != nil {
			t.Fatal(err)
		}
		picks[d.Instance.ID]++
	}
	return picks
}

// recordingTransport sends through a private http.Transport and records
// the address of every attempt.
type recordingTransport struct {
	base *http.Transport
	mu   sync.Mutex
	hits []string
}

func newRecordingTransport(t testing.TB) *recordingTransport {
	r := &recordingTransport{base: http.DefaultTransport.(*http.Transport).Clone()}
	t.Cleanup(r.base.CloseIdleConnections)
	return r
}

func (r *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.hits = append(r.hits, req.URL.Host)
	r.mu.Unlock()
	return r.base.RoundTrip(req)
}

// take returns the attempts since the last call.
func (r *recordingTransport) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.hits
	r.hits = nil
	return out
}

// newReporter starts a Reporter for c that the test closes.
func newReporter(t testing.TB, c *Client, cfg ReporterConfig) *Reporter {
	t.Helper()
	r, err := NewReporter(c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close(context.Background()) })
	return r
}

// flush flushes r, failing the test on error.
func flush(t testing.TB, r *Reporter) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Flush(ctx); err != nil {
		t.Fatalf("flush: %v", err)
	}
}
