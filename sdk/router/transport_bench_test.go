package router

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"testing"
	"time"

	routing "github.com/greyrouter/greyrouter/router"
	"github.com/greyrouter/greyrouter/sdk/lane"
)

// benchRouter serves a routing snapshot in which tenant acme's requests to
// billing go to addr (round robin over one instance), and accepts outcome
// reports: enough of a router for a local client, without Redis.
func benchRouter(tb testing.TB, addr string) *httptest.Server {
	tb.Helper()
	snap := routing.Snapshot{
		Service:   routing.Service{Name: "billing", DefaultVersion: "v1", Strategy: routing.RoundRobin},
		Versions:  []routing.Version{{Name: "v1", State: routing.VersionActive}},
		Instances: []routing.Instance{{ID: "billing-a", Version: "v1", Address: addr, Weight: 100, Enabled: true}},
	}
	rs, err := routing.BuildRoutingSnapshot(42, time.Now(), []string{"acme"}, []routing.Snapshot{snap}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/routing-snapshot", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("etag") == rs.ETag {
			<-r.Context().Done() // nothing ever changes
			return
		}
		_ = json.NewEncoder(w).Encode(rs)
	})
	mux.HandleFunc("POST /api/v1/report", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, `{"circuit":"closed"}`)
	})
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	return srv
}

