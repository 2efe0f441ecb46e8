package privilege

import (
	"strconv"
	"strings"

	domain "github.com/greyrouter/greyrouter/privilege"
)

// Revision tokens are greyrouter's "pv1.<version>.<platform version>.<tenant>"
// (tenant "" for a write of the platform roles). The client reads them
// only to know which cached answers are fresh enough; greyrouter checks
// them again.

// tokenFloor returns the policy versions a token demands of a check in
// tenant: the tenant's version (a token of the tenant) and the platform
// version. Another tenant's token cannot say anything about this tenant
// and is refused, as greyrouter would.
func tokenFloor(token, tenant string) (version, platform int64, err error) {
	parts := strings.SplitN(token, ".", 4)
	bad := invalid("revision", "must be a token returned by a privilege write (pv1.<version>.<platform version>.<tenant>)")
	if len(parts) != 4 || parts[0] != "pv1" {
		return 0, 0, bad
	}
	v, err1 := strconv.ParseInt(parts[1], 10, 64)
	pv, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil || v < 0 || pv < 0 {
		return 0, 0, bad
	}
	switch parts[3] {
	case tenant:
		return v, pv, nil
	case "":
		return 0, v, nil
	}
	return 0, 0, invalid("revision", "was returned by a write to tenant "+strconv.Quote(parts[3])+", the check is in tenant "+strconv.Quote(tenant))
}

// validTenant accepts a tenant's name as greyrouter does.
func validTenant(tenant string) error {
	if tenant == "" || domain.CheckTenant(tenant) != nil {
		return invalid("tenant", "must be a tenant name")
	}
	return nil
}

// validRequest checks what greyrouter requires of a check before asking.
func validRequest(req Request) error {
	switch {
	case req.Subject.ID == "":
		return invalid("subject", "is required")
	case req.Action == "":
		return invalid("action", "is required")
	case req.Resource.Name == "":
		return invalid("resource", "is required")
	}
	return nil
}
