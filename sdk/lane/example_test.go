package lane_test

import (
	"fmt"
	"net/http"

	"github.com/greyrouter/greyrouter/sdk/lane"
)

// Example carries a lane from an incoming request to an outgoing one,
// pinning the version this service was reached at.
func Example() {
	in := http.Header{"Baggage": {"greyrouter-tenant=acme,greyrouter-lane=v2,trace=abc"}}
	l, ok, err := lane.Extract(in)
	fmt.Println(l.Tenant, l.Name, ok, err)

	out := http.Header{"Baggage": {"trace=abc"}}
	_ = lane.Inject(out, l.WithPin("orders", "v2"))
	fmt.Println(out.Get("baggage"))
	// Output:
	// acme v2 true <nil>
	// trace=abc,greyrouter-tenant=acme,greyrouter-lane=v2,greyrouter-pins=orders:v2
}
