package login

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/router"
)

// UserStatus says whether a user may log in.
type UserStatus string

// User statuses. Only active users may log in; disabled users were switched
// off by an administrator, locked users by repeated failures or policy.
const (
	UserActive   UserStatus = "active"
	UserDisabled UserStatus = "disabled"
	UserLocked   UserStatus = "locked"
)

// UserStatuses lists every valid status, in documentation order.
var UserStatuses = []UserStatus{UserActive, UserDisabled, UserLocked}

// Limits on user fields, so that a user record stays small and fits any
// column and log line it is copied into.
const (
	MaxUsernameLen    = 64
	MaxEmailLen       = 254 // RFC 5321's limit on a forward path
	MaxDisplayNameLen = 128
)

// User is a person or machine that can log in. Tenant users belong to
// exactly one tenant and are unique by username within it; platform
// administrators (Platform true) belong to no tenant (Tenant "") and are
// unique by username among themselves.
type User struct {
	ID          string     `json:"id"`
	Tenant      string     `json:"tenant,omitempty"`
	Username    string     `json:"username"`
	DisplayName string     `json:"display_name,omitempty"`
	Email       string     `json:"email,omitempty"`
	Status      UserStatus `json:"status"`
	Platform    bool       `json:"platform"`
	// Admin makes a tenant user an administrator of its tenant (users,
	// clients, bindings). Platform administrators are administrators of
	// everything and need no flag.
	Admin bool `json:"admin"`
	// PasswordHash is the PHC-encoded argon2id hash (see Hasher); empty
	// when the user has no password. It never leaves the server.
	PasswordHash      string    `json:"-"`
	PasswordChangedAt time.Time `json:"password_changed_at,omitzero"`
	// Generation is bumped whenever every credential issued to the user
	// must stop working (password change, disable, "log out everywhere");
	// tokens carry the generation they were issued under.
	Generation  int64     `json:"generation"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	LastLoginAt time.Time `json:"last_login_at,omitzero"`
}

var (
	usernameRE = regexp.MustCompile(`^[a-z0-9._@-]{1,64}$`)
	userIDRE   = regexp.MustCompile(`^[a-z0-9-]{1,64}$`)
)

// NormalizeUsername returns the stored form of a username: surrounding
// spaces removed, lower-cased. Usernames are case-insensitive, so callers
// normalize what a person typed before every lookup and before creating a
// user; stores compare usernames exactly.
func NormalizeUsername(s string) string {
	return strings.ToLower(strings.TrimSpace(s))
}

// ValidUsername reports whether s is a normalized username: 1-64 of the
// ASCII characters a-z, 0-9, '.', '_', '-' and '@'. ASCII only, so that two
// different usernames never look alike and lower-casing is unambiguous.
func ValidUsername(s string) bool { return usernameRE.MatchString(s) }

// NewUserID returns a new random user id: 128 bits from crypto/rand in
// lower-case hex, unguessable so that ids can appear in tokens and URLs.
func NewUserID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails; it crashes the program rather than return an error
	return hex.EncodeToString(b[:])
}

// Validate checks a user's fields, reporting every problem per field. The
// username must already be normalized (NormalizeUsername), and the tenant
// must be a valid tenant name (router.ValidName) for tenant users and empty
// for platform administrators.
func (u User) Validate() error {
	p := map[string]string{}
	if !userIDRE.MatchString(u.ID) {
		p["id"] = "must be 1-64 characters of a-z, 0-9 and '-'"
	}
	switch {
	case u.Platform && u.Tenant != "":
		p["tenant"] = "must be empty for a platform administrator"
	case !u.Platform && !router.ValidName(u.Tenant):
		p["tenant"] = "must name a tenant: 1-63 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit"
	}
	if !ValidUsername(u.Username) {
		p["username"] = fmt.Sprintf("must be 1-%d characters of a-z, 0-9, '.', '_', '-', '@' (usernames are case-insensitive and stored lower-case)", MaxUsernameLen)
	}
	if msg := checkEmail(u.Email); msg != "" {
		p["email"] = msg
	}
	if len(u.DisplayName) > MaxDisplayNameLen || !utf8.ValidString(u.DisplayName) {
		p["display_name"] = fmt.Sprintf("must be valid UTF-8 of at most %d bytes", MaxDisplayNameLen)
	}
	if !slices.Contains(UserStatuses, u.Status) {
		p["status"] = "must be active, disabled or locked"
	}
	if u.Generation < 0 {
		p["generation"] = "must not be negative"
	}
	return apperr.Fields("invalid user", p)
}

// checkEmail returns what is wrong with an optional email address, or "".
// It checks only the shape a typo breaks; whether the mailbox exists is
// for a confirmation mail to find out.
func checkEmail(s string) string {
	if s == "" {
		return ""
	}
	local, domain, _ := strings.Cut(s, "@")
	if len(s) > MaxEmailLen || !utf8.ValidString(s) || strings.Count(s, "@") != 1 ||
		local == "" || domain == "" || strings.ContainsFunc(s, unicode.IsSpace) || strings.ContainsFunc(s, unicode.IsControl) {
		return fmt.Sprintf("must be an address with one '@' and at most %d bytes", MaxEmailLen)
	}
	return ""
}
