package privilege

import (
	"fmt"
	"strings"
	"time"

	"github.com/greyrouter/greyrouter/internal/apperr"
)

// Decision is the answer to a Request, with its reason.
type Decision struct {
	// ID names the decision in the decision audit when it was audited
	// (every deny and fail-open, a sample of the allowed); empty otherwise.
	ID      string `json:"decision_id,omitempty"`
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
	// PlatformVersion is the platform roles' version the answer reflects.
	PlatformVersion int64 `json:"platform_version"`
	// ValidUntil is when the answer may stop holding because a role
	// assignment it rests on expires; zero when none does.
	ValidUntil time.Time `json:"valid_until,omitzero"`
	// Conditional is set when an ABAC condition was evaluated: the answer
	// depends on attributes or the time and is never cached.
	Conditional bool `json:"conditional,omitempty"`
}

// Engine answers checks for one tenant at one policy version from
// compiled RBAC and ABAC indexes. It is immutable: a policy change
// compiles a new Engine.
type Engine struct {
	Tenant          string
	Version         int64
	PlatformVersion int64
	Algorithm       Algorithm
	RBAC            *RBAC
	ABAC            *ABAC
	// Settings are the tenant's settings the engine was compiled with
	// (fail-open, audit sampling); Algorithm is Settings.Algorithm.
	Settings Settings
}

// CompileSnapshot compiles a tenant's policy set: its roles and
// assignments (with the platform's), and its policies against the
// attribute schema of its settings. Problems are reported as by
// CompileRBAC and CompilePolicies, all at once, in one Unprocessable
// error.
func CompileSnapshot(s Snapshot) (*Engine, error) {
	settings := s.Settings
	if settings.Tenant == "" {
		settings = DefaultSettings(s.Tenant)
	}
	alg := settings.Algorithm
	if alg == "" {
		alg = DenyOverrides
	}
	rbac, rerr := CompileRBAC(s.Tenant, s.Roles, s.Assignments)
	var abac *ABAC
	var aerr error
	if len(s.Policies) > 0 {
		schema, err := settings.AttributeSchema()
		if err != nil {
			aerr = err
		} else {
			abac, aerr = CompilePolicies(s.Tenant, schema, alg, s.Policies)
		}
	}
	if err := joinProblems(rerr, aerr); err != nil {
		return nil, err
	}
	return &Engine{Tenant: s.Tenant, Version: s.Version, PlatformVersion: s.PlatformVersion,
		Algorithm: alg, RBAC: rbac, ABAC: abac, Settings: settings}, nil
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
		votes = e.RBAC.Votes(req.Subject.ID, req.Resource.Name, req.Action, now)
	}
	conditional := false
	if e.ABAC != nil {
		var roles func() []string
		if e.RBAC != nil {
			roles = func() []string { return e.RBAC.RolesOf(req.Subject.ID, now) }
		}
		res := e.ABAC.evaluate(req, now, roles)
		votes = append(votes, res.Votes...)
		conditional = res.Conditional
	}
	allowed, deciding := Combine(e.Algorithm, votes)
	d := Decision{Allowed: allowed, Tier: "engine", PolicyVersion: e.Version, PlatformVersion: e.PlatformVersion, Conditional: conditional}
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

// joinProblems merges the Unprocessable errors of compiling roles and
// policies into one, so a publish names every offending rule at once.
func joinProblems(errs ...error) error {
	var first error
	msgs := []string{}
	details := map[string]string{}
	for _, err := range errs {
		if err == nil {
			continue
		}
		if !apperr.Is(err, apperr.Unprocessable) {
			return err
		}
		if first == nil {
			first = err
		}
		msgs = append(msgs, apperr.MessageOf(err))
		for k, v := range apperr.DetailsOf(err) {
			details[k] = v
		}
	}
	if len(msgs) <= 1 {
		return first
	}
	return apperr.Fields(strings.Join(msgs, "; "), details)
}
