package privilege_test

import (
	"encoding/json"
	"math"
	"net"
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/privilege"
)

// abacTestNow is a Wednesday, 10:00 UTC.
var abacTestNow = time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)

var abacTestAttrs = map[string]privilege.AttrType{
	"subject.department": privilege.TypeString,
	"subject.nickname":   privilege.TypeString,
	"subject.level":      privilege.TypeNumber,
	"subject.tags":       privilege.TypeStringList,
	"subject.regions":    privilege.TypeStringList,
	"subject.nolist":     privilege.TypeStringList,
	"subject.active":     privilege.TypeBool,
	"subject.ip":         privilege.TypeIP,
	"subject.since":      privilege.TypeTime,
	"subject.badstr":     privilege.TypeString,
	"subject.badnum":     privilege.TypeNumber,
	"subject.badlist":    privilege.TypeStringList,
	"subject.nan":        privilege.TypeNumber,
	"subject.badtime":    privilege.TypeTime,
	"subject.badip":      privilege.TypeIP,
	"subject.badbool":    privilege.TypeBool,
	"resource.owner":     privilege.TypeString,
	"resource.amount":    privilege.TypeNumber,
	"resource.limit":     privilege.TypeNumber,
	"resource.region":    privilege.TypeString,
	"resource.approver":  privilege.TypeString,
	"resource.created":   privilege.TypeTime,
}

