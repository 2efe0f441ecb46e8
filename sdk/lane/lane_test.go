package lane_test

import (
	"context"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/greyrouter/greyrouter/sdk/lane"
)

func TestInjectThenExtractKeepsTheLaneAndOtherMembers(t *testing.T) {
	h := http.Header{}
	h.Add("baggage", "userId=alice,congo=t61rcWkgMzE;prop=1")
	h.Add("baggage", "greyrouter-lane=old")
	l := lane.Lane{Tenant: "acme", Name: "v2", Revision: 42, Pins: map[string]string{"orders": "v2", "billing": "v2-rc,1;x:y"}}
	if err := lane.Inject(h, l); err != nil {
		t.Fatal(err)
	}
	got := h.Get("baggage")
	for _, want := range []string{"userId=alice", "congo=t61rcWkgMzE;prop=1", "greyrouter-tenant=acme", "greyrouter-lane=v2", "greyrouter-rev=42"} {
		if !strings.Contains(got, want) {
			t.Errorf("baggage %q lacks %q", got, want)
		}
	}
	if strings.Contains(got, "old") || len(h.Values("baggage")) != 1 {
		t.Errorf("the earlier lane member or header survived: %q", h.Values("baggage"))
	}
	back, ok, err := lane.Extract(h)
	if err != nil || !ok || back.Tenant != "acme" || back.Name != "v2" || back.Revision != 42 || !maps.Equal(back.Pins, l.Pins) {
		t.Fatalf("Extract = %+v %v %v, want %+v", back, ok, err, l)
	}
	if err := lane.Inject(h, lane.Lane{}); err != nil || h.Get("baggage") != "userId=alice,congo=t61rcWkgMzE;prop=1" {
		t.Fatalf("a zero lane left %q (%v)", h.Get("baggage"), err)
	}
}

func TestExtractRefusesMalformedBaggage(t *testing.T) {
	for name, v := range map[string]string{
		"no equals":       "greyrouter-lane",
		"bad key":         "grey router=1",
		"bad escape":      "greyrouter-lane=%zz",
		"negative rev":    "greyrouter-rev=-1",
		"text rev":        "greyrouter-rev=ten",
		"pin without ver": "greyrouter-pins=orders",
		"pin twice":       "greyrouter-pins=orders:v1%3Borders:v2",
		"too long":        "k=" + strings.Repeat("x", lane.MaxHeaderBytes),
		"too many":        strings.Repeat("k=v,", lane.MaxMembers+1),
	} {
		h := http.Header{"Baggage": {v}}
		if _, _, err := lane.Extract(h); err == nil {
			t.Errorf("%s: %q accepted", name, v)
		}
	}
	if _, ok, err := lane.Extract(http.Header{"Baggage": {"userId=alice"}}); ok || err != nil {
		t.Errorf("baggage without greyrouter members: ok=%v err=%v", ok, err)
	}
}

func TestMiddlewarePutsTheLaneInTheContextAndIgnoresGarbage(t *testing.T) {
	var seen lane.Lane
	var had bool
	h := lane.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen, had = lane.FromContext(r.Context())
	}))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("baggage", "greyrouter-lane=v2,greyrouter-pins=orders:v2")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if !had || seen.Name != "v2" || seen.Pins["orders"] != "v2" {
		t.Fatalf("lane %+v %v", seen, had)
	}
	r.Header.Set("baggage", "greyrouter-rev=x")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if had {
		t.Fatalf("a malformed header produced a lane: %+v", seen)
	}
	if l, ok := lane.FromContext(context.Background()); ok || !l.IsZero() {
		t.Fatal("an empty context has a lane")
	}
}

// FuzzExtract: any header either fails or yields a lane that survives
// Inject and Extract unchanged.
func FuzzExtract(f *testing.F) {
	for _, s := range []string{"greyrouter-tenant=acme,greyrouter-lane=v2,greyrouter-rev=42,greyrouter-pins=orders:v2;billing:v2",
		"a=b;c,greyrouter-lane=%20x", "greyrouter-pins=a%253Ab:c", ",,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, ok, err := lane.Extract(http.Header{"Baggage": {s}})
		if err != nil || !ok {
			return
		}
		h := http.Header{}
		if err := lane.Inject(h, l); err != nil {
			return // e.g. too many pins for one header
		}
		back, _, err := lane.Extract(h)
		if err != nil {
			t.Fatalf("re-extract of %q (from %q): %v", h.Get("baggage"), s, err)
		}
		if back.Tenant != l.Tenant || back.Name != l.Name || back.Revision != l.Revision || !maps.Equal(back.Pins, l.Pins) && len(back.Pins)+len(l.Pins) > 0 {
			t.Fatalf("round trip of %q: %+v -> %q -> %+v", s, l, h.Get("baggage"), back)
		}
	})
}

func BenchmarkInject(b *testing.B) {
	l := lane.Lane{Tenant: "acme", Name: "v2", Revision: 42, Pins: map[string]string{"orders": "v2"}}
	b.ReportAllocs()
	for b.Loop() {
		h := http.Header{}
		if err := lane.Inject(h, l.WithPin("billing", "v2")); err != nil {
			b.Fatal(err)
		}
	}
}
