package privilege

// Combine decides from RBAC and ABAC votes together. With no vote that
// counts, the answer is deny and deciding is nil (default deny).
//
//   - deny-overrides (also for "" and any unknown algorithm, the safe
//     choice): any deny wins, else any permit;
//   - permit-overrides: any permit wins, else any deny;
//   - first-applicable: the vote with the lowest Priority wins, deny before
//     permit on ties.
//
// Among the votes of the winning effect, deciding is the one with the
// lowest Priority (the first in the slice on ties), so explanations name
// the most specific rule. A permit vote with Error set does not count (a
// permit rule in error never grants); a deny vote with Error counts (fail
// safe). Any effect other than Permit counts as Deny. deciding points into
// votes.
func Combine(alg Algorithm, votes []Vote) (allowed bool, deciding *Vote) {
	var firstDeny, firstPermit *Vote
	for i := range votes {
		v := &votes[i]
		switch {
		case v.Effect == Permit && v.Error != "":
			continue
		case v.Effect == Permit:
			if firstPermit == nil || v.Priority < firstPermit.Priority {
				firstPermit = v
			}
		default:
			if firstDeny == nil || v.Priority < firstDeny.Priority {
				firstDeny = v
			}
		}
	}
	switch {
	case firstDeny == nil && firstPermit == nil:
		return false, nil
	case firstDeny == nil:
		return true, firstPermit
	case firstPermit == nil:
		return false, firstDeny
	}
	switch alg {
	case PermitOverrides:
		return true, firstPermit
	case FirstApplicable:
		if firstPermit.Priority < firstDeny.Priority {
			return true, firstPermit
		}
		return false, firstDeny
	}
	return false, firstDeny
}
