package privilege_test

import (
	"testing"

	"github.com/greyrouter/greyrouter/privilege"
)

func TestCombineAppliesEachAlgorithm(t *testing.T) {
	permit := func(id string, prio int) privilege.Vote {
		return privilege.Vote{Effect: privilege.Permit, Priority: prio, Source: "abac", RuleID: id}
	}
	deny := func(id string, prio int) privilege.Vote {
		return privilege.Vote{Effect: privilege.Deny, Priority: prio, Source: "abac", RuleID: id}
	}
	withErr := func(v privilege.Vote) privilege.Vote { v.Error = "subject.x: attribute missing"; return v }
	cases := []struct {
		name     string
		alg      privilege.Algorithm
		votes    []privilege.Vote
		allowed  bool
		deciding string // RuleID; "" for none
	}{
		{"no votes deny by default under deny-overrides", privilege.DenyOverrides, nil, false, ""},
		{"no votes deny by default under permit-overrides", privilege.PermitOverrides, nil, false, ""},
		{"no votes deny by default under first-applicable", privilege.FirstApplicable, nil, false, ""},
		{"deny-overrides: a deny beats a permit of lower priority", privilege.DenyOverrides, []privilege.Vote{permit("p", 1), deny("d", 9)}, false, "d"},
		{"deny-overrides: permits alone allow, the lowest priority decides", privilege.DenyOverrides, []privilege.Vote{permit("p2", 5), permit("p1", 2)}, true, "p1"},
		{"deny-overrides: the lowest-priority deny decides", privilege.DenyOverrides, []privilege.Vote{deny("d2", 7), permit("p", 1), deny("d1", 3)}, false, "d1"},
		{"deny-overrides: ties go to the first vote", privilege.DenyOverrides, []privilege.Vote{deny("a", 3), deny("b", 3)}, false, "a"},
		{"permit-overrides: a permit beats a deny of lower priority", privilege.PermitOverrides, []privilege.Vote{deny("d", 1), permit("p", 9)}, true, "p"},
		{"permit-overrides: denies alone deny", privilege.PermitOverrides, []privilege.Vote{deny("d2", 4), deny("d1", 2)}, false, "d1"},
		{"first-applicable: the lowest priority wins, a permit", privilege.FirstApplicable, []privilege.Vote{deny("d", 5), permit("p", 4)}, true, "p"},
		{"first-applicable: the lowest priority wins, a deny", privilege.FirstApplicable, []privilege.Vote{permit("p", 5), deny("d", 4)}, false, "d"},
		{"first-applicable: deny first on a tie", privilege.FirstApplicable, []privilege.Vote{permit("p", 4), deny("d", 4)}, false, "d"},
		{"a permit in error never grants", privilege.PermitOverrides, []privilege.Vote{withErr(permit("p", 1))}, false, ""},
		{"a permit in error does not beat a deny under first-applicable", privilege.FirstApplicable, []privilege.Vote{withErr(permit("p", 1)), deny("d", 5)}, false, "d"},
		{"a deny in error counts (fail safe)", privilege.PermitOverrides, []privilege.Vote{withErr(deny("d", 1))}, false, "d"},
		{"an empty algorithm means deny-overrides", "", []privilege.Vote{permit("p", 1), deny("d", 9)}, false, "d"},
		{"an unknown algorithm means deny-overrides", "majority", []privilege.Vote{permit("p", 1), deny("d", 9)}, false, "d"},
		{"an unknown effect counts as deny", privilege.PermitOverrides, []privilege.Vote{{Effect: "maybe", RuleID: "x"}}, false, "x"},
		{"RBAC and ABAC votes combine alike", privilege.DenyOverrides, []privilege.Vote{{Effect: privilege.Permit, Source: "rbac", Permission: "orders/*:read"}, deny("d", 0)}, false, "d"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			allowed, deciding := privilege.Combine(c.alg, c.votes)
			got := ""
			if deciding != nil {
				got = deciding.RuleID
			}
			if allowed != c.allowed || got != c.deciding {
				t.Fatalf("got allowed=%v deciding=%q, want %v %q", allowed, got, c.allowed, c.deciding)
			}
			if deciding != nil && (deciding.Effect == privilege.Permit) != allowed {
				t.Fatalf("deciding vote %+v disagrees with allowed=%v", deciding, allowed)
			}
		})
	}
}
