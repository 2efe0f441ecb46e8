package lane_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/greyrouter/greyrouter/sdk/lane"
)

// FuzzExtract checks the wire form from both sides. Any header either
// fails or yields a lane that Inject writes and Extract reads back
// unchanged, always in the same bytes; rewriting an accepted header keeps
// the members of other systems byte for byte. And any string, cut at
// '|' into tenant, lane and service/version pairs, is a lane that
// survives Inject and Extract (when Inject takes it) and that InjectNext
// writes as Inject writes Next.
func FuzzExtract(f *testing.F) {
	for _, s := range []string{
		"greyrouter-lane=acme/v2/42/billing:v2/orders:v2",
		"a=b;c,greyrouter-lane=%20x/y/0, k = v%41 ;p",
		"greyrouter-lane=a%253Ab/%2F/1/x%3A:y",
		"greyrouter-lane=//0", ",,", "acme|v2|orders|v2|billing|v1", "a b|ü|x:y|1/2",
	} {
		f.Add(s)
	}
	f.Fuzz(checkWireForm)
}

// checkWireForm is FuzzExtract's body.
func checkWireForm(t *testing.T, s string) {
	l, ok, err := lane.Extract(http.Header{"Baggage": {s}})
	if err == nil {
		keepsOthers(t, s)
	}
	if err == nil && ok {
		roundTrip(t, l, s)
	}
	if len(s) > 256 {
		return // long names would only slow the fuzzer down: the header checks above try the size limits
	}
	parts := strings.Split(s, "|")
	fromParts := lane.Lane{Tenant: parts[0], Revision: int64(len(s))}
	if len(parts) > 1 {
		fromParts.Name = parts[1]
	}
	for i := 2; i+1 < len(parts); i += 2 {
		if fromParts.Pins == nil {
			fromParts.Pins = map[string]string{}
		}
		fromParts.Pins[parts[i]] = parts[i+1]
	}
	roundTrip(t, fromParts, s)
	hop := lane.Hop{Tenant: parts[len(parts)-1], Name: parts[0], Service: parts[0], Version: parts[len(parts)-1], Revision: 3}
	got, want := http.Header{}, http.Header{}
	errGot, errWant := lane.InjectNext(got, fromParts, hop), lane.Inject(want, fromParts.Next(hop))
	if (errGot == nil) != (errWant == nil) || got.Get("baggage") != want.Get("baggage") {
		t.Fatalf("InjectNext of %+v, %+v: %q (%v); Inject of Next: %q (%v)", fromParts, hop, got.Get("baggage"), errGot, want.Get("baggage"), errWant)
	}
}

// roundTrip checks that l, when Inject takes it, comes back from Extract
// as it was, and that writing it again gives the same bytes.
func roundTrip(t *testing.T, l lane.Lane, from string) {
	t.Helper()
	h := http.Header{}
	if err := lane.Inject(h, l); err != nil {
		return // e.g. an empty service name or too long a header
	}
	if l.IsZero() {
		if len(h) != 0 {
			t.Fatalf("a zero lane (from %q) wrote %v", from, h)
		}
		return
	}
	back, ok, err := lane.Extract(h)
	if err != nil || !ok || !equal(back, l) {
		t.Fatalf("round trip of %+v (from %q): %q -> %+v, %v, %v", l, from, h.Get("baggage"), back, ok, err)
	}
	again := http.Header{}
	if err := lane.Inject(again, back); err != nil || again.Get("baggage") != h.Get("baggage") {
		t.Fatalf("%+v written twice (from %q): %q, then %q (%v)", l, from, h.Get("baggage"), again.Get("baggage"), err)
	}
}

// keepsOthers checks that rewriting the accepted header s keeps the
// members of other systems as they were, in their order, ahead of the
// lane.
func keepsOthers(t *testing.T, s string) {
	t.Helper()
	var others []string
	for raw := range strings.SplitSeq(s, ",") {
		raw = strings.Trim(raw, " \t")
		kv, _, _ := strings.Cut(raw, ";")
		key, _, _ := strings.Cut(kv, "=")
		if raw != "" && !strings.HasPrefix(strings.Trim(key, " \t"), "greyrouter-") {
			others = append(others, raw)
		}
	}
	l := lane.Lane{Tenant: "acme", Name: "v2", Revision: 1}
	h := http.Header{"Baggage": {s}}
	if err := lane.Inject(h, l); err != nil {
		if len(s) > lane.MaxHeaderBytes-40 || len(others) >= lane.MaxMembers {
			return // no room left for the lane
		}
		t.Fatalf("Inject over the accepted %q: %v", s, err)
	}
	want := strings.Join(append(others, "greyrouter-lane=acme/v2/1"), ",")
	if got := h.Get("baggage"); got != want {
		t.Fatalf("Inject over %q wrote %q, want %q", s, got, want)
	}
}
