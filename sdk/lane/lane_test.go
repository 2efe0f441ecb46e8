package lane_test

import (
	"context"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/greyrouter/greyrouter/sdk/lane"
)

func TestInjectThenExtractKeepsTheLaneAndOtherMembers(t *testing.T) {
	h := http.Header{}
	h.Add("baggage", "userId=alice, congo = t61rc%57kgMzE ;prop=1")
	h.Add("baggage", "greyrouter-lane=old,greyrouter-pins=x:y")
	l := lane.Lane{Tenant: "acme", Name: "v2", Revision: 42, Pins: map[string]string{"orders": "v2", "billing": "v2-rc,1;x:y/z%"}}
	if err := lane.Inject(h, l); err != nil {
		t.Fatal(err)
	}
	want := "userId=alice,congo = t61rc%57kgMzE ;prop=1,greyrouter-lane=acme/v2/42/billing:v2-rc%2C1%3Bx%3Ay%2Fz%25/orders:v2"
	if got := h.Values("baggage"); len(got) != 1 || got[0] != want {
		t.Fatalf("baggage %q, want %q", got, want)
	}
	back, ok, err := lane.Extract(h)
	if err != nil || !ok || !equal(back, l) {
		t.Fatalf("Extract = %+v %v %v, want %+v", back, ok, err, l)
	}
	if err := lane.Inject(h, lane.Lane{}); err != nil || h.Get("baggage") != "userId=alice,congo = t61rc%57kgMzE ;prop=1" {
		t.Fatalf("a zero lane left %q (%v)", h.Get("baggage"), err)
	}
	h = http.Header{"Baggage": {"greyrouter-lane=a//1"}}
	if err := lane.Inject(h, lane.Lane{}); err != nil || len(h) != 0 {
		t.Fatalf("a zero lane over a lane alone left %v (%v)", h, err)
	}
}

func TestTheWireFormIsShortAndReadable(t *testing.T) {
	for name, c := range map[string]struct {
		l    lane.Lane
		want string
	}{
		"a lane with two pins":        {lane.Lane{Tenant: "acme", Name: "v2", Revision: 42, Pins: map[string]string{"orders": "v2", "billing": "v2"}}, "greyrouter-lane=acme/v2/42/billing:v2/orders:v2"},
		"the baseline":                {lane.Lane{Tenant: "acme", Revision: 7, Pins: map[string]string{"orders": "v1"}}, "greyrouter-lane=acme//7/orders:v1"},
		"no pins yet":                 {lane.Lane{Tenant: "acme", Name: "canary"}, "greyrouter-lane=acme/canary/0"},
		"names that need escaping":    {lane.Lane{Tenant: "a b", Name: "ü", Pins: map[string]string{"x:y": "1/2"}}, "greyrouter-lane=a%20b/%C3%BC/0/x%3Ay:1%2F2"},
		"characters kept as they are": {lane.Lane{Tenant: "t.e_n-a~n=t", Name: "v2+b(1)"}, "greyrouter-lane=t.e_n-a~n=t/v2+b(1)/0"},
	} {
		t.Run(name, func(t *testing.T) {
			h := http.Header{}
			if err := lane.Inject(h, c.l); err != nil || h.Get("baggage") != c.want {
				t.Fatalf("got %q (%v), want %q", h.Get("baggage"), err, c.want)
			}
		})
	}
}

func TestInjectNextWritesTheNextLaneWithoutTouchingThisOne(t *testing.T) {
	l := lane.Lane{Tenant: "acme", Name: "v2", Revision: 42, Pins: map[string]string{"orders": "v2"}}
	for name, hop := range map[string]lane.Hop{
		"a new service":               {Tenant: "acme", Name: "v2", Service: "billing", Version: "v1", Revision: 50},
		"a service pinned before":     {Tenant: "acme", Service: "orders", Version: "v3"},
		"another tenant":              {Tenant: "globex", Name: "v9", Service: "billing", Version: "v9"},
		"no service":                  {Tenant: "acme", Name: "v2"},
		"from a lane without a start": {Tenant: "acme", Service: "orders", Version: "v1", Revision: 9},
	} {
		t.Run(name, func(t *testing.T) {
			from := l
			if name == "from a lane without a start" {
				from = lane.Lane{}
			}
			before := maps.Clone(from.Pins)
			got, want := http.Header{"Baggage": {"trace=abc"}}, http.Header{"Baggage": {"trace=abc"}}
			if err := lane.InjectNext(got, from, hop); err != nil {
				t.Fatal(err)
			}
			next := from.Next(hop)
			if err := lane.Inject(want, next); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("InjectNext wrote %q, Inject of Next %q", got, want)
			}
			if !maps.Equal(from.Pins, before) {
				t.Fatalf("the lane's pins changed: %v, were %v", from.Pins, before)
			}
			if v, _ := next.Pin(hop.Service); hop.Service != "" && v != hop.Version {
				t.Fatalf("next lane %+v lacks the hop's pin", next)
			}
			wantRev := from.Revision
			if wantRev == 0 {
				wantRev = hop.Revision
			}
			if next.Revision != wantRev {
				t.Fatalf("next lane's revision %d (lane %d, hop %d)", next.Revision, from.Revision, hop.Revision)
			}
		})
	}
}

