package lane_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/greyrouter/greyrouter/sdk/lane"
)

// Example carries a lane from an incoming request to an outgoing one,
// pinning the version this service was reached at.
func Example() {
	in := http.Header{"Baggage": {"greyrouter-lane=acme/v2/42/orders:v2,trace=abc"}}
	l, ok, err := lane.Extract(in)
	fmt.Println(l.Tenant, l.Name, l.Revision, ok, err)

	out := http.Header{"Baggage": {"trace=abc"}}
	_ = lane.Inject(out, l.WithPin("billing", "v2"))
	fmt.Println(out.Get("baggage"))
	// Output:
	// acme v2 42 true <nil>
	// trace=abc,greyrouter-lane=acme/v2/42/billing:v2/orders:v2
}

func ExampleExtract() {
	h := http.Header{"Baggage": {"userId=alice,greyrouter-lane=acme/v2/42/orders:v2"}}
	l, ok, err := lane.Extract(h)
	fmt.Printf("%+v %v %v\n", l, ok, err)

	// Baggage of other systems alone carries no lane.
	_, ok, err = lane.Extract(http.Header{"Baggage": {"userId=alice"}})
	fmt.Println(ok, err)

	// A malformed header is an error: treat the request as having none.
	_, ok, err = lane.Extract(http.Header{"Baggage": {"greyrouter-lane=acme/v2/forty-two"}})
	fmt.Println(ok, err)
	// Output:
	// {Tenant:acme Name:v2 Revision:42 Pins:map[orders:v2]} true <nil>
	// false <nil>
	// false lane: revision "forty-two" is not a non-negative integer
}

func ExampleInject() {
	h := http.Header{}
	h.Set("Baggage", "userId=alice,greyrouter-lane=acme/v1/7")
	l := lane.Lane{Tenant: "acme", Name: "v2", Revision: 42, Pins: map[string]string{"orders": "v2"}}
	if err := lane.Inject(h, l); err != nil {
		fmt.Println(err)
	}
	fmt.Println(h.Get("Baggage"))

	// A zero lane leaves the other systems' members only.
	_ = lane.Inject(h, lane.Lane{})
	fmt.Println(h.Get("Baggage"))
	// Output:
	// userId=alice,greyrouter-lane=acme/v2/42/orders:v2
	// userId=alice
}

func ExampleInjectNext() {
	// The lane the request came in, and what this service's routing
	// decision for its call to billing chose.
	l := lane.Lane{Tenant: "acme", Name: "v2", Revision: 42, Pins: map[string]string{"orders": "v2"}}
	hop := lane.Hop{Tenant: "acme", Name: "v2", Service: "billing", Version: "v2", Revision: 43}

	out := http.Header{}
	if err := lane.InjectNext(out, l, hop); err != nil {
		fmt.Println(err)
	}
	fmt.Println(out.Get("Baggage"))
	fmt.Println(len(l.Pins)) // l itself is unchanged
	// Output:
	// greyrouter-lane=acme/v2/42/billing:v2/orders:v2
	// 1
}

func ExampleMiddleware() {
	h := lane.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l, ok := lane.FromContext(r.Context())
		fmt.Fprintf(w, "%v lane %q of %s, orders at %s", ok, l.Name, l.Tenant, l.Pins["orders"])
	}))

	r := httptest.NewRequest(http.MethodGet, "/invoices/42", nil)
	r.Header.Set("Baggage", "greyrouter-lane=acme/v2/42/orders:v2")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Println(w.Body)

	// A malformed header is ignored: the baseline.
	r.Header.Set("Baggage", "greyrouter-lane=acme")
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Println(w.Body)
	// Output:
	// true lane "v2" of acme, orders at v2
	// false lane "" of , orders at
}

func ExampleNewContext() {
	ctx := lane.NewContext(context.Background(), lane.Lane{Tenant: "acme", Name: "v2"})
	l, ok := lane.FromContext(ctx)
	fmt.Println(l.Tenant, l.Name, ok)
	// Output: acme v2 true
}

func ExampleFromContext() {
	if _, ok := lane.FromContext(context.Background()); !ok {
		fmt.Println("no lane: the baseline")
	}
	ctx := lane.NewContext(context.Background(), lane.Lane{Tenant: "acme", Name: "v2"})
	if l, ok := lane.FromContext(ctx); ok {
		fmt.Println("lane", l.Name)
	}
	// Output:
	// no lane: the baseline
	// lane v2
}

func ExampleLane_WithPin() {
	l := lane.Lane{Tenant: "acme", Pins: map[string]string{"orders": "v2"}}
	next := l.WithPin("billing", "v1")
	fmt.Println(next.Pins)
	fmt.Println(l.Pins) // unchanged
	// Output:
	// map[billing:v1 orders:v2]
	// map[orders:v2]
}

func ExampleLane_Next() {
	l := lane.Lane{Tenant: "acme", Name: "v2", Revision: 42, Pins: map[string]string{"orders": "v2"}}
	next := l.Next(lane.Hop{Tenant: "acme", Name: "", Service: "billing", Version: "v1", Revision: 43})
	// billing has no v2: the request goes on in the baseline, keeping the
	// revision of its first decision.
	fmt.Printf("%+v\n", next)
	// Output: {Tenant:acme Name: Revision:42 Pins:map[billing:v1 orders:v2]}
}

func ExampleLane_Pin() {
	l := lane.Lane{Tenant: "acme", Pins: map[string]string{"orders": "v2"}}
	v, ok := l.Pin("orders")
	fmt.Printf("%q %v\n", v, ok)
	v, ok = l.Pin("billing")
	fmt.Printf("%q %v\n", v, ok)
	// Output:
	// "v2" true
	// "" false
}

func ExampleLane_IsZero() {
	fmt.Println(lane.Lane{}.IsZero())
	fmt.Println(lane.Lane{Tenant: "acme"}.IsZero())
	// Output:
	// true
	// false
}
