package privilege

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/greyrouter/greyrouter/internal/apperr"
)

// Draft replaces parts of a tenant's policy set for simulation, so that an
// administrator can see what a change would do before publishing it. Each
// field that is set replaces that kind wholesale: nil keeps the current
// records, an empty non-nil slice removes them all. Roles and Assignments
// are the tenant's own; the platform's stay as they are.
type Draft struct {
	Roles       *[]Role       `json:"roles,omitempty"`
	Assignments *[]Assignment `json:"assignments,omitempty"`
	Policies    *[]Policy     `json:"policies,omitempty"`
	Settings    *Settings     `json:"settings,omitempty"`
}

// Apply returns s with the draft's parts replacing the tenant's. Records
// with an empty Tenant get s's; a record of another tenant (or a platform
// role, or policies and settings for the platform, which has neither) is
// an Unprocessable error naming it, so a draft cannot reach outside its
// tenant. The versions are s's: the draft is of that version. Every list
// is sorted as Snapshot documents; s and the draft are not modified.
//
// Apply checks only where records belong; their content is checked by
// CompileSnapshot (see Compile).
func (d Draft) Apply(s Snapshot) (Snapshot, error) {
	p := map[string]string{}
	out := s
	if d.Roles != nil {
		roles := platformOnly(s.Roles, s.Tenant, func(r Role) string { return r.Tenant })
		for i, r := range *d.Roles {
			key := fmt.Sprintf("roles[%d]", i)
			if r.Tenant == "" {
				r.Tenant = s.Tenant
			}
			switch {
			case r.Tenant != s.Tenant:
				p[key+".tenant"] = draftElsewhere("role", r.Name, r.Tenant, s.Tenant)
			case r.Platform && s.Tenant != "":
				p[key+".platform"] = fmt.Sprintf("role %q must not be a platform role: a draft of tenant %q replaces its own roles only", r.Name, s.Tenant)
			}
			roles = append(roles, r)
		}
		slices.SortStableFunc(roles, func(a, b Role) int {
			return cmp.Or(cmp.Compare(a.Tenant, b.Tenant), cmp.Compare(a.Name, b.Name))
		})
		out.Roles = roles
	}
	if d.Assignments != nil {
		as := platformOnly(s.Assignments, s.Tenant, func(a Assignment) string { return a.Tenant })
		for i, a := range *d.Assignments {
			if a.Tenant == "" {
				a.Tenant = s.Tenant
			}
			if a.Tenant != s.Tenant {
				p[fmt.Sprintf("assignments[%d].tenant", i)] = draftElsewhere("assignment", AssignmentKey(a.Subject, a.Role), a.Tenant, s.Tenant)
			}
			as = append(as, a)
		}
		slices.SortStableFunc(as, func(a, b Assignment) int {
			return cmp.Or(cmp.Compare(a.Tenant, b.Tenant), cmp.Compare(a.Subject, b.Subject), cmp.Compare(a.Role, b.Role))
		})
		out.Assignments = as
	}
	if d.Policies != nil {
		var ps []Policy
		if s.Tenant == "" && len(*d.Policies) > 0 {
			p["policies"] = "must be empty: the platform has no policies"
		}
		for i, pol := range *d.Policies {
			if pol.Tenant == "" {
				pol.Tenant = s.Tenant
			}
			if pol.Tenant != s.Tenant {
				p[fmt.Sprintf("policies[%d].tenant", i)] = draftElsewhere("policy", pol.ID, pol.Tenant, s.Tenant)
			}
			ps = append(ps, pol)
		}
		slices.SortStableFunc(ps, func(a, b Policy) int { return cmp.Compare(a.ID, b.ID) })
		out.Policies = ps
	}
	if d.Settings != nil {
		st := *d.Settings
		if st.Tenant == "" {
			st.Tenant = s.Tenant
		}
		if st.Algorithm == "" {
			st.Algorithm = DenyOverrides
		}
		switch {
		case s.Tenant == "":
			p["settings"] = "must be unset: the platform has no settings"
		case st.Tenant != s.Tenant:
			p["settings.tenant"] = draftElsewhere("settings", "settings", st.Tenant, s.Tenant)
		default:
			for k, v := range apperr.DetailsOf(st.Validate()) {
				p["settings."+k] = v
			}
		}
		out.Settings = st
	}
	if err := apperr.Fields("invalid draft", p); err != nil {
		return Snapshot{}, err
	}
	return out, nil
}

