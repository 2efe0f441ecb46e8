package privilege

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/internal/apperr"
)

func TestNewDecisionIDsSortByTimeAndAreValid(t *testing.T) {
	base := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	var ids []string
	for _, d := range []time.Duration{0, time.Nanosecond, time.Microsecond, time.Second, 100 * 365 * 24 * time.Hour} {
		ids = append(ids, NewDecisionID(base.Add(d)))
	}
	if !slices.IsSorted(ids) {
		t.Errorf("ids of later times do not sort later: %q", ids)
	}
	for _, id := range ids {
		if !ValidDecisionID(id) {
			t.Errorf("NewDecisionID made %q, which ValidDecisionID rejects", id)
		}
	}
	t.Run("two ids of the same nanosecond differ", func(t *testing.T) {
		if a, b := NewDecisionID(base), NewDecisionID(base); a == b {
			t.Errorf("both ids are %q", a)
		}
	})
	t.Run("times before 1970 sort first", func(t *testing.T) {
		id := NewDecisionID(time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC))
		if !ValidDecisionID(id) || !strings.HasPrefix(id, strings.Repeat("0", 19)) {
			t.Errorf("id before 1970 = %q, want 19 zeros and the random part", id)
		}
	})
}

func TestValidDecisionIDRejectsOtherStrings(t *testing.T) {
	good := "1795341600000000000" + "0123456789abcdef"
	if !ValidDecisionID(good) {
		t.Fatalf("%q rejected", good)
	}
	for _, bad := range []string{
		"",
		good[:34],
		good + "0",
		"179534160000000000a" + "0123456789abcdef", // a letter in the time
		"1795341600000000000" + "0123456789ABCDEF", // upper case
		"1795341600000000000" + "0123456789abcdeg",
		"1795341600000000000" + "0123456789abcd'f",
	} {
		if ValidDecisionID(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
}

// request is a request with attributes of every kind the simulator must
// replay.
func request() Request {
	return Request{
		Tenant:   "acme",
		Subject:  Subject{ID: "alice", Attributes: map[string]any{"department": "sales", "clearance": 3}},
		Action:   "refund",
		Resource: Resource{Name: "orders/1234", Attributes: map[string]any{"owner": "alice", "amount": 99.5}},
		Env:      map[string]any{"ip": "10.0.0.7"},
	}
}

func TestDecisionRecordKeepsTheRequestAndTheAnswer(t *testing.T) {
	at := time.Date(2026, 11, 22, 10, 0, 0, 123456789, time.FixedZone("x", 3600))
	until := at.Add(time.Hour)
	d := Decision{
		Allowed: true, Reason: "allowed by permission orders/*:refund of role support (via [support])",
		Deciding: &Vote{Effect: Permit, Source: "rbac", RolePath: []string{"support"}, Permission: "orders/*:refund", Until: until},
		Votes:    []Vote{{Effect: Permit, Source: "rbac"}}, Tier: "l2", PolicyVersion: 42,
	}
	req := request()
	rec := NewDecisionRecord(req, d, at)

	// at is 2026-11-22 09:00:00.123456789 UTC.
	if !ValidDecisionID(rec.ID) || rec.ID[:19] != "1795338000123456789" {
		t.Errorf("id = %q, want NewDecisionID of the decision's time", rec.ID)
	}
	if !rec.At.Equal(at) || rec.At.Location() != time.UTC {
		t.Errorf("at = %v, want %v in UTC", rec.At, at)
	}
	if rec.Tenant != "acme" || rec.Subject != "alice" || rec.Action != "refund" || rec.Resource != "orders/1234" ||
		!rec.Allowed || rec.FailOpen || rec.Reason != d.Reason || rec.Tier != "l2" || rec.PolicyVersion != 42 || rec.Caller != "" {
		t.Errorf("record = %+v, want the request's and decision's fields", rec)
	}
	if rec.Deciding == d.Deciding || !reflect.DeepEqual(*rec.Deciding, *d.Deciding) {
		t.Errorf("deciding = %+v, want a copy of %+v", rec.Deciding, d.Deciding)
	}

	t.Run("Request rebuilds the audited request", func(t *testing.T) {
		if got := rec.Request(); !reflect.DeepEqual(got, req) {
			t.Errorf("Request() = %+v, want %+v", got, req)
		}
	})
	t.Run("the record does not share maps with the request or its replay", func(t *testing.T) {
		req.Subject.Attributes["department"] = "changed"
		req.Env["extra"] = true
		replay := rec.Request()
		replay.Resource.Attributes["owner"] = "mallory"
		if rec.SubjectAttributes["department"] != "sales" || len(rec.Env) != 1 || rec.ResourceAttributes["owner"] != "alice" {
			t.Errorf("record attributes changed with the maps they came from or went to: %+v", rec)
		}
	})
	t.Run("it survives JSON as the HTTP API shows it", func(t *testing.T) {
		b, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		var back DecisionRecord
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if back.ID != rec.ID || !back.At.Equal(rec.At) || back.Deciding == nil || !back.Deciding.Until.Equal(until) ||
			back.SubjectAttributes["department"] != "sales" || strings.Contains(string(b), "fail_open") {
			t.Errorf("JSON %s decoded to %+v", b, back)
		}
	})
	t.Run("a default deny has no deciding vote and no attributes", func(t *testing.T) {
		rec := NewDecisionRecord(Request{Tenant: "acme", Subject: Subject{ID: "bob"}, Action: "read", Resource: Resource{Name: "x"}},
			Decision{Reason: "denied by default", Tier: "engine"}, at)
		if rec.Deciding != nil || rec.SubjectAttributes != nil || rec.ResourceAttributes != nil || rec.Env != nil {
			t.Errorf("record = %+v, want nil deciding and attribute maps", rec)
		}
	})
}

func TestDecisionRecordValidate(t *testing.T) {
	for _, c := range []struct {
		name string
		rec  DecisionRecord
		bad  []string
	}{
		{"a record without an id is valid: the store assigns one", DecisionRecord{Tenant: "acme"}, nil},
		{"a record with a decision id is valid", DecisionRecord{Tenant: "acme", ID: NewDecisionID(time.Now())}, nil},
		{"a record needs a tenant", DecisionRecord{}, []string{"tenant"}},
		{"a record's id must be a decision id", DecisionRecord{Tenant: "Acme!", ID: "1"}, []string{"id", "tenant"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantFields(t, c.rec.Validate(), c.bad)
		})
	}
}

func TestDecisionQueryValidate(t *testing.T) {
	since := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	allowed := false
	for _, c := range []struct {
		name string
		q    DecisionQuery
		bad  []string
	}{
		{"a tenant alone is a query", DecisionQuery{Tenant: "acme"}, nil},
		{"every filter may be set", DecisionQuery{Tenant: "acme", Subject: "alice", Resource: "orders/1", Action: "read",
			Allowed: &allowed, Since: since, Until: since.Add(time.Hour), Before: NewDecisionID(since), Limit: MaxDecisionLimit}, nil},
		{"the tenant is required", DecisionQuery{}, []string{"tenant"}},
		{"the tenant must be a name", DecisionQuery{Tenant: "acme/other"}, []string{"tenant"}},
		{"the limit is at most 1000", DecisionQuery{Tenant: "acme", Limit: MaxDecisionLimit + 1}, []string{"limit"}},
		{"the limit is not negative", DecisionQuery{Tenant: "acme", Limit: -1}, []string{"limit"}},
		{"the cursor must be a decision id", DecisionQuery{Tenant: "acme", Before: "' OR 1=1 --"}, []string{"before"}},
		{"until must be after since", DecisionQuery{Tenant: "acme", Since: since, Until: since}, []string{"until"}},
		{"every bad field is reported", DecisionQuery{Limit: 5000, Before: "x"}, []string{"before", "limit", "tenant"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantFields(t, c.q.Validate(), c.bad)
		})
	}
}

func TestDecisionQueryPageSize(t *testing.T) {
	if got := (DecisionQuery{}).PageSize(); got != DefaultDecisionLimit {
		t.Errorf("page size without a limit = %d, want %d", got, DefaultDecisionLimit)
	}
	if got := (DecisionQuery{Limit: 7}).PageSize(); got != 7 {
		t.Errorf("page size with limit 7 = %d", got)
	}
}

// wantFields checks that err is nil when bad is empty, and otherwise an
// Unprocessable error with a detail for exactly the fields in bad.
func wantFields(t *testing.T, err error, bad []string) {
	t.Helper()
	if len(bad) == 0 {
		if err != nil {
			t.Fatalf("rejected: %v", err)
		}
		return
	}
	if !apperr.Is(err, apperr.Unprocessable) {
		t.Fatalf("error = %v, want unprocessable", err)
	}
	if got := slices.Sorted(maps.Keys(apperr.DetailsOf(err))); !slices.Equal(got, bad) {
		t.Errorf("details for %v, want for %v (%v)", got, bad, apperr.DetailsOf(err))
	}
}
