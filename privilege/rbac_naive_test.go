package privilege

import (
	"regexp"
	"slices"
	"strings"
	"time"
)

// rbacNaive is the reference the property tests hold the compiled RBAC
// to: a straightforward reading of the rules over the raw roles, with a
// recursive walk of Inherits and patterns read as regular expressions.
type rbacNaive struct {
	roles       map[string]Role
	assignments []Assignment
	paths       map[string]map[string][]string // memo: role -> owner role -> path
	res         map[string]*regexp.Regexp
}

func newRBACNaive(roles []Role, assignments []Assignment) *rbacNaive {
	n := &rbacNaive{roles: map[string]Role{}, assignments: assignments,
		paths: map[string]map[string][]string{}, res: map[string]*regexp.Regexp{}}
	for _, r := range roles {
		n.roles[r.Name] = r
	}
	return n
}

// reach returns, for every role a reaches, the path to it: the shortest,
// and among those the one through the earliest-declared parent.
func (n *rbacNaive) reach(a string) map[string][]string {
	if m, ok := n.paths[a]; ok {
		return m
	}
	m := map[string][]string{a: {a}}
	for _, parent := range n.roles[a].Inherits {
		for owner, path := range n.reach(parent) {
			if old, ok := m[owner]; !ok || len(path)+1 < len(old) {
				m[owner] = append([]string{a}, path...)
			}
		}
	}
	n.paths[a] = m
	return m
}

// grants returns the subject's live roles with their expiries, repeats
// merged into the longest-lived.
func (n *rbacNaive) grants(subject string, now time.Time) map[string]time.Time {
	until := map[string]time.Time{}
	for _, a := range n.assignments {
		if a.Subject != subject {
			continue
		}
		old, seen := until[a.Role]
		switch {
		case !seen:
			until[a.Role] = a.ExpiresAt
		case old.IsZero() || a.ExpiresAt.IsZero():
			until[a.Role] = time.Time{}
		case a.ExpiresAt.After(old):
			until[a.Role] = a.ExpiresAt
		}
	}
	for role, u := range until {
		if !u.IsZero() && !now.Before(u) {
			delete(until, role)
		}
	}
	return until
}

func (n *rbacNaive) effective(subject string, now time.Time) []EffectivePermission {
	var out []EffectivePermission
	for role, until := range n.grants(subject, now) {
		for owner, path := range n.reach(role) {
			for _, p := range n.roles[owner].Permissions {
				out = append(out, EffectivePermission{Resource: p.Resource, Action: p.Action, Effect: rbacEffect(p.Effect), RolePath: path, Until: until})
			}
		}
	}
	return out
}

func (n *rbacNaive) votes(subject, resource, action string, now time.Time) []Vote {
	var out []Vote
	for _, p := range n.effective(subject, now) {
		if n.matchResource(p.Resource, resource) && rbacNaiveMatchAction(p.Action, action) {
			out = append(out, Vote{Effect: p.Effect, Source: "rbac", RolePath: p.RolePath, Permission: p.Resource + ":" + p.Action, Until: p.Until})
		}
	}
	return out
}

// matchResource reads the pattern rules as a regular expression.
func (n *rbacNaive) matchResource(pattern, resource string) bool {
	segs := strings.Split(resource, "/")
	if slices.Contains(segs, "") || slices.Contains(segs, "*") {
		return false
	}
	re, ok := n.res[pattern]
	if !ok {
		parts := strings.Split(pattern, "/")
		var b strings.Builder
		b.WriteString("^")
		for i, s := range parts {
			if i > 0 {
				b.WriteString("/")
			}
			switch {
			case s == "*" && i == len(parts)-1:
				b.WriteString(`[^/]+(/[^/]+)*`)
			case s == "*":
				b.WriteString(`[^/]+`)
			default:
				b.WriteString(regexp.QuoteMeta(s))
			}
		}
		b.WriteString("$")
		re = regexp.MustCompile(b.String())
		n.res[pattern] = re
	}
	return re.MatchString(resource)
}

func rbacNaiveMatchAction(pattern, action string) bool {
	return action != "" && action != "*" && (pattern == "*" || pattern == action)
}