// Compile applies the draft to current and compiles the result with
// CompileSnapshot, whose Unprocessable error names every offending rule,
// role or assignment.
func (d Draft) Compile(current Snapshot) (*Engine, error) {
	s, err := d.Apply(current)
	if err != nil {
		return nil, err
	}
	return CompileSnapshot(s)
}

// platformOnly returns a new slice holding the records of list that are
// the platform's while tenant's are being replaced (none when tenant is the
// platform itself).
func platformOnly[T any](list []T, tenant string, tenantOf func(T) string) []T {
	var out []T
	if tenant == "" {
		return nil
	}
	for _, r := range list {
		if tenantOf(r) == "" {
			out = append(out, r)
		}
	}
	return out
}

func draftElsewhere(kind, name, got, tenant string) string {
	return fmt.Sprintf("%s %q is tenant %q's, but the draft is of tenant %q", kind, name, got, tenant)
}

// SimRequest is the JSON view of a Request in a simulation. It has no
// tenant: a simulation asks every request of the tenant whose policy set
// it drafts.
type SimRequest struct {
	Subject            string         `json:"subject"`
	SubjectAttributes  map[string]any `json:"subject_attributes,omitempty"`
	Action             string         `json:"action"`
	Resource           string         `json:"resource"`
	ResourceAttributes map[string]any `json:"resource_attributes,omitempty"`
	Env                map[string]any `json:"env,omitempty"`
}

// SimRequestOf returns r's JSON view (its tenant dropped).
func SimRequestOf(r Request) SimRequest {
	return SimRequest{Subject: r.Subject.ID, SubjectAttributes: r.Subject.Attributes, Action: r.Action,
		Resource: r.Resource.Name, ResourceAttributes: r.Resource.Attributes, Env: r.Env}
}

// Request returns the request r stands for in tenant.
func (r SimRequest) Request(tenant string) Request {
	return Request{Tenant: tenant, Subject: Subject{ID: r.Subject, Attributes: r.SubjectAttributes},
		Action: r.Action, Resource: Resource{Name: r.Resource, Attributes: r.ResourceAttributes}, Env: r.Env}
}

// SimResult compares one request's decision now and under the draft.
type SimResult struct {
	Request SimRequest `json:"request"`
	Current Decision   `json:"current"`
	Draft   Decision   `json:"draft"`
	// Changed is set when Allowed differs; a different reason alone (the
	// same answer for another rule) is not a change.
	Changed bool `json:"changed"`
}

// SimReport is what a draft would change for a set of requests, result
// by result in the order asked, with counts.
type SimReport struct {
	Results      []SimResult `json:"results"`
	Checked      int         `json:"checked"`
	Changed      int         `json:"changed"`
	NewlyAllowed int         `json:"newly_allowed"`
	NewlyDenied  int         `json:"newly_denied"`
}

// Simulate evaluates every request under both engines at now, with
// explanations, and reports what would change. Both engines must be of
// the same tenant (compile the draft with Draft.Compile); each denies a
// request of another tenant, so such a request never changes.
func Simulate(current, draft *Engine, reqs []Request, now time.Time) SimReport {
	rep := SimReport{Results: make([]SimResult, 0, len(reqs)), Checked: len(reqs)}
	for _, req := range reqs {
		res := SimResult{
			Request: SimRequestOf(req),
			Current: current.Check(req, now, true),
			Draft:   draft.Check(req, now, true),
		}
		res.Changed = res.Current.Allowed != res.Draft.Allowed
		if res.Changed {
			rep.Changed++
			if res.Draft.Allowed {
				rep.NewlyAllowed++
			} else {
				rep.NewlyDenied++
			}
		}
		rep.Results = append(rep.Results, res)
	}
	return rep
}
