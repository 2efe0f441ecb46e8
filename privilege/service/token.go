package service

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/privilege"
)

// Token is a revision token: what a write returns and a check may pass to
// be answered from a policy set at least as fresh as that write. It names
// the tenant whose set was written ("" for the platform roles), the
// tenant's version after the write and the platform version the write
// saw. Tokens are not secret and not signed: a forged token can only ask
// for a version that does not exist, which fails closed.
type Token struct {
	Tenant          string
	Version         int64
	PlatformVersion int64
}

// tokenPrefix versions the token format.
const tokenPrefix = "pv1"

// String renders the token as "pv1.<version>.<platform version>.<tenant>",
// safe in JSON, headers and query strings (tenant names are
// [a-z0-9._-]).
func (t Token) String() string {
	return fmt.Sprintf("%s.%d.%d.%s", tokenPrefix, t.Version, t.PlatformVersion, t.Tenant)
}

// MarshalText renders the token for JSON.
func (t Token) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText parses a token (see ParseToken).
func (t *Token) UnmarshalText(b []byte) error {
	v, err := ParseToken(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// ParseToken parses a token rendered by Token.String; anything else is an
// apperr.Invalid error.
func ParseToken(s string) (Token, error) {
	bad := apperr.Fields("invalid revision token", map[string]string{
		"revision": "must be a token returned by a privilege write (pv1.<version>.<platform version>.<tenant>)",
	})
	parts := strings.SplitN(s, ".", 4)
	if len(parts) != 4 || parts[0] != tokenPrefix {
		return Token{}, bad
	}
	v, err1 := strconv.ParseInt(parts[1], 10, 64)
	pv, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil || v < 0 || pv < 0 || privilege.CheckTenant(parts[3]) != nil {
		return Token{}, bad
	}
	t := Token{Tenant: parts[3], Version: v, PlatformVersion: pv}
	if t.String() != s { // "01", "+1": one token, one spelling
		return Token{}, bad
	}
	return t, nil
}

// floor is what a token demands of a check in tenant: the tenant's
// version (when the token is the tenant's) and the platform version. A
// token of another tenant is refused: it cannot say anything about this
// tenant's set and is most likely a mix-up worth reporting.
func (t Token) floor(tenant string) (version, platform int64, err error) {
	switch t.Tenant {
	case tenant:
		return t.Version, t.PlatformVersion, nil
	case "":
		return 0, t.Version, nil
	}
	return 0, 0, apperr.Fields("revision token of another tenant", map[string]string{
		"revision": fmt.Sprintf("was returned by a write to tenant %q, the check is in tenant %q", t.Tenant, tenant),
	})
}
