package privilege

import (
	"fmt"
	"time"
)

// Decision is the answer to a Request, with its reason.
type Decision struct {
	Allowed bool   `json:"allowed"`
	Reason  string `json:"reason"`
	// Deciding is the vote that decided; nil when nothing applied (default
	// deny).
	Deciding *Vote `json:"deciding,omitempty"`
	// Votes are every applicable vote, when the check asked to explain.
	Votes []Vote `json:"votes,omitempty"`
	// Tier says who answered: "engine" (evaluated now), "l1", "l2", "l3".
	Tier string `json:"tier"`
	// PolicyVersion is the tenant's policy version the answer reflects.
	PolicyVersion int64 `json:"policy_version"`
	// ValidUntil is when the answer may stop holding because a role
	// assignment it rests on expires; zero when none does.
	ValidUntil time.Time `json:"valid_until,omitzero"`
}

// Engine answers checks for one tenant at one policy version from
// compiled RBAC and ABAC indexes. It is immutable: a policy change
// compiles a new Engine.
type Engine struct {
	Tenant    string
	Version   int64
	Algorithm Algorithm
	RBAC      *RBAC
	ABAC      *ABAC
}

// Check evaluates req at now. With explain, every applicable vote is
// returned with the decision.
func (e *Engine) Check(req Request, now time.Time, explain bool) Decision {
	if req.Tenant != e.Tenant {
		return Decision{Tier: "engine", PolicyVersion: e.Version,
			Reason: fmt.Sprintf("denied: the request is for tenant %q, this policy set is tenant %q's", req.Tenant, e.Tenant)}
	}
	var votes []Vote
	if e.RBAC != nil {
		votes = append(votes, e.RBAC.Votes(req.Subject.ID, req.Resource.Name, req.Action, now)...)
	}
	if e.ABAC != nil {
		votes = append(votes, e.ABAC.Votes(req, now)...)
	}
	allowed, deciding := Combine(e.Algorithm, votes)
	d := Decision{Allowed: allowed, Tier: "engine", PolicyVersion: e.Version}
	for _, v := range votes {
		if !v.Until.IsZero() && (d.ValidUntil.IsZero() || v.Until.Before(d.ValidUntil)) {
			d.ValidUntil = v.Until
		}
	}
	if deciding != nil {
		dv := *deciding
		d.Deciding = &dv
	}
	d.Reason = reason(allowed, d.Deciding)
	if explain {
		d.Votes = votes
	}
	return d
}

// reason renders a decision's explanation for people.
func reason(allowed bool, v *Vote) string {
	if v == nil {
		return "denied by default: no role permission or policy rule applies"
	}
	verb := "denied"
	if allowed {
		verb = "allowed"
	}
	switch v.Source {
	case "rbac":
		return fmt.Sprintf("%s by permission %s of role %s (via %v)", verb, v.Permission, last(v.RolePath), v.RolePath)
	case "abac":
		s := fmt.Sprintf("%s by rule %s of policy %s", verb, v.RuleID, v.PolicyID)
		if v.Error != "" {
			s += " (condition failed to evaluate; a deny rule in error counts as matching: " + v.Error + ")"
		}
		return s
	}
	return verb
}

func last(path []string) string {
	if len(path) == 0 {
		return ""
	}
	return path[len(path)-1]
}
