package privilege_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/privilege"
)

var simNow = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// simSnapshot is tenant acme's policy set at version 7: a platform
// operator role held by ops, readers and writers of orders, and a policy
// denying anything on frozen orders.
func simSnapshot() privilege.Snapshot {
	return privilege.Snapshot{
		Tenant: "acme", Version: 7, PlatformVersion: 3,
		Settings: privilege.Settings{Tenant: "acme", Algorithm: privilege.DenyOverrides,
			Schema: map[string]string{"resource.frozen": "bool"}},
		Roles: []privilege.Role{
			{Name: "operator", Platform: true, Permissions: []privilege.Permission{{Resource: "*", Action: "*"}}},
			{Tenant: "acme", Name: "reader", Permissions: []privilege.Permission{{Resource: "orders/*", Action: "read"}}},
			{Tenant: "acme", Name: "writer", Inherits: []string{"reader"}, Permissions: []privilege.Permission{{Resource: "orders/*", Action: "write"}}},
		},
		Assignments: []privilege.Assignment{
			{Subject: "ops", Role: "operator"},
			{Tenant: "acme", Subject: "alice", Role: "writer"},
			{Tenant: "acme", Subject: "bob", Role: "reader"},
		},
		Policies: []privilege.Policy{frozenPolicy()},
	}
}

func frozenPolicy() privilege.Policy {
	return privilege.Policy{ID: "frozen", Tenant: "acme",
		Target: privilege.Target{Resources: []string{"orders/*"}, Actions: []string{"*"}},
		Rules: []privilege.Rule{{ID: "frozen-orders", Effect: privilege.Deny,
			Condition: &privilege.Condition{Attr: "resource.frozen", Op: privilege.OpEq, Value: true}}}}
}

func simReq(subject, action, resource string, frozen bool) privilege.Request {
	return privilege.Request{Tenant: "acme", Subject: privilege.Subject{ID: subject}, Action: action,
		Resource: privilege.Resource{Name: resource, Attributes: map[string]any{"frozen": frozen}}}
}

// simRequests are asked in every simulation.
var simRequests = []privilege.Request{
	simReq("alice", "write", "orders/1", false),
	simReq("alice", "read", "orders/1", false),
	simReq("bob", "read", "orders/1", false),
	simReq("bob", "read", "orders/2", true),
	simReq("ops", "delete", "orders/1", false),
	simReq("alice", "write", "orders/archive/9", false),
}

