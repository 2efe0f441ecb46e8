package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/topdown/cache"

	"github.com/greyrouter/greyrouter/privilege"
)

// opaPolicy is greyrouter's RBAC in Rego, kept straightforward: the
// subject's live assignments, the roles they reach (opaRolesReachable or
// opaRolesClosure), the permissions of every reached role whose action is
// "*" or the requested one and whose glob matches the resource, then deny
// overrides permit, default deny.
const opaPolicy = `package rbac

default allow := false

allow if {
	permit
	not deny
}

permit if {
	some p in matching
	p.effect == "permit"
}

deny if {
	some p in matching
	p.effect == "deny"
}

matching contains p if {
	some role in roles
	some p in data.rbac.permissions[role]
	action_matches(p.action)
	glob.match(p.glob, ["/"], input.resource)
}

action_matches("*")

action_matches(a) if a == input.action

assigned contains a.role if {
	some a in data.rbac.assignments[input.subject]
	live(a)
}

live(a) if a.expires == 0

live(a) if a.expires > input.now
`

// opaRolesReachable computes the closure on every query with
// graph.reachable over data.rbac.inherits: the "opa" engine.
const opaRolesReachable = `
roles := graph.reachable(data.rbac.inherits, assigned)
`

// opaRolesClosure reads each assigned role's closure from
// data.rbac.closure, precomputed in Go when the data is loaded (as
// greyrouter precomputes it when compiling): the "opa-closure" engine.
// Precomputing favours OPA.
const opaRolesClosure = `
roles contains r if {
	some a in assigned
	some r in data.rbac.closure[a]
}
`

// opaGlob turns a greyrouter resource pattern into a glob over "/"
// delimiters: a "*" that is not last matches within one segment, as in
// greyrouter; a last "*" becomes "**", which crosses delimiters, so
// "orders/**" matches "orders/1" and "orders/1/items" but not "orders",
// and a lone "*" matches everything. ("*" and "**" would also match empty
// segments, which greyrouter rejects as malformed; the workloads have
// none. The generated names hold no glob metacharacters.)
func opaGlob(pattern string) string {
	if strings.HasSuffix(pattern, "*") && (len(pattern) == 1 || strings.HasSuffix(pattern, "/*")) {
		return pattern + "*"
	}
	return pattern
}

// opaEngine is a prepared query for data.rbac.allow over an in-memory
// store holding the workload.
type opaEngine struct {
	pq     rego.PreparedEvalQuery
	checks []check
	multi  bool // the input names the check's tenant
	now    *ast.Term
	cache  cache.InterQueryValueCache
}

// opaData is the workload as OPA data: data.rbac holds one tenant's
// inherits, permissions, assignments (and closure), or, for a multi-tenant
// workload, data.rbac.tenants[tenant] holds them per tenant, each with the
// platform's roles and platform-wide assignments (what greyrouter compiles
// per tenant).
func opaData(w *workload, closure bool) map[string]any {
	if len(w.Tenants) == 0 {
		return map[string]any{"rbac": opaTenantData(w.Roles, w.Assignments, closure)}
	}
	tenants := make(map[string]any, len(w.Tenants))
	for _, p := range w.PerTenant() {
		tenants[p.Tenant] = opaTenantData(p.Roles, p.Assignments, closure)
	}
	return map[string]any{"rbac": map[string]any{"tenants": tenants}}
}

func opaTenantData(roles []privilege.Role, assignments []privilege.Assignment, closure bool) map[string]any {
	inherits := make(map[string]any, len(roles))
	perms := make(map[string]any, len(roles))
	for _, r := range roles {
		parents := make([]any, len(r.Inherits))
		for i, p := range r.Inherits {
			parents[i] = p
		}
		inherits[r.Name] = parents // every role is a node, even without edges
		ps := make([]any, len(r.Permissions))
		for i, p := range r.Permissions {
			effect := "permit"
			if p.Effect == privilege.Deny {
				effect = "deny"
			}
			ps[i] = map[string]any{"glob": opaGlob(p.Resource), "action": p.Action, "effect": effect}
		}
		perms[r.Name] = ps
	}
	bySubject := map[string]any{}
	for _, a := range assignments {
		expires := json.Number("0")
		if !a.ExpiresAt.IsZero() {
			expires = json.Number(strconv.FormatInt(a.ExpiresAt.UnixNano(), 10))
		}
		list, _ := bySubject[a.Subject].([]any)
		bySubject[a.Subject] = append(list, map[string]any{"role": a.Role, "expires": expires})
	}
	rbac := map[string]any{
		"inherits":    inherits,
		"permissions": perms,
		"assignments": bySubject,
	}
	if closure {
		rbac["closure"] = opaClosure(roles)
	}
	return rbac
}

