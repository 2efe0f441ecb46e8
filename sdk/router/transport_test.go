package router

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"syscall"
	"testing"

	routing "github.com/greyrouter/greyrouter/router"
	"github.com/greyrouter/greyrouter/router/redisstore"
	"github.com/greyrouter/greyrouter/sdk/lane"
)

// call sends req through hc and returns the status and body; err when the
// request failed.
func call(hc *http.Client, req *http.Request) (int, string, error) {
	resp, err := hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

func TestTransportRoutesCarriesTheLaneAndReports(t *testing.T) {
	h := newHarness(t)
	a, b := newFakeInstance(t, "billing-a"), newFakeInstance(t, "billing-b")
	h.seedService(t, "billing", routing.RoundRobin,
		instanceSpec{"billing-a", "v1", a.addr()}, instanceSpec{"billing-b", "v1", b.addr()})
	c := h.local(t, LocalConfig{})
	rep := newReporter(t, c, ReporterConfig{})
	hc := &http.Client{Transport: &Transport{Client: c, Reporter: rep, Base: newRecordingTransport(t)}}

	t.Run("a request reaches the chosen instance with its lane and this hop's pin, and the caller's request is untouched", func(t *testing.T) {
		ctx := lane.NewContext(context.Background(), lane.Lane{Tenant: "t00", Name: "v2", Revision: 7, Pins: map[string]string{"orders": "v2"}})
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://billing/invoices?id=42", strings.NewReader("hello"))
		req.Header.Set("Baggage", "trace=abc")
		req.Header.Set("X-Custom", "1")
		url, host, header := req.URL.String(), req.Host, req.Header.Clone()

		status, who, err := call(hc, req)
		if err != nil || status != http.StatusOK {
			t.Fatalf("got %d %q, %v", status, who, err)
		}
		in := map[string]*fakeInstance{"billing-a": a, "billing-b": b}[who]
		if in == nil {
			t.Fatalf("answered by %q", who)
		}
		seen := in.seen()
		if seen.host != "billing" || seen.path != "/invoices" || seen.query != "id=42" || seen.body != "hello" || seen.header.Get("X-Custom") != "1" {
			t.Fatalf("instance saw %+v", seen)
		}
		l, ok, err := lane.Extract(seen.header)
		want := lane.Lane{Tenant: "t00", Name: "v2", Revision: 7, Pins: map[string]string{"orders": "v2", "billing": "v1"}}
		if err != nil || !ok || !reflect.DeepEqual(l, want) {
			t.Fatalf("lane %+v (%v, %v), want %+v", l, ok, err, want)
		}
		if got := seen.header.Get("Baggage"); !strings.HasPrefix(got, "trace=abc,") {
			t.Fatalf("other baggage members lost: %q", got)
		}
		if req.URL.String() != url || req.Host != host || !reflect.DeepEqual(req.Header, header) {
			t.Fatalf("caller's request changed: %s %s %v", req.URL, req.Host, req.Header)
		}
	})

	t.Run("a lane in the request's own baggage is followed, other systems' members go on byte for byte, and the caller's values are untouched", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, "http://billing/", nil)
		values := []string{"trace=abc, k = v%41;p", "greyrouter-lane=t00/v2/7/orders:v2"}
		req.Header["Baggage"] = values
		status, who, err := call(hc, req)
		if err != nil || status != http.StatusOK {
			t.Fatalf("got %d %q, %v", status, who, err)
		}
		seen := map[string]*fakeInstance{"billing-a": a, "billing-b": b}[who].seen()
		if got := seen.header.Values("Baggage"); len(got) != 1 || !strings.HasPrefix(got[0], "trace=abc,k = v%41;p,greyrouter-lane=") {
			t.Fatalf("instance saw baggage %q", got)
		}
		l, ok, err := lane.Extract(seen.header)
		if err != nil || !ok || l.Tenant != "t00" || l.Revision != 7 || l.Pins["orders"] != "v2" || l.Pins["billing"] != "v1" {
			t.Fatalf("lane %+v (%v, %v)", l, ok, err)
		}
		if len(req.Header["Baggage"]) != 2 || &req.Header["Baggage"][0] != &values[0] ||
			values[0] != "trace=abc, k = v%41;p" || values[1] != "greyrouter-lane=t00/v2/7/orders:v2" {
			t.Fatalf("caller's baggage changed: %q", req.Header["Baggage"])
		}
	})

	t.Run("a caller's malformed baggage is replaced by the lane alone", func(t *testing.T) {
		ctx := lane.NewContext(context.Background(), lane.Lane{Tenant: "t00", Revision: 7})
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://billing/", nil)
		req.Header.Set("Baggage", "not a member")
		status, who, err := call(hc, req)
		if err != nil || status != http.StatusOK {
			t.Fatalf("got %d %q, %v", status, who, err)
		}
		seen := map[string]*fakeInstance{"billing-a": a, "billing-b": b}[who].seen()
		if got := seen.header.Values("Baggage"); len(got) != 1 || !strings.HasPrefix(got[0], "greyrouter-lane=t00/") || strings.Contains(got[0], ",") {
			t.Fatalf("instance saw baggage %q", got)
		}
		if req.Header.Get("Baggage") != "not a member" {
			t.Fatalf("caller's baggage changed: %q", req.Header["Baggage"])
		}
	})

	t.Run("a first hop starts the lane with the tenant routed for and the revision decided at", func(t *testing.T) {
		hc := &http.Client{Transport: &Transport{Client: c, Tenant: func(*http.Request) string { return "t00" }}}
		req, _ := http.NewRequest(http.MethodGet, "http://billing:8080/", nil)
		status, who, err := call(hc, req)
		if err != nil || status != http.StatusOK {
			t.Fatalf("got %d %q, %v", status, who, err)
		}
		seen := map[string]*fakeInstance{"billing-a": a, "billing-b": b}[who].seen()
		l, _, err := lane.Extract(seen.header)
		want := lane.Lane{Tenant: "t00", Revision: c.Revision(), Pins: map[string]string{"billing": "v1"}}
		if err != nil || !reflect.DeepEqual(l, want) || seen.host != "billing:8080" {
			t.Fatalf("instance saw host %q, lane %+v (%v), want %+v", seen.host, l, err, want)
		}
	})

	t.Run("a request without a tenant is refused before any call", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, "http://billing/", nil)
		if _, _, err := call(hc, req); !errors.Is(err, ErrInvalid) {
			t.Fatalf("got %v", err)
		}
	})

	t.Run("errors reach the router and its circuit breaker ejects the failing instance", func(t *testing.T) {
		if picks := h.routerPicks(t, "billing", 4); picks["billing-b"] == 0 {
			t.Fatalf("before: router picks %v", picks)
		}
		b.status.Store(http.StatusInternalServerError)
		flush(t, rep)
		before := rep.Stats()
		ctx := lane.NewContext(context.Background(), lane.Lane{Tenant: "t00"})
		for range 10 { // round robin: five to each instance
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://billing/", nil)
			if _, _, err := call(hc, req); err != nil {
				t.Fatal(err)
			}
		}
		flush(t, rep)
		if got := rep.Stats(); got.Sent-before.Sent != 10 || got.Rejected != 0 || got.Dropped != 0 {
			t.Fatalf("stats %+v, before %+v", got, before)
		}
		if picks := h.routerPicks(t, "billing", 6); picks["billing-b"] != 0 {
			t.Fatalf("after five errors: router picks %v", picks)
		}
	})
}