func TestSimulateReportsWhatADraftWouldChange(t *testing.T) {
	current, err := privilege.CompileSnapshot(simSnapshot())
	if err != nil {
		t.Fatal(err)
	}
	archiveDeny := privilege.Policy{ID: "archive", Target: privilege.Target{Resources: []string{"orders/archive/*"}, Actions: []string{"write"}},
		Rules: []privilege.Rule{{ID: "archive-is-read-only", Effect: privilege.Deny}}}
	tests := []struct {
		name  string
		draft privilege.Draft
		// changed maps the index of each request whose answer flips to its
		// answer under the draft; every other request must keep its answer.
		changed map[int]bool
		// decidedBy, when set, is the rule or permission deciding the
		// first changed request under the draft.
		decidedBy string
	}{
		{
			name:    "an empty draft changes nothing",
			draft:   privilege.Draft{},
			changed: map[int]bool{},
		},
		{
			name:      "a draft policy denying writes to the archive newly denies alice there only",
			draft:     privilege.Draft{Policies: &[]privilege.Policy{frozenPolicy(), archiveDeny}},
			changed:   map[int]bool{5: false},
			decidedBy: "archive-is-read-only",
		},
		{
			name: "removing the writer role (and alice's assignment) newly denies alice",
			draft: privilege.Draft{
				Roles:       &[]privilege.Role{simSnapshot().Roles[1]},
				Assignments: &[]privilege.Assignment{{Subject: "bob", Role: "reader"}},
			},
			changed: map[int]bool{0: false, 1: false, 5: false},
		},
		{
			name: "switching to permit-overrides lets bob's role outvote the frozen-orders deny",
			draft: privilege.Draft{Settings: &privilege.Settings{Algorithm: privilege.PermitOverrides,
				Schema: map[string]string{"resource.frozen": "bool"}}},
			changed:   map[int]bool{3: true},
			decidedBy: "orders/*:read",
		},
		{
			name:      "an empty policy list removes every policy, so frozen orders are readable",
			draft:     privilege.Draft{Policies: &[]privilege.Policy{}},
			changed:   map[int]bool{3: true},
			decidedBy: "orders/*:read",
		},
		{
			name:    "a nil policy list keeps the policies while roles change",
			draft:   privilege.Draft{Roles: &[]privilege.Role{simSnapshot().Roles[2], simSnapshot().Roles[1]}},
			changed: map[int]bool{},
		},
		{
			name:    "emptying the tenant's roles and assignments keeps the platform operator",
			draft:   privilege.Draft{Roles: &[]privilege.Role{}, Assignments: &[]privilege.Assignment{}},
			changed: map[int]bool{0: false, 1: false, 2: false, 5: false},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			draft, err := tt.draft.Compile(simSnapshot())
			if err != nil {
				t.Fatalf("compile draft: %v", err)
			}
			rep := privilege.Simulate(current, draft, simRequests, simNow)
			if rep.Checked != len(simRequests) || len(rep.Results) != len(simRequests) {
				t.Fatalf("checked %d, %d results; want %d", rep.Checked, len(rep.Results), len(simRequests))
			}
			var allowed, denied int
			first := -1
			for i, res := range rep.Results {
				want, flips := tt.changed[i]
				if res.Changed != flips || res.Changed != (res.Current.Allowed != res.Draft.Allowed) {
					t.Errorf("request %d (%+v): changed %v, want %v; current %q, draft %q", i, res.Request, res.Changed, flips, res.Current.Reason, res.Draft.Reason)
				}
				if flips && res.Draft.Allowed != want {
					t.Errorf("request %d: allowed under the draft %v, want %v (%s)", i, res.Draft.Allowed, want, res.Draft.Reason)
				}
				if res.Changed && res.Draft.Allowed {
					allowed++
				} else if res.Changed {
					denied++
				}
				if res.Changed && first < 0 {
					first = i
				}
				if !reflect.DeepEqual(res.Request, privilege.SimRequestOf(simRequests[i])) {
					t.Errorf("request %d reported as %+v", i, res.Request)
				}
				if res.Current.Tier != "engine" || res.Draft.Tier != "engine" || res.Draft.PolicyVersion != 7 {
					t.Errorf("request %d: decisions %+v and %+v", i, res.Current, res.Draft)
				}
			}
			if rep.Changed != len(tt.changed) || rep.NewlyAllowed != allowed || rep.NewlyDenied != denied {
				t.Errorf("counts changed %d, newly allowed %d, newly denied %d; want %d, %d, %d",
					rep.Changed, rep.NewlyAllowed, rep.NewlyDenied, len(tt.changed), allowed, denied)
			}
			if tt.decidedBy != "" {
				d := rep.Results[first].Draft
				if d.Deciding == nil || (d.Deciding.RuleID != tt.decidedBy && d.Deciding.Permission != tt.decidedBy) {
					t.Errorf("request %d decided under the draft by %+v, want %s", first, d.Deciding, tt.decidedBy)
				}
				if len(d.Votes) == 0 {
					t.Errorf("request %d: the draft decision is not explained: %+v", first, d)
				}
			}
		})
	}
}

func TestDraftCompileNamesWhatIsWrong(t *testing.T) {
	tests := []struct {
		name  string
		draft privilege.Draft
		key   string // a detail the Unprocessable error must have
	}{
		{
			name:  "a removed role that is still assigned is named by the assignment",
			draft: privilege.Draft{Roles: &[]privilege.Role{simSnapshot().Roles[1]}},
			key:   "assignments",
		},
		{
			name:  "settings without the schema a policy needs name the policy's rule",
			draft: privilege.Draft{Settings: &privilege.Settings{Algorithm: privilege.DenyOverrides}},
			key:   "policies[frozen]",
		},
		{
			name:  "an unknown algorithm is named in the settings",
			draft: privilege.Draft{Settings: &privilege.Settings{Algorithm: "majority"}},
			key:   "settings.algorithm",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.draft.Compile(simSnapshot())
			if !apperr.Is(err, apperr.Unprocessable) {
				t.Fatalf("got %v, want an unprocessable error", err)
			}
			if !hasDetailPrefix(apperr.DetailsOf(err), tt.key) {
				t.Fatalf("details %v name nothing under %q", apperr.DetailsOf(err), tt.key)
			}
		})
	}
}