func TestInjectNeverWritesIntoTheHeadersValues(t *testing.T) {
	shared := []string{"trace=abc,greyrouter-lane=a/b/1"}
	h := http.Header{"Baggage": shared}
	if err := lane.Inject(h, lane.Lane{Tenant: "acme"}); err != nil {
		t.Fatal(err)
	}
	if shared[0] != "trace=abc,greyrouter-lane=a/b/1" {
		t.Fatalf("the old values changed: %q", shared)
	}
}

func TestExtractRefusesMalformedBaggage(t *testing.T) {
	for name, v := range map[string]string{
		"no equals":           "greyrouter-lane",
		"bad key":             "grey router=1",
		"bad escape":          "greyrouter-lane=%zz/v2/1",
		"cut escape":          "k=v%4",
		"too few fields":      "greyrouter-lane=acme/v2",
		"the old form":        "greyrouter-tenant=acme,greyrouter-lane=v2",
		"no revision":         "greyrouter-lane=acme/v2/",
		"negative rev":        "greyrouter-lane=acme/v2/-1",
		"text rev":            "greyrouter-lane=acme/v2/ten",
		"huge rev":            "greyrouter-lane=acme/v2/99999999999999999999",
		"pin without ver":     "greyrouter-lane=acme/v2/1/orders",
		"pin without service": "greyrouter-lane=acme/v2/1/:v1",
		"empty pin":           "greyrouter-lane=acme/v2/1/orders:v1/",
		"two colons":          "greyrouter-lane=acme/v2/1/orders:v1:v2",
		"pin twice":           "greyrouter-lane=acme/v2/1/orders:v1/orders:v2",
		"pin twice, escaped":  "greyrouter-lane=acme/v2/1/orders:v1/order%73:v2",
		"space in a name":     "greyrouter-lane=ac me/v2/1",
		"a lane twice":        "greyrouter-lane=a/b/1,greyrouter-lane=a/b/1",
		"too many pins":       "greyrouter-lane=a/b/1" + strings.Repeat("/s:v", lane.MaxPins+1),
		"too long":            "k=" + strings.Repeat("x", lane.MaxHeaderBytes),
		"too many":            strings.Repeat("k=v,", lane.MaxMembers+1),
	} {
		h := http.Header{"Baggage": {v}}
		if _, _, err := lane.Extract(h); err == nil {
			t.Errorf("%s: %q accepted", name, v)
		}
	}
	for v, want := range map[string]lane.Lane{
		"userId=alice":        {},
		"greyrouter-lane=//0": {},
		" greyrouter-lane = a/v2/007/s%3A:v ;p=1 ,,k=v": {Tenant: "a", Name: "v2", Revision: 7, Pins: map[string]string{"s:": "v"}},
		"greyrouter-future=1":                           {},
	} {
		l, _, err := lane.Extract(http.Header{"Baggage": {v}})
		if err != nil || !equal(l, want) {
			t.Errorf("%q: %+v (%v), want %+v", v, l, err, want)
		}
	}
	if _, ok, err := lane.Extract(http.Header{"Baggage": {"userId=alice,greyrouter-other=1"}}); ok || err != nil {
		t.Errorf("baggage without a greyrouter lane: ok=%v err=%v", ok, err)
	}
}

func TestMiddlewarePutsTheLaneInTheContextAndIgnoresGarbage(t *testing.T) {
	var seen lane.Lane
	var had bool
	h := lane.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen, had = lane.FromContext(r.Context())
	}))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("baggage", "greyrouter-lane=acme/v2/1/orders:v2")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if !had || seen.Name != "v2" || seen.Pins["orders"] != "v2" {
		t.Fatalf("lane %+v %v", seen, had)
	}
	r.Header.Set("baggage", "greyrouter-lane=acme/v2/x")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if had {
		t.Fatalf("a malformed header produced a lane: %+v", seen)
	}
	if l, ok := lane.FromContext(context.Background()); ok || !l.IsZero() {
		t.Fatal("an empty context has a lane")
	}
}

// equal compares lanes, a nil map of pins equal to an empty one.
func equal(a, b lane.Lane) bool {
	return a.Tenant == b.Tenant && a.Name == b.Name && a.Revision == b.Revision && maps.Equal(a.Pins, b.Pins)
}