func TestTransportReleasesLeastConnectionsLeases(t *testing.T) {
	h := newHarness(t)
	in := newFakeInstance(t, "ledger-a")
	h.seedService(t, "ledger", routing.LeastConnections, instanceSpec{"ledger-a", "v1", in.addr()})
	viaRedis := NewRedis(h.rdb, 0)
	t.Cleanup(viaRedis.Close)
	leases := func() int {
		n, err := redisstore.New(h.rdb).ActiveLeases(context.Background(), "ledger", "ledger-a")
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	for _, mode := range []struct {
		name string
		c    *Client
	}{
		{"through the report API", NewHTTP(h.srv.URL, StaticToken(clientToken), nil)},
		{"through Redis", viaRedis},
	} {
		t.Run(mode.name, func(t *testing.T) {
			release := in.holding()
			defer release()
			rep := newReporter(t, mode.c, ReporterConfig{})
			hc := &http.Client{Transport: &Transport{Client: mode.c, Reporter: rep, Tenant: func(*http.Request) string { return "t00" }}}
			type result struct {
				resp *http.Response
				err  error
			}
			done := make(chan result, 1)
			go func() {
				req, _ := http.NewRequest(http.MethodGet, "http://ledger/", nil)
				resp, err := hc.Do(req)
				done <- result{resp, err}
			}()
			<-in.entered
			if n := leases(); n != 1 {
				t.Fatalf("during the call: %d leases", n)
			}
			release()
			r := <-done
			if r.err != nil {
				t.Fatal(r.err)
			}
			flush(t, rep)
			if n := leases(); n != 1 {
				t.Fatalf("before the body is closed: %d leases", n)
			}
			_, _ = io.Copy(io.Discard, r.resp.Body)
			_ = r.resp.Body.Close()
			flush(t, rep)
			if n := leases(); n != 0 {
				t.Fatalf("after: %d leases", n)
			}
			if s := rep.Stats(); s.Sent != 1 || s.Rejected+s.Failed+s.Dropped != 0 {
				t.Fatalf("stats %+v", s)
			}
		})
	}
}

func TestTransportRetriesOnceOnAnotherInstance(t *testing.T) {
	h := newHarness(t)
	live, sick := newFakeInstance(t, "live"), newFakeInstance(t, "sick")
	sick.status.Store(http.StatusServiceUnavailable)
	dead, hangUp := deadAddr(t), hangUpAddr(t)
	h.seedService(t, "stock", routing.RoundRobin, instanceSpec{"dead", "v1", dead}, instanceSpec{"live", "v1", live.addr()})
	h.seedService(t, "flaky", routing.RoundRobin, instanceSpec{"hangup", "v1", hangUp}, instanceSpec{"live", "v1", live.addr()})
	h.seedService(t, "busy", routing.RoundRobin, instanceSpec{"sick", "v1", sick.addr()}, instanceSpec{"live", "v1", live.addr()})
	h.seedService(t, "solo", routing.ConsistentHash, instanceSpec{"dead", "v1", dead})
	h.seedService(t, "pinned", routing.ConsistentHash, instanceSpec{"dead", "v1", dead}, instanceSpec{"live", "v1", live.addr()})
	c := h.local(t, LocalConfig{})
	rec := newRecordingTransport(t)
	hc := &http.Client{Transport: &Transport{Client: c, Base: rec, Tenant: func(*http.Request) string { return "t00" }}}

	// send sends n requests and returns each one's attempts and error.
	send := func(t *testing.T, n int, newReq func() *http.Request) (attempts [][]string, errs []error) {
		t.Helper()
		for range n {
			_, _, err := call(hc, newReq())
			attempts, errs = append(attempts, rec.take()), append(errs, err)
		}
		return attempts, errs
	}

	for _, svc := range []struct{ name, failing, how string }{{"stock", dead, "refused"}, {"flaky", hangUp, "closed without an answer"}} {
		t.Run("a GET whose connection is "+svc.how+" is sent once more, to another instance", func(t *testing.T) {
			attempts, errs := send(t, 4, func() *http.Request {
				req, _ := http.NewRequest(http.MethodGet, "http://"+svc.name+"/", nil)
				return req
			})
			retried := 0
			for i, a := range attempts {
				switch {
				case errs[i] != nil:
					t.Fatalf("request %d: %v (attempts %v)", i, errs[i], a)
				case len(a) == 2 && a[0] == svc.failing && a[1] == live.addr():
					retried++
				case len(a) != 1 || a[0] != live.addr():
					t.Fatalf("request %d: attempts %v", i, a)
				}
			}
			if retried == 0 {
				t.Fatalf("round robin never chose the failing instance: %v", attempts)
			}
		})
	}

	t.Run("a POST without an idempotency key is not retried", func(t *testing.T) {
		attempts, errs := send(t, 4, func() *http.Request {
			req, _ := http.NewRequest(http.MethodPost, "http://stock/", strings.NewReader("x"))
			return req
		})
		failed := 0
		for i, a := range attempts {
			if len(a) != 1 {
				t.Fatalf("request %d: attempts %v", i, a)
			}
			if errs[i] != nil {
				if a[0] != dead || !errors.Is(errs[i], syscall.ECONNREFUSED) {
					t.Fatalf("request %d: %v (attempts %v)", i, errs[i], a)
				}
				failed++
			}
		}
		if failed == 0 {
			t.Fatalf("round robin never chose the dead instance: %v", attempts)
		}
	})

	t.Run("a POST with an idempotency key is retried with its body", func(t *testing.T) {
		attempts, errs := send(t, 4, func() *http.Request {
			req, _ := http.NewRequest(http.MethodPost, "http://stock/", strings.NewReader("order 42"))
			req.Header.Set("Idempotency-Key", "k-42")
			return req
		})
		retried := 0
		for i, a := range attempts {
			if errs[i] != nil || len(a) > 2 {
				t.Fatalf("request %d: %v (attempts %v)", i, errs[i], a)
			}
			if len(a) == 2 {
				retried++
			}
		}
		if retried == 0 || live.seen().body != "order 42" {
			t.Fatalf("retried %d, live instance saw %q", retried, live.seen().body)
		}
	})

	t.Run("nothing is retried once a response arrived, whatever its status", func(t *testing.T) {
		attempts, errs := send(t, 4, func() *http.Request {
			req, _ := http.NewRequest(http.MethodGet, "http://busy/", nil)
			return req
		})
		for i, a := range attempts {
			if errs[i] != nil || len(a) != 1 {
				t.Fatalf("request %d: %v (attempts %v)", i, errs[i], a)
			}
		}
		if sick.hits.Load() == 0 {
			t.Fatal("round robin never chose the sick instance")
		}
	})

	t.Run("a retry under consistent hashing goes to another instance, not to the key's own again", func(t *testing.T) {
		for _, mode := range []struct {
			name   string
			client *Client
		}{{"local", c}, {"http", NewHTTP(h.srv.URL, StaticToken(platformToken), nil)}, {"redis", NewRedis(h.rdb, 0)}} {
			keyed := &http.Client{Transport: &Transport{Client: mode.client, Base: rec, Tenant: func(*http.Request) string { return "t00" },
				Options: func(r *http.Request) ResolveOptions { return ResolveOptions{Key: r.Header.Get("X-User")} }}}
			retried := 0
			for k := range 24 {
				req, _ := http.NewRequest(http.MethodGet, "http://pinned/", nil)
				req.Header.Set("X-User", fmt.Sprintf("user-%d", k))
				_, _, err := call(keyed, req)
				a := rec.take()
				switch {
				case err != nil:
					t.Fatalf("%s: user-%d: %v (attempts %v)", mode.name, k, err, a)
				case len(a) == 2 && a[0] == dead && a[1] == live.addr():
					retried++
				case len(a) != 1 || a[0] != live.addr():
					t.Fatalf("%s: user-%d: attempts %v", mode.name, k, a)
				}
			}
			if retried == 0 {
				t.Fatalf("%s: no key hashed to the dead instance", mode.name)
			}
		}
	})

	t.Run("without another instance the connection error is returned", func(t *testing.T) {
		attempts, errs := send(t, 1, func() *http.Request {
			req, _ := http.NewRequest(http.MethodGet, "http://solo/", nil)
			return req
		})
		if len(attempts[0]) != 1 || !errors.Is(errs[0], syscall.ECONNREFUSED) {
			t.Fatalf("attempts %v, err %v", attempts[0], errs[0])
		}
	})

	t.Run("a cancelled request is not retried", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://stock/", nil)
		if _, _, err := call(hc, req); !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v", err)
		}
		if a := rec.take(); len(a) > 1 {
			t.Fatalf("attempts %v", a)
		}
	})
}