func hasDetailPrefix(details map[string]string, prefix string) bool {
	for k := range details {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

func TestDraftApply(t *testing.T) {
	t.Run("records without a tenant get the snapshot's, and lists come out sorted with the platform's first", func(t *testing.T) {
		roles := []privilege.Role{{Name: "zeta"}, {Name: "alpha"}}
		assignments := []privilege.Assignment{{Subject: "zed", Role: "zeta"}, {Subject: "amy", Role: "zeta"}, {Subject: "amy", Role: "alpha"}}
		policies := []privilege.Policy{{ID: "p2"}, {ID: "p1"}}
		d := privilege.Draft{Roles: &roles, Assignments: &assignments, Policies: &policies,
			Settings: &privilege.Settings{FailOpen: true}}
		got, err := d.Apply(simSnapshot())
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, r := range got.Roles {
			names = append(names, r.Tenant+"/"+r.Name)
		}
		if strings.Join(names, " ") != "/operator acme/alpha acme/zeta" {
			t.Errorf("roles %v", names)
		}
		names = nil
		for _, a := range got.Assignments {
			names = append(names, a.Tenant+"/"+privilege.AssignmentKey(a.Subject, a.Role))
		}
		if strings.Join(names, " ") != "/operator:ops acme/alpha:amy acme/zeta:amy acme/zeta:zed" {
			t.Errorf("assignments %v", names)
		}
		if len(got.Policies) != 2 || got.Policies[0].ID != "p1" || got.Policies[0].Tenant != "acme" || got.Policies[1].ID != "p2" {
			t.Errorf("policies %+v", got.Policies)
		}
		if got.Settings.Tenant != "acme" || got.Settings.Algorithm != privilege.DenyOverrides || !got.Settings.FailOpen {
			t.Errorf("settings %+v", got.Settings)
		}
		if got.Version != 7 || got.PlatformVersion != 3 || got.Tenant != "acme" {
			t.Errorf("versions %d/%d of tenant %q", got.Version, got.PlatformVersion, got.Tenant)
		}
		if roles[0].Tenant != "" || roles[0].Name != "zeta" || policies[0].Tenant != "" {
			t.Errorf("Apply modified the draft: %+v, %+v", roles, policies)
		}
	})
	t.Run("an empty draft returns the snapshot as it is, and the snapshot is not modified", func(t *testing.T) {
		orig := simSnapshot()
		d := privilege.Draft{Roles: &[]privilege.Role{{Name: "new"}}}
		if _, err := d.Apply(orig); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(orig, simSnapshot()) {
			t.Errorf("Apply modified its snapshot: %+v", orig)
		}
		got, err := privilege.Draft{}.Apply(orig)
		if err != nil || !reflect.DeepEqual(got, orig) {
			t.Errorf("empty draft gave %+v, %v", got, err)
		}
	})
	t.Run("empty lists remove the tenant's records but never the platform's", func(t *testing.T) {
		d := privilege.Draft{Roles: &[]privilege.Role{}, Assignments: &[]privilege.Assignment{}, Policies: &[]privilege.Policy{}}
		got, err := d.Apply(simSnapshot())
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Roles) != 1 || got.Roles[0].Name != "operator" || len(got.Assignments) != 1 || got.Assignments[0].Subject != "ops" || len(got.Policies) != 0 {
			t.Errorf("got roles %+v, assignments %+v, policies %+v", got.Roles, got.Assignments, got.Policies)
		}
	})
	t.Run("a draft of the platform replaces the platform's roles", func(t *testing.T) {
		platform := privilege.Snapshot{Roles: simSnapshot().Roles[:1], Assignments: simSnapshot().Assignments[:1], Settings: privilege.DefaultSettings("")}
		d := privilege.Draft{Roles: &[]privilege.Role{{Name: "auditor", Platform: true}}}
		got, err := d.Apply(platform)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Roles) != 1 || got.Roles[0].Name != "auditor" {
			t.Errorf("roles %+v", got.Roles)
		}
	})

	rejected := []struct {
		name  string
		snap  privilege.Snapshot
		draft privilege.Draft
		key   string
		names string // the record the detail must name
	}{
		{"a role of another tenant", simSnapshot(), privilege.Draft{Roles: &[]privilege.Role{{Name: "ok"}, {Tenant: "globex", Name: "spy"}}}, "roles[1].tenant", `role "spy" is tenant "globex"'s`},
		{"a platform role in a tenant's draft", simSnapshot(), privilege.Draft{Roles: &[]privilege.Role{{Name: "root", Platform: true}}}, "roles[0].platform", `role "root"`},
		{"an assignment of another tenant", simSnapshot(), privilege.Draft{Assignments: &[]privilege.Assignment{{Tenant: "globex", Subject: "eve", Role: "reader"}}}, "assignments[0].tenant", `assignment "reader:eve" is tenant "globex"'s`},
		{"a policy of another tenant", simSnapshot(), privilege.Draft{Policies: &[]privilege.Policy{{ID: "theirs", Tenant: "globex"}}}, "policies[0].tenant", `policy "theirs" is tenant "globex"'s`},
		{"settings of another tenant", simSnapshot(), privilege.Draft{Settings: &privilege.Settings{Tenant: "globex"}}, "settings.tenant", `tenant "globex"'s`},
		{"policies for the platform", privilege.Snapshot{}, privilege.Draft{Policies: &[]privilege.Policy{{ID: "p"}}}, "policies", "no policies"},
		{"settings for the platform", privilege.Snapshot{}, privilege.Draft{Settings: &privilege.Settings{}}, "settings", "no settings"},
	}
	for _, tt := range rejected {
		t.Run("rejects "+tt.name, func(t *testing.T) {
			_, err := tt.draft.Apply(tt.snap)
			if !apperr.Is(err, apperr.Unprocessable) {
				t.Fatalf("got %v, want an unprocessable error", err)
			}
			if d := apperr.DetailsOf(err)[tt.key]; !strings.Contains(d, tt.names) {
				t.Fatalf("detail %q is %q (all: %v), want it to name %s", tt.key, d, apperr.DetailsOf(err), tt.names)
			}
		})
	}
}