// opaClosure maps every role to the roles it reaches, itself included.
func opaClosure(roles []privilege.Role) map[string]any {
	inherits := make(map[string][]string, len(roles))
	for _, r := range roles {
		inherits[r.Name] = r.Inherits
	}
	out := make(map[string]any, len(roles))
	for _, r := range roles {
		seen := map[string]bool{r.Name: true}
		queue := []string{r.Name}
		for q := 0; q < len(queue); q++ {
			for _, p := range inherits[queue[q]] {
				if !seen[p] {
					seen[p] = true
					queue = append(queue, p)
				}
			}
		}
		reach := make([]any, len(queue))
		for i, name := range queue {
			reach[i] = name
		}
		out[r.Name] = reach
	}
	return out
}

// newOPA builds the store and prepares the query. The store returns AST
// values on read (OPA's option for embedding: no conversion of the data
// on every query), and glob.match gets an inter-query value cache large
// enough for every pattern (without it OPA keeps at most 100 compiled
// globs and recompiles the others on every query). Both favour OPA.
func newOPA(w *workload, closure bool, limit time.Duration) (*opaEngine, error) {
	start := time.Now()
	ctx := context.Background()
	store := inmem.NewFromObjectWithOpts(opaData(w, closure), inmem.OptReturnASTValuesOnRead(true), inmem.OptRoundTripOnWrite(false))
	if time.Since(start) > limit {
		return nil, fmt.Errorf("%w: loading the store took %v", errSetupTooSlow, time.Since(start).Round(time.Second))
	}
	cfg, err := cache.ParseCachingConfig(nil) // unlimited
	if err != nil {
		return nil, err
	}
	vc := cache.NewInterQueryValueCache(ctx, cfg)
	module := opaPolicy + opaRolesReachable
	if closure {
		module = opaPolicy + opaRolesClosure
	}
	multi := len(w.Tenants) > 0
	if multi { // the same policy over the request's tenant's data
		module = strings.ReplaceAll(module, "data.rbac.", "data.rbac.tenants[input.tenant].")
	}
	pq, err := rego.New(
		rego.Query("data.rbac.allow"),
		rego.Module("rbac.rego", module),
		rego.Store(store),
		rego.InterQueryBuiltinValueCache(vc),
	).PrepareForEval(ctx)
	if err != nil {
		return nil, err
	}
	if time.Since(start) > limit {
		return nil, fmt.Errorf("%w: preparing took %v", errSetupTooSlow, time.Since(start).Round(time.Second))
	}
	o := &opaEngine{pq: pq, cache: vc, checks: w.Checks, multi: multi,
		now: ast.NumberTerm(json.Number(strconv.FormatInt(w.Now.UnixNano(), 10)))}
	return o, nil
}

// allow evaluates the prepared query for check i. The input is built as
// an AST value (rego.EvalParsedInput) from the request's strings, which
// spares OPA converting a Go map on every query.
func (o *opaEngine) allow(i int) (bool, error) {
	c := &o.checks[i]
	input := ast.NewObject(
		[2]*ast.Term{ast.InternedTerm("subject"), ast.StringTerm(c.Subject)},
		[2]*ast.Term{ast.InternedTerm("resource"), ast.StringTerm(c.Resource)},
		[2]*ast.Term{ast.InternedTerm("action"), ast.StringTerm(c.Action)},
		[2]*ast.Term{ast.InternedTerm("now"), o.now},
	)
	if o.multi {
		input.Insert(ast.InternedTerm("tenant"), ast.StringTerm(c.Tenant))
	}
	rs, err := o.pq.Eval(context.Background(), rego.EvalParsedInput(input), rego.EvalInterQueryBuiltinValueCache(o.cache))
	if err != nil {
		return false, err
	}
	return rs.Allowed(), nil
}
