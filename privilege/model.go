package privilege

import "time"

// Request is one authorization question: may Subject do Action on Resource
// in Tenant, given the environment?
type Request struct {
	Tenant   string
	Subject  Subject
	Action   string // e.g. "read", "orders.refund"
	Resource Resource
	// Env holds env.* attributes; the engine adds env.time (the check's
	// time) when absent.
	Env map[string]any
}

// Subject is who asks: a user or client id, plus attributes (department,
// clearance, ip, ...) supplied by the caller or the principal.
type Subject struct {
	ID         string
	Attributes map[string]any
}

// Resource is what is acted on. Name is a slash-separated path such as
// "orders/1234" or "orders"; permission patterns match it ("orders/*",
// "*"). Attributes are resource.* (owner, amount, region, ...).
type Resource struct {
	Name       string
	Attributes map[string]any
}

// Effect is what a permission or rule says when it applies.
type Effect string

// Effects.
const (
	Permit Effect = "permit"
	Deny   Effect = "deny"
)

// Vote is one applicable permission or policy rule, with where it came
// from, for combining and for explaining the decision.
type Vote struct {
	Effect Effect `json:"effect"`
	// Priority orders votes for first-applicable combining (lower first).
	Priority int `json:"priority"`
	// Source is "rbac" or "abac".
	Source string `json:"source"`
	// RolePath is the chain from the assigned role to the role holding
	// the permission (RBAC), e.g. ["support-lead", "support", "reader"].
	RolePath   []string `json:"role_path,omitempty"`
	Permission string   `json:"permission,omitempty"` // "resource:action", RBAC
	PolicyID   string   `json:"policy_id,omitempty"`  // ABAC
	RuleID     string   `json:"rule_id,omitempty"`    // ABAC
	// Error is set when a rule's condition could not be evaluated; a deny
	// rule in error counts as matching (fail safe), a permit rule as not.
	Error string `json:"error,omitempty"`
	// Until is when this vote may stop holding (an assignment's expiry);
	// zero when it does not expire. Caches must not keep the decision
	// past the earliest Until of the votes it rests on.
	Until time.Time `json:"until,omitzero"`
}

// Algorithm combines votes into a decision.
type Algorithm string

// Combining algorithms; default deny whenever no vote applies.
const (
	DenyOverrides   Algorithm = "deny-overrides"   // any deny wins; else any permit; the default
	PermitOverrides Algorithm = "permit-overrides" // any permit wins; else any deny
	FirstApplicable Algorithm = "first-applicable" // the vote with the lowest priority wins (ties: deny first)
)