// BenchmarkTransportOverhead measures what Transport (local mode) adds to
// a call over a plain http.Client calling the same loopback instance
// (BENCHMARKS.md section 14). Five clients are interleaved call by call,
// in rotating order, so that the noise of a shared machine hits all
// alike: plain; Transport without a Reporter; Transport with one; plain
// again with the Transport's baggage header set by hand, which splits the
// overhead into the header's own cost and the rest; and plain with a
// baggage header of three bytes ("k=v"), the cost of one more header
// whatever its length. Each has its own http.Transport, cloned from
// http.DefaultTransport (keep-alive, one connection reused), and every
// request names the instance by the same Host, so that the plain call
// sends the same bytes but for the baggage header. The request carries a
// lane, so the Transport rewrites the baggage header on every call.
// Overheads compare median call times (a loaded machine's pauses land on
// single calls); the mean-based ones are reported too.
func BenchmarkTransportOverhead(b *testing.B) {
	inst := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"id":42,"total":"9.90"}`)
	}))
	b.Cleanup(inst.Close)
	rt := benchRouter(b, inst.Listener.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := NewLocal(ctx, LocalConfig{RouterURL: rt.URL, Tokens: StaticToken("t")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	rep := newReporter(b, c, ReporterConfig{})

	base := func() *http.Transport {
		t := http.DefaultTransport.(*http.Transport).Clone()
		b.Cleanup(t.CloseIdleConnections)
		return t
	}
	l := lane.Lane{Tenant: "acme", Name: "v2", Revision: 42, Pins: map[string]string{"orders": "v2"}}
	reqCtx := lane.NewContext(context.Background(), l)
	// What the Transport sends: the lane with billing pinned, as one call
	// through it shows.
	var baggage string
	probe := &http.Client{Transport: &Transport{Client: c, Base: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		baggage = r.Header.Get(lane.Header)
		return base().RoundTrip(r)
	})}}
	req, _ := http.NewRequestWithContext(reqCtx, http.MethodGet, "http://billing/invoices/42", nil)
	if _, _, err := call(probe, req); err != nil || baggage == "" {
		b.Fatalf("probe: baggage %q, %v", baggage, err)
	}
	// The plain calls name the instance by the same Host as the
	// Transport does ("billing"), so that the instance is sent the same
	// bytes but for the baggage header.
	variants := []struct {
		name    string
		hc      *http.Client
		url     string
		baggage string
	}{
		{"plain", &http.Client{Transport: base()}, inst.URL + "/invoices/42", ""},
		{"sdk", &http.Client{Transport: &Transport{Client: c, Base: base()}}, "http://billing/invoices/42", ""},
		{"sdk+report", &http.Client{Transport: &Transport{Client: c, Reporter: rep, Base: base()}}, "http://billing/invoices/42", ""},
		// The plain call with the Transport's baggage header set by hand:
		// what the header itself costs on the wire and in the instance.
		{"plain+baggage", &http.Client{Transport: base()}, inst.URL + "/invoices/42", baggage},
		// The plain call with a baggage header of one tiny member: what
		// any one more header costs, whatever it holds.
		{"plain+k=v", &http.Client{Transport: base()}, inst.URL + "/invoices/42", "k=v"},
	}
	do := func(v int) {
		hc, url := variants[v].hc, variants[v].url
		req, _ := http.NewRequestWithContext(reqCtx, http.MethodGet, url, nil)
		req.Host = "billing"
		if variants[v].baggage != "" {
			req.Header["Baggage"] = []string{variants[v].baggage}
		}
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	// Allocations per call of each, counted alone (the instance's and
	// the reporter's allocations in this process included).
	allocs := make([]float64, len(variants))
	for v := range variants {
		for range 200 {
			do(v) // warm up connections and caches
		}
		allocs[v] = testing.AllocsPerRun(500, func() { do(v) })
	}
	runtime.GC()

	took := make([][]time.Duration, len(variants))
	for v := range took {
		took[v] = make([]time.Duration, 0, b.N)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		for k := range variants {
			v := (i + k) % len(variants)
			start := time.Now()
			do(v)
			took[v] = append(took[v], time.Since(start))
		}
	}
	b.StopTimer()
	// Medians, since a loaded machine's pauses land on single calls;
	// means for comparison.
	med, mean := make([]float64, len(variants)), make([]float64, len(variants))
	for v, d := range took {
		slices.Sort(d)
		med[v] = float64(d[len(d)/2].Nanoseconds())
		var sum time.Duration
		for _, x := range d {
			sum += x
		}
		mean[v] = float64(sum.Nanoseconds()) / float64(len(d))
	}
	b.ReportMetric(med[0], "plain-ns/call")
	b.ReportMetric(med[1], "sdk-ns/call")
	b.ReportMetric(med[2], "sdk+report-ns/call")
	b.ReportMetric(100*(med[1]/med[0]-1), "overhead-%")
	b.ReportMetric(100*(med[2]/med[0]-1), "overhead+report-%")
	b.ReportMetric(100*(mean[1]/mean[0]-1), "mean-overhead-%")
	b.ReportMetric(100*(mean[2]/mean[0]-1), "mean-overhead+report-%")
	b.ReportMetric(100*(med[3]/med[0]-1), "baggage-alone-%")
	b.ReportMetric(100*(med[1]/med[3]-1), "overhead-over-baggage-%")
	b.ReportMetric(100*(med[4]/med[0]-1), "one-header-%")
	b.ReportMetric(allocs[1]-allocs[0], "sdk-extra-allocs/call")
	b.ReportMetric(allocs[2]-allocs[0], "sdk+report-extra-allocs/call")
	b.ReportMetric(float64(len(baggage)), "baggage-bytes")
	if s := rep.Stats(); s.Dropped+s.Failed+s.Rejected != 0 {
		b.Fatalf("reports lost: %+v", s)
	}
}

// BenchmarkTransportOwnWork is what RoundTrip does around the call to its
// Base, with a Base that answers at once: the lane read from the context,
// the local decision, the copy of the request, the baggage header with
// this hop's pin, and (report) the body wrapper and the outcome report.
func BenchmarkTransportOwnWork(b *testing.B) {
	inst := httptest.NewServer(http.NotFoundHandler())
	b.Cleanup(inst.Close)
	rt := benchRouter(b, inst.Listener.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := NewLocal(ctx, LocalConfig{RouterURL: rt.URL, Tokens: StaticToken("t")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	answer := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: r}, nil
	})
	reqCtx := lane.NewContext(context.Background(), lane.Lane{Tenant: "acme", Name: "v2", Revision: 42, Pins: map[string]string{"orders": "v2"}})
	req, _ := http.NewRequestWithContext(reqCtx, http.MethodGet, "http://billing/invoices/42", nil)
	req.Header.Set("Accept", "application/json")
	for _, v := range []struct {
		name string
		rep  *Reporter
	}{{"no report", nil}, {"report", newReporter(b, c, ReporterConfig{})}} {
		b.Run(v.name, func(b *testing.B) {
			t := &Transport{Client: c, Reporter: v.rep, Base: answer}
			b.ReportAllocs()
			for b.Loop() {
				resp, err := t.RoundTrip(req)
				if err != nil {
					b.Fatal(err)
				}
				_ = resp.Body.Close()
			}
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
