package privilege

import (
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/greyrouter/greyrouter/internal/apperr"
)

// Limits on roles and assignments, so one write cannot bloat the indexes
// every check reads.
const (
	MaxRoleInherits       = 64
	MaxRolePermissions    = 1024
	MaxRoleDescriptionLen = 512
	MaxSubjectLen         = 256
)

const rbacNameRule = "must be 1-63 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit"

// ValidRoleName reports whether s may name a role (or a tenant): the
// alphabet of router.ValidName, which keeps names free of ':' and '/' so
// "resource:action" strings and cache keys stay unambiguous.
func ValidRoleName(s string) bool { return patNameOK(s) }

// Validate checks a role on its own; CompileRBAC also checks it against
// the other roles (unknown or cyclic inheritance, duplicate names).
func (r Role) Validate() error {
	p := map[string]string{}
	r.check(p, "")
	return apperr.Fields("invalid role", p)
}

// Validate checks an assignment on its own; CompileRBAC also checks that
// its role exists and may be assigned in its tenant.
func (a Assignment) Validate() error {
	p := map[string]string{}
	a.check(p, "")
	return apperr.Fields("invalid assignment", p)
}

func (r Role) check(p map[string]string, prefix string) {
	if !ValidRoleName(r.Name) {
		p[prefix+"name"] = rbacNameRule
	}
	switch {
	case r.Platform && r.Tenant != "":
		p[prefix+"tenant"] = "must be empty for a platform role"
	case !r.Platform && !ValidRoleName(r.Tenant):
		p[prefix+"tenant"] = "must be set for a tenant role and " + rbacNameRule[5:]
	}
	if len(r.Description) > MaxRoleDescriptionLen || !utf8.ValidString(r.Description) {
		p[prefix+"description"] = fmt.Sprintf("must be valid UTF-8 of at most %d bytes", MaxRoleDescriptionLen)
	}
	if len(r.Inherits) > MaxRoleInherits {
		p[prefix+"inherits"] = fmt.Sprintf("must name at most %d roles", MaxRoleInherits)
	}
	seen := make(map[string]int, len(r.Inherits))
	for i, name := range r.Inherits {
		field := fmt.Sprintf("%sinherits[%d]", prefix, i)
		if !ValidRoleName(name) {
			p[field] = rbacNameRule
		} else if j, dup := seen[name]; dup {
			p[field] = fmt.Sprintf("repeats inherits[%d] (%q)", j, name)
		}
		seen[name] = i
	}
	if len(r.Permissions) > MaxRolePermissions {
		p[prefix+"permissions"] = fmt.Sprintf("must hold at most %d permissions", MaxRolePermissions)
	}
	perms := make(map[Permission]int, len(r.Permissions))
	for i, perm := range r.Permissions {
		field := fmt.Sprintf("%spermissions[%d]", prefix, i)
		if err := ValidateResourcePattern(perm.Resource); err != nil {
			p[field+".resource"] = err.Error()
		}
		if err := ValidateActionPattern(perm.Action); err != nil {
			p[field+".action"] = err.Error()
		}
		if perm.Effect != "" && perm.Effect != Permit && perm.Effect != Deny {
			p[field+".effect"] = `must be "permit", "deny" or empty (permit)`
		}
		perm.Effect = rbacEffect(perm.Effect)
		if j, dup := perms[perm]; dup {
			p[field] = fmt.Sprintf("repeats permissions[%d]", j)
		}
		perms[perm] = i
	}
}

func (a Assignment) check(p map[string]string, prefix string) {
	if a.Tenant != "" && !ValidRoleName(a.Tenant) {
		p[prefix+"tenant"] = "must be empty (platform-wide) or a tenant name, which " + rbacNameRule
	}
	if !rbacSubjectOK(a.Subject) {
		p[prefix+"subject"] = fmt.Sprintf("must be 1-%d bytes of valid UTF-8 without control characters", MaxSubjectLen)
	}
	if !ValidRoleName(a.Role) {
		p[prefix+"role"] = rbacNameRule
	}
}

func rbacSubjectOK(s string) bool {
	if s == "" || len(s) > MaxSubjectLen || !utf8.ValidString(s) {
		return false
	}
	for _, c := range s {
		if unicode.IsControl(c) {
			return false
		}
	}
	return true
}

// rbacEffect normalizes a permission's effect: empty means permit.
func rbacEffect(e Effect) Effect {
	if e == "" {
		return Permit
	}
	return e
}
