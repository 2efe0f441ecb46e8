package router_test

import (
	"encoding/json"
	"testing"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/router"
)

func TestBindingValidation(t *testing.T) {
	tests := []struct {
		name  string
		json  string
		field string // the detail expected, "" for valid
	}{
		{"a pin is valid", `{"tenant":"acme","service":"orders","mode":"pin","version":"v2"}`, ""},
		{"a split is valid", `{"tenant":"acme","service":"orders","mode":"split","baseline":"v1","candidate":"v2","percent":12.34}`, ""},
		{"a pin needs a version", `{"tenant":"acme","service":"orders","mode":"pin"}`, "version"},
		{"a split needs different versions", `{"tenant":"acme","service":"orders","mode":"split","baseline":"v1","candidate":"v1","percent":5}`, "candidate"},
		{"an unknown mode is rejected", `{"tenant":"acme","service":"orders","mode":"sometimes"}`, "mode"},
		{"a rule needs a condition", `{"tenant":"acme","service":"orders","mode":"default","rules":[{"version":"v2","when":[]}]}`, "rules[0].when"},
		{"a rule op must be known", `{"tenant":"acme","service":"orders","mode":"default","rules":[{"version":"v2","when":[{"source":"header","name":"x","op":"regex","values":["a"]}]}]}`, "rules[0].when[0].op"},
		{"equals takes one value", `{"tenant":"acme","service":"orders","mode":"default","rules":[{"version":"v2","when":[{"source":"attribute","name":"x","op":"equals","values":["a","b"]}]}]}`, "rules[0].when[0].values"},
		{"a sticky source must be well-formed", `{"tenant":"acme","service":"orders","mode":"pin","version":"v1","sticky":"cookie:x"}`, "sticky"},
		{"a bad tenant name is rejected", `{"tenant":"Acme Corp","service":"orders","mode":"pin","version":"v1"}`, "tenant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b router.Binding
			if err := json.Unmarshal([]byte(tt.json), &b); err != nil {
				t.Fatalf("decode: %v", err)
			}
			b.Normalize()
			err := b.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("unexpected error %v (%v)", err, apperr.DetailsOf(err))
				}
				return
			}
			if !apperr.Is(err, apperr.Unprocessable) {
				t.Fatalf("want unprocessable, got %v", err)
			}
			if _, ok := apperr.DetailsOf(err)[tt.field]; !ok {
				t.Fatalf("details %v do not name %s", apperr.DetailsOf(err), tt.field)
			}
		})
	}
}

func TestPercentAcceptsTwoDecimalsBetween0And100(t *testing.T) {
	for in, want := range map[string]int{"0": 0, "100": 10000, "12.5": 1250, "0.01": 1, "33.33": 3333} {
		var p router.Percent
		if err := json.Unmarshal([]byte(in), &p); err != nil || p.BasisPoints() != want {
			t.Errorf("%s: got %d, %v; want %d", in, p.BasisPoints(), err, want)
		}
		out, _ := json.Marshal(p)
		var back router.Percent
		if err := json.Unmarshal(out, &back); err != nil || back != p {
			t.Errorf("%s does not round trip: %s", in, out)
		}
	}
	for _, in := range []string{"150", "-1", "12.345", `"10"`, "1e400"} {
		var p router.Percent
		if err := json.Unmarshal([]byte(in), &p); err == nil {
			t.Errorf("%s accepted as %d", in, p)
		}
	}
}

func TestParseAttributes(t *testing.T) {
	got, err := router.ParseAttributes([]byte(`{"plan":"pro","seats":12,"beta":true,"gone":null,"ratio":1.50}`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"plan": "pro", "seats": "12", "beta": "true", "ratio": "1.50"}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("%s = %q, want %q", k, got[k], v)
		}
	}
	for _, bad := range []string{`[1]`, `{"a":{"b":1}}`, `{"a":[1]}`, `"x"`, `{`} {
		if _, err := router.ParseAttributes([]byte(bad)); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("%s: want invalid, got %v", bad, err)
		}
	}
}