// TestSimulationJSON pins the JSON a simulation is asked and answered in.
func TestSimulationJSON(t *testing.T) {
	var draft privilege.Draft
	err := json.Unmarshal([]byte(`{"roles":[],"settings":{"algorithm":"permit-overrides"}}`), &draft)
	if err != nil {
		t.Fatal(err)
	}
	if draft.Roles == nil || len(*draft.Roles) != 0 || draft.Assignments != nil || draft.Policies != nil || draft.Settings.Algorithm != privilege.PermitOverrides {
		t.Fatalf("decoded draft %+v", draft)
	}

	var sr privilege.SimRequest
	err = json.Unmarshal([]byte(`{"subject":"bob","subject_attributes":{"department":"sales"},"action":"read",
		"resource":"orders/2","resource_attributes":{"frozen":true},"env":{"ip":"10.0.0.1"}}`), &sr)
	if err != nil {
		t.Fatal(err)
	}
	req := sr.Request("acme")
	want := privilege.Request{Tenant: "acme", Subject: privilege.Subject{ID: "bob", Attributes: map[string]any{"department": "sales"}},
		Action: "read", Resource: privilege.Resource{Name: "orders/2", Attributes: map[string]any{"frozen": true}}, Env: map[string]any{"ip": "10.0.0.1"}}
	if !reflect.DeepEqual(req, want) {
		t.Fatalf("request %+v, want %+v", req, want)
	}
	if back := privilege.SimRequestOf(req); !reflect.DeepEqual(back, sr) {
		t.Fatalf("view of the request %+v, want %+v", back, sr)
	}

	current, err := privilege.CompileSnapshot(simSnapshot())
	if err != nil {
		t.Fatal(err)
	}
	next, err := draft.Compile(simSnapshot())
	if !apperr.Is(err, apperr.Unprocessable) {
		t.Fatalf("a draft dropping the schema its policies need compiled: %v", err)
	}
	draft.Settings.Schema = map[string]string{"resource.frozen": "bool"}
	draft.Assignments = &[]privilege.Assignment{}
	if next, err = draft.Compile(simSnapshot()); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(privilege.Simulate(current, next, []privilege.Request{req}, simNow))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"results", "checked", "changed", "newly_allowed", "newly_denied"} {
		if _, ok := got[key]; !ok {
			t.Errorf("report %s has no %q", b, key)
		}
	}
	res := got["results"].([]any)[0].(map[string]any)
	if res["request"].(map[string]any)["subject"] != "bob" || res["changed"] != false ||
		res["current"].(map[string]any)["allowed"] != false || res["draft"].(map[string]any)["allowed"] != false {
		t.Errorf("result %s", b)
	}
}
