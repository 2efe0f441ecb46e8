package privilege

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// abacRuleInfo is what the conflict check needs to know about a rule that
// passed its own checks.
type abacRuleInfo struct {
	key       string
	policy    *abacPolicy
	segs      abacSegments // of the policy's resource patterns
	effect    Effect
	priority  int    // the vote's priority
	condition string // canonical JSON; "" when the rule has none
}

// abacSegments are the first resource segments a target can match; wild
// when a pattern is "*". Targets can only overlap when they share a
// segment or one is wild, which keeps the conflict check near linear.
type abacSegments struct {
	wild bool
	segs []string
}

func newABACSegments(resources []abacPattern) abacSegments {
	var s abacSegments
	for _, r := range resources {
		if r.all {
			return abacSegments{wild: true}
		}
		if seg := r.segment(); !slices.Contains(s.segs, seg) {
			s.segs = append(s.segs, seg)
		}
	}
	return s
}

// checkConflicts reports permit/deny pairs with the same vote priority and
// overlapping targets that conditions cannot tell apart: either has no
// condition, or both have the same one. Both rules of a pair are named.
func checkConflicts(problems abacProblems, infos []abacRuleInfo) {
	byPriority := map[int][]int{}
	for i, in := range infos {
		byPriority[in.priority] = append(byPriority[in.priority], i)
	}
	with := map[int][]int{} // info index -> the infos it conflicts with
	seen := make([]int, len(infos))
	for _, prio := range slices.Sorted(maps.Keys(byPriority)) {
		group := byPriority[prio]
		var permits, wild []int
		bySeg := map[string][]int{}
		for _, i := range group {
			if infos[i].effect != Permit {
				continue
			}
			permits = append(permits, i)
			if infos[i].segs.wild {
				wild = append(wild, i)
			}
			for _, seg := range infos[i].segs.segs {
				bySeg[seg] = append(bySeg[seg], i)
			}
		}
		for _, d := range group {
			dr := &infos[d]
			if dr.effect != Deny {
				continue
			}
			visit := func(p int) {
				pr := &infos[p]
				if seen[p] == d+1 {
					return
				}
				seen[p] = d + 1
				if dr.condition != "" && pr.condition != "" && dr.condition != pr.condition {
					return
				}
				if !abacOverlap(dr.policy.resources, pr.policy.resources) || !abacOverlap(dr.policy.actions, pr.policy.actions) {
					return
				}
				with[d] = append(with[d], p)
				with[p] = append(with[p], d)
			}
			if dr.segs.wild {
				for _, p := range permits {
					visit(p)
				}
				continue
			}
			for _, p := range wild {
				visit(p)
			}
			for _, seg := range dr.segs.segs {
				for _, p := range bySeg[seg] {
					visit(p)
				}
			}
		}
	}
	for _, i := range slices.Sorted(maps.Keys(with)) {
		others := with[i]
		slices.Sort(others)
		names := make([]string, 0, 3)
		for _, o := range others[:min(len(others), 3)] {
			names = append(names, infos[o].key)
		}
		more := ""
		if len(others) > 3 {
			more = fmt.Sprintf(" and %d more", len(others)-3)
		}
		problems.add(infos[i].key, "conflicts with %s%s: same priority %d, opposite effect, overlapping target, and no condition tells them apart; give them different priorities",
			strings.Join(names, ", "), more, infos[i].priority)
	}
}