// FuzzParseAttributes checks that any input either parses into flat
// strings or fails with an Invalid error — never a panic.
func FuzzParseAttributes(f *testing.F) {
	for _, s := range []string{`{"a":"b"}`, `{"n":1.5e3,"t":true}`, `{"x":null}`, `[]`, `{"a":{"b":1}}`, `{"\u0000":"\ud800"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := router.ParseAttributes(data)
		if err != nil {
			if !apperr.Is(err, apperr.Invalid) {
				t.Fatalf("error without the invalid code: %v", err)
			}
			return
		}
		req := router.Request{Tenant: "t", Service: "s", Attributes: m}
		_ = req.Validate()
		_, _ = router.ChooseVersion(&router.Service{DefaultVersion: "v1"}, nil, &req, 0, router.LaneAbsent)
	})
}

// FuzzBinding decodes arbitrary JSON as a binding, validates it, and if it
// is valid, evaluates it: validation must never panic, and a valid binding
// must always choose one of the versions it names (or the default).
func FuzzBinding(f *testing.F) {
	for _, s := range []string{
		`{"tenant":"acme","service":"orders","mode":"pin","version":"v2"}`,
		`{"tenant":"acme","service":"orders","mode":"split","baseline":"v1","candidate":"v2","percent":20,"sticky":"header:X-User"}`,
		`{"tenant":"acme","service":"orders","mode":"default","rules":[{"priority":3,"version":"v2","when":[{"source":"attribute","name":"beta","op":"in","values":["1","true"]}]}]}`,
		`{"mode":"split","percent":150}`,
	} {
		f.Add([]byte(s), "alice", "true")
	}
	f.Fuzz(func(t *testing.T, data []byte, key, attr string) {
		var b router.Binding
		if json.Unmarshal(data, &b) != nil {
			return
		}
		b.Normalize()
		if err := b.Validate(); err != nil {
			if !apperr.Is(err, apperr.Unprocessable) {
				t.Fatalf("validation error without the unprocessable code: %v", err)
			}
			return
		}
		req := router.Request{Tenant: b.Tenant, Key: key, Attributes: map[string]string{"beta": attr}, Headers: map[string]string{"x-user": key}}
		supply := router.LaneAbsent
		if router.ValidName(attr) {
			// The attribute doubles as the request's lane, which the
			// service supplies according to its length.
			req.Lane, supply = attr, router.LaneSupply(len(attr)%3)
		}
		got, err := router.ChooseVersion(&router.Service{DefaultVersion: "default"}, &b, &req, 0.3, supply)
		if err != nil {
			if b.LaneMode != router.LaneStrict || supply != router.LaneAbsent || req.Lane == "" || !apperr.Is(err, apperr.NotFound) {
				t.Fatalf("lane %q (supply %v) in mode %q failed: %v", req.Lane, supply, b.LaneMode, err)
			}
			return
		}
		ok := got.Version == "default" || (supply != router.LaneAbsent && got.Version == req.Lane)
		for _, v := range b.Versions() {
			ok = ok || got.Version == v
		}
		if !ok {
			t.Fatalf("chose %q, not among %v", got.Version, b.Versions())
		}
	})
}

func TestInstanceAddressMustBePrintableHostPort(t *testing.T) {
	base := router.Instance{ID: "i1", Service: "orders", Version: "v1", Weight: 1, Source: router.SourceAPI}
	for addr, ok := range map[string]bool{
		"10.0.0.1:8080": true, "orders.internal:80": true, "[::1]:443": true,
		"10.0.0.1": false, ":80": false, "host:0": false, "host:99999": false,
		"ho\x1fst:80": false, "ho st:80": false, "höst:80": false,
	} {
		in := base
		in.Address = addr
		if err := in.Validate(); (err == nil) != ok {
			t.Errorf("%q: valid=%v, want %v (%v)", addr, err == nil, ok, err)
		}
	}
}
