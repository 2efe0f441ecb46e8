package lane_test

import (
	"net/http"
	"testing"

	"github.com/greyrouter/greyrouter/sdk/lane"
)

// The lane of these benchmarks: what a request carries two hops in.
var benchLane = lane.Lane{Tenant: "acme", Name: "v2", Revision: 42, Pins: map[string]string{"orders": "v2"}}

// BenchmarkInject writes a lane copied with one more pin (WithPin), as a
// caller without InjectNext would.
func BenchmarkInject(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		h := http.Header{}
		if err := lane.Inject(h, benchLane.WithPin("billing", "v2")); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInjectNext is what the router's Transport does on every call.
func BenchmarkInjectNext(b *testing.B) {
	hop := lane.Hop{Tenant: "acme", Name: "v2", Service: "billing", Version: "v2", Revision: 43}
	h := http.Header{}
	b.ReportAllocs()
	for b.Loop() {
		delete(h, "Baggage")
		if err := lane.InjectNext(h, benchLane, hop); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInjectNextOverOtherBaggage keeps a tracing system's members.
func BenchmarkInjectNextOverOtherBaggage(b *testing.B) {
	hop := lane.Hop{Tenant: "acme", Name: "v2", Service: "billing", Version: "v2", Revision: 43}
	other := []string{"userId=alice,sessionId=9f86d081884c7d65,greyrouter-lane=acme/v2/42/orders:v2"}
	h := http.Header{}
	b.ReportAllocs()
	for b.Loop() {
		h["Baggage"] = other
		if err := lane.InjectNext(h, benchLane, hop); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExtract is what Middleware does on every request.
func BenchmarkExtract(b *testing.B) {
	h := http.Header{"Baggage": {"userId=alice,greyrouter-lane=acme/v2/42/billing:v2/orders:v2"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, err := lane.Extract(h); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}