func abacTestSchema(t testing.TB) privilege.Schema {
	t.Helper()
	var s privilege.Schema
	for path, typ := range abacTestAttrs {
		if err := s.Declare(path, typ); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// abacTestRequest is the request every operator case starts from.
func abacTestRequest() privilege.Request {
	return privilege.Request{
		Tenant: "acme",
		Action: "read",
		Subject: privilege.Subject{ID: "alice", Attributes: map[string]any{
			"department": "sales",
			"level":      3,
			"tags":       []string{"vip", "eu"},
			"roles":      []any{"reader", "support"},
			"regions":    []string{"eu", "us"},
			"active":     true,
			"ip":         "10.1.2.3",
			"since":      "2025-01-01T00:00:00Z",
			"badstr":     42,
			"badnum":     "3",
			"badlist":    []any{"a", 1},
			"nan":        math.NaN(),
			"badtime":    "yesterday",
			"badip":      "999.1.1.1",
			"badbool":    "true",
		}},
		Resource: privilege.Resource{Name: "orders/42", Attributes: map[string]any{
			"owner":    "alice",
			"amount":   250.0,
			"limit":    json.Number("300"),
			"region":   "eu",
			"approver": "support",
			"created":  time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		}},
	}
}

func abacWithEnv(k string, v any) func(*privilege.Request) {
	return func(r *privilege.Request) { r.Env = map[string]any{k: v} }
}

// abacOutcome compiles cond into a permit rule and, separately, a deny rule
// and reports "true", "false" or "error". It also checks the fail-safe
// contract: in error, the deny rule votes (with Error) and the permit rule
// is skipped.
func abacOutcome(t *testing.T, cond string, req privilege.Request) string {
	t.Helper()
	outcome := func(effect privilege.Effect) string {
		doc := `[{"id":"p","target":{"resources":["*"],"actions":["*"]},"rules":[{"id":"r","effect":"` + string(effect) + `","condition":` + cond + `}]}]`
		ps, err := privilege.ParsePolicies([]byte(doc))
		if err != nil {
			t.Fatalf("parse %s: %v", cond, err)
		}
		a, err := privilege.CompilePolicies("acme", abacTestSchema(t), privilege.DenyOverrides, ps)
		if err != nil {
			t.Fatalf("compile %s: %v %v", cond, err, abacDetails(err))
		}
		res := a.Evaluate(req, abacTestNow)
		switch {
		case len(res.Votes) == 1 && res.Votes[0].Error != "":
			if effect != privilege.Deny {
				t.Fatalf("a permit rule in error voted: %+v", res.Votes[0])
			}
			return "error"
		case len(res.Skipped) == 1:
			if effect != privilege.Permit || res.Skipped[0].Error == "" {
				t.Fatalf("skipped %+v", res.Skipped[0])
			}
			return "error"
		case len(res.Votes) == 1:
			return "true"
		case len(res.Votes) == 0:
			return "false"
		}
		t.Fatalf("unexpected result %+v", res)
		return ""
	}
	p, d := outcome(privilege.Permit), outcome(privilege.Deny)
	if p != d {
		t.Fatalf("permit rule says %s, deny rule says %s", p, d)
	}
	return p
}

func TestEachOperatorIsTrueFalseOrAnError(t *testing.T) {
	cases := []struct {
		name   string
		cond   string
		mutate func(*privilege.Request)
		want   string
	}{
		{"eq matches an equal string", `{"attr":"subject.department","op":"eq","value":"sales"}`, nil, "true"},
		{"eq rejects another string", `{"attr":"subject.department","op":"eq","value":"hr"}`, nil, "false"},
		{"eq on a missing attribute is an error", `{"attr":"subject.nickname","op":"eq","value":"al"}`, nil, "error"},
		{"eq on a value of the wrong runtime type is an error", `{"attr":"subject.badstr","op":"eq","value":"42"}`, nil, "error"},
		{"eq reads subject.id from the request", `{"attr":"subject.id","op":"eq","value":"alice"}`, nil, "true"},
		{"an empty subject id counts as missing", `{"attr":"subject.id","op":"eq","value":"alice"}`, func(r *privilege.Request) { r.Subject.ID = "" }, "error"},
		{"eq reads action", `{"attr":"action","op":"eq","value":"read"}`, nil, "true"},
		{"ne is true for another string", `{"attr":"subject.department","op":"ne","value":"hr"}`, nil, "true"},
		{"ne is false for the same string", `{"attr":"subject.department","op":"ne","value":"sales"}`, nil, "false"},
		{"ne on a missing attribute is an error", `{"attr":"subject.nickname","op":"ne","value":"al"}`, nil, "error"},
		{"in finds a listed string", `{"attr":"subject.department","op":"in","value":["hr","sales"]}`, nil, "true"},
		{"in misses an unlisted string", `{"attr":"subject.department","op":"in","value":["hr"]}`, nil, "false"},
		{"not_in is true for an unlisted string", `{"attr":"subject.department","op":"not_in","value":["hr"]}`, nil, "true"},
		{"not_in is false for a listed string", `{"attr":"subject.department","op":"not_in","value":["sales"]}`, nil, "false"},
		{"not_in on a missing attribute is an error", `{"attr":"subject.nickname","op":"not_in","value":["x"]}`, nil, "error"},
		{"in with a ref reads a list attribute", `{"attr":"resource.region","op":"in","ref":"subject.regions"}`, nil, "true"},
		{"not_in with a ref reads a list attribute", `{"attr":"subject.department","op":"not_in","ref":"subject.regions"}`, nil, "true"},
		{"in with a ref to a missing list is an error", `{"attr":"resource.region","op":"in","ref":"subject.nolist"}`, nil, "error"},
		{"contains finds a substring", `{"attr":"subject.department","op":"contains","value":"ale"}`, nil, "true"},
		{"contains misses a substring", `{"attr":"subject.department","op":"contains","value":"xyz"}`, nil, "false"},
		{"contains finds a list item", `{"attr":"subject.tags","op":"contains","value":"vip"}`, nil, "true"},
		{"contains misses a list item", `{"attr":"subject.tags","op":"contains","value":"gold"}`, nil, "false"},
		{"contains reads a JSON-decoded list", `{"attr":"subject.roles","op":"contains","value":"support"}`, nil, "true"},
		{"contains with a ref compares two attributes", `{"attr":"subject.roles","op":"contains","ref":"resource.approver"}`, nil, "true"},
		{"contains on a list with a non-string item is an error", `{"attr":"subject.badlist","op":"contains","value":"a"}`, nil, "error"},
		{"contains on a missing list is an error", `{"attr":"subject.nolist","op":"contains","value":"a"}`, nil, "error"},
		{"starts_with matches a prefix", `{"attr":"resource.name","op":"starts_with","value":"orders/"}`, nil, "true"},
		{"starts_with rejects another prefix", `{"attr":"resource.name","op":"starts_with","value":"users/"}`, nil, "false"},
		{"lt on numbers", `{"attr":"subject.level","op":"lt","value":5}`, nil, "true"},
		{"lt is strict", `{"attr":"subject.level","op":"lt","value":3}`, nil, "false"},
		{"le includes equality", `{"attr":"subject.level","op":"le","value":3}`, nil, "true"},
		{"gt on numbers", `{"attr":"subject.level","op":"gt","value":2.5}`, nil, "true"},
		{"gt is strict", `{"attr":"subject.level","op":"gt","value":3}`, nil, "false"},
		{"ge includes equality", `{"attr":"subject.level","op":"ge","value":3}`, nil, "true"},
		{"ge rejects a smaller number", `{"attr":"subject.level","op":"ge","value":4}`, nil, "false"},
		{"eq on numbers ignores int versus float", `{"attr":"subject.level","op":"eq","value":3.0}`, nil, "true"},
		{"numbers may arrive as json.Number", `{"attr":"resource.limit","op":"gt","value":299.5}`, nil, "true"},
		{"lt with a ref compares two numbers", `{"attr":"resource.amount","op":"lt","ref":"resource.limit"}`, nil, "true"},
		{"a string where a number is declared is an error", `{"attr":"subject.badnum","op":"lt","value":5}`, nil, "error"},
		{"NaN is an error, not a number", `{"attr":"subject.nan","op":"lt","value":5}`, nil, "error"},
		{"in on numbers", `{"attr":"subject.level","op":"in","value":[1,3]}`, nil, "true"},
		{"not_in on numbers", `{"attr":"subject.level","op":"not_in","value":[1,3]}`, nil, "false"},
		{"eq on bools", `{"attr":"subject.active","op":"eq","value":true}`, nil, "true"},
		{"eq on bools is false for the other value", `{"attr":"subject.active","op":"eq","value":false}`, nil, "false"},
		{"ne on bools", `{"attr":"subject.active","op":"ne","value":true}`, nil, "false"},
		{"a string where a bool is declared is an error", `{"attr":"subject.badbool","op":"eq","value":true}`, nil, "error"},
		{"lt on times", `{"attr":"resource.created","op":"lt","value":"2026-03-02T00:00:00Z"}`, nil, "true"},
		{"gt on times", `{"attr":"resource.created","op":"gt","value":"2026-03-02T00:00:00Z"}`, nil, "false"},
		{"eq on times compares instants across zones", `{"attr":"resource.created","op":"eq","value":"2026-03-01T13:00:00+01:00"}`, nil, "true"},
		{"times may arrive as RFC 3339 strings", `{"attr":"subject.since","op":"lt","value":"2025-06-01T00:00:00+02:00"}`, nil, "true"},
		{"lt with a ref to env.time, which defaults to now", `{"attr":"resource.created","op":"lt","ref":"env.time"}`, nil, "true"},
		{"an unparsable time is an error", `{"attr":"subject.badtime","op":"lt","value":"2026-01-01T00:00:00Z"}`, nil, "error"},
		{"cidr matches an address in range", `{"attr":"subject.ip","op":"cidr","value":"10.0.0.0/8"}`, nil, "true"},
		{"cidr rejects an address out of range", `{"attr":"subject.ip","op":"cidr","value":"192.168.0.0/16"}`, nil, "false"},
		{"cidr matches any of a list", `{"attr":"subject.ip","op":"cidr","value":["192.168.0.0/16","10.1.0.0/16"]}`, nil, "true"},
		{"cidr on IPv6", `{"attr":"env.ip","op":"cidr","value":"2001:db8::/32"}`, abacWithEnv("ip", "2001:db8::1"), "true"},
		{"cidr treats IPv4-mapped addresses as IPv4", `{"attr":"env.ip","op":"cidr","value":"10.0.0.0/8"}`, abacWithEnv("ip", "::ffff:10.1.2.3"), "true"},
		{"cidr reads net.IP", `{"attr":"env.ip","op":"cidr","value":"10.0.0.0/8"}`, abacWithEnv("ip", net.ParseIP("10.9.9.9")), "true"},
		{"cidr on an unparsable address is an error", `{"attr":"subject.badip","op":"cidr","value":"10.0.0.0/8"}`, nil, "error"},
		{"cidr on a missing env.ip is an error", `{"attr":"env.ip","op":"cidr","value":"10.0.0.0/8"}`, nil, "error"},
		{"eq on addresses", `{"attr":"subject.ip","op":"eq","value":"10.1.2.3"}`, nil, "true"},
		{"in on addresses", `{"attr":"subject.ip","op":"in","value":["10.1.2.3","10.1.2.4"]}`, nil, "true"},
		{"not_in on addresses", `{"attr":"subject.ip","op":"not_in","value":["10.1.2.3"]}`, nil, "false"},
		{"time_between reads env.time, defaulting to now (10:00 UTC)", `{"attr":"env.time","op":"time_between","value":["09:00","17:30"]}`, nil, "true"},
		{"time_between reads the clock in tz (05:00 in New York)", `{"attr":"env.time","op":"time_between","value":["09:00","17:30"],"tz":"America/New_York"}`, nil, "false"},
		{"time_between excludes the end", `{"attr":"env.time","op":"time_between","value":["09:00","17:30"]}`, abacWithEnv("time", "2026-03-04T17:30:00Z"), "false"},
		{"time_between includes the start", `{"attr":"env.time","op":"time_between","value":["09:00:00","17:30"]}`, abacWithEnv("time", time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)), "true"},
		{"time_between spans midnight when end is before start", `{"attr":"env.time","op":"time_between","value":["22:00","06:00"]}`, abacWithEnv("time", "2026-03-04T23:00:00Z"), "true"},
		{"time_between across midnight excludes the day", `{"attr":"env.time","op":"time_between","value":["22:00","06:00"]}`, nil, "false"},
		{"time_between on an env.time of the wrong type is an error", `{"attr":"env.time","op":"time_between","value":["09:00","17:30"]}`, abacWithEnv("time", 12), "error"},
		{"weekday_in finds the day (Wednesday)", `{"attr":"env.time","op":"weekday_in","value":["mon","wed"]}`, nil, "true"},
		{"weekday_in misses other days", `{"attr":"env.time","op":"weekday_in","value":["mon"]}`, nil, "false"},
		{"weekday_in reads the day in tz (already Thursday at UTC+14)", `{"attr":"env.time","op":"weekday_in","value":["thu"],"tz":"Pacific/Kiritimati"}`, nil, "true"},
		{"ref compares two attributes: owner is the subject", `{"attr":"resource.owner","op":"eq","ref":"subject.id"}`, nil, "true"},
		{"ref to a missing attribute is an error", `{"attr":"resource.owner","op":"eq","ref":"subject.id"}`, func(r *privilege.Request) { r.Subject.ID = "" }, "error"},
		{"all is true when every part is", `{"all":[{"attr":"subject.level","op":"ge","value":3},{"attr":"subject.active","op":"eq","value":true}]}`, nil, "true"},
		{"all is false when a part is false, even beside an error", `{"all":[{"attr":"subject.nickname","op":"eq","value":"x"},{"attr":"subject.level","op":"gt","value":5}]}`, nil, "false"},
		{"all is an error when no part is false and one errs", `{"all":[{"attr":"subject.level","op":"ge","value":3},{"attr":"subject.nickname","op":"eq","value":"x"}]}`, nil, "error"},
		{"any is true when a part is, even beside an error", `{"any":[{"attr":"subject.nickname","op":"eq","value":"x"},{"attr":"subject.level","op":"ge","value":3}]}`, nil, "true"},
		{"any is an error when no part is true and one errs", `{"any":[{"attr":"subject.level","op":"gt","value":5},{"attr":"subject.nickname","op":"eq","value":"x"}]}`, nil, "error"},
		{"any is false when every part is", `{"any":[{"attr":"subject.level","op":"gt","value":5},{"attr":"subject.active","op":"eq","value":false}]}`, nil, "false"},
		{"not negates true", `{"not":{"attr":"subject.active","op":"eq","value":true}}`, nil, "false"},
		{"not negates false", `{"not":{"attr":"subject.active","op":"eq","value":false}}`, nil, "true"},
		{"not keeps an error an error", `{"not":{"attr":"subject.nickname","op":"eq","value":"x"}}`, nil, "error"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := abacTestRequest()
			if c.mutate != nil {
				c.mutate(&req)
			}
			if got := abacOutcome(t, c.cond, req); got != c.want {
				t.Fatalf("%s: got %s, want %s", c.cond, got, c.want)
			}
		})
	}
}
