package login

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/internal/apperr"
)

// validUser returns a tenant user that passes Validate.
func validUser() User {
	return User{
		ID: "0123456789abcdef0123456789abcdef", Tenant: "acme", Username: "alice",
		DisplayName: "Alice Smith", Email: "alice@example.com", Status: UserActive,
	}
}

func TestNormalizeUsername(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"a normalized name is unchanged", "alice", "alice"},
		{"upper case is lowered", "Alice.SMITH", "alice.smith"},
		{"surrounding spaces are trimmed", " \talice@example.com\n", "alice@example.com"},
		{"inner spaces are kept, so that validation rejects them", "al ice", "al ice"},
		{"an empty name stays empty", "  ", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := NormalizeUsername(c.in); got != c.want {
				t.Errorf("NormalizeUsername(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

func TestUserValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(u *User)
		fields []string // the fields with problems; none when valid
	}{
		{"a tenant user is valid", func(u *User) {}, nil},
		{"a platform administrator without a tenant is valid", func(u *User) { u.Platform, u.Tenant = true, "" }, nil},
		{"a user without email or display name is valid", func(u *User) { u.Email, u.DisplayName = "", "" }, nil},
		{"a disabled user is valid", func(u *User) { u.Status = UserDisabled }, nil},
		{"a locked user is valid", func(u *User) { u.Status = UserLocked }, nil},
		{"a username of every allowed character is valid", func(u *User) { u.Username = "a.b_c-d@e9" }, nil},
		{"a username of the maximum length is valid", func(u *User) { u.Username = strings.Repeat("a", MaxUsernameLen) }, nil},
		{"a display name of the maximum length is valid", func(u *User) { u.DisplayName = strings.Repeat("é", MaxDisplayNameLen/2) }, nil},
		{"an email of the maximum length is valid", func(u *User) { u.Email = "a@" + strings.Repeat("b", MaxEmailLen-2) }, nil},
		{"a missing id is rejected", func(u *User) { u.ID = "" }, []string{"id"}},
		{"an id with upper case is rejected", func(u *User) { u.ID = "ABC" }, []string{"id"}},
		{"a tenant user without a tenant is rejected", func(u *User) { u.Tenant = "" }, []string{"tenant"}},
		{"an invalid tenant name is rejected", func(u *User) { u.Tenant = "Acme Inc" }, []string{"tenant"}},
		{"a platform administrator with a tenant is rejected", func(u *User) { u.Platform = true }, []string{"tenant"}},
		{"an empty username is rejected", func(u *User) { u.Username = "" }, []string{"username"}},
		{"a username over the maximum length is rejected", func(u *User) { u.Username = strings.Repeat("a", MaxUsernameLen+1) }, []string{"username"}},
		{"an upper-case username is rejected, since it was not normalized", func(u *User) { u.Username = "Alice" }, []string{"username"}},
		{"a username with spaces is rejected", func(u *User) { u.Username = "al ice" }, []string{"username"}},
		{"a username with a colon is rejected", func(u *User) { u.Username = "acme:alice" }, []string{"username"}},
		{"a non-ASCII username is rejected", func(u *User) { u.Username = "zoë" }, []string{"username"}},
		{"an email without '@' is rejected", func(u *User) { u.Email = "alice.example.com" }, []string{"email"}},
		{"an email with two '@' is rejected", func(u *User) { u.Email = "alice@x@example.com" }, []string{"email"}},
		{"an email without a local part is rejected", func(u *User) { u.Email = "@example.com" }, []string{"email"}},
		{"an email without a domain is rejected", func(u *User) { u.Email = "alice@" }, []string{"email"}},
		{"an email with a space is rejected", func(u *User) { u.Email = "alice smith@example.com" }, []string{"email"}},
		{"an email over the maximum length is rejected", func(u *User) { u.Email = "a@" + strings.Repeat("b", MaxEmailLen-1) }, []string{"email"}},
		{"a display name over the maximum length is rejected", func(u *User) { u.DisplayName = strings.Repeat("x", MaxDisplayNameLen+1) }, []string{"display_name"}},
		{"a display name of invalid UTF-8 is rejected", func(u *User) { u.DisplayName = "Al\xffice" }, []string{"display_name"}},
		{"a missing status is rejected", func(u *User) { u.Status = "" }, []string{"status"}},
		{"an unknown status is rejected", func(u *User) { u.Status = "banned" }, []string{"status"}},
		{"a negative generation is rejected", func(u *User) { u.Generation = -1 }, []string{"generation"}},
		{"every problem is reported at once", func(u *User) { u.Username, u.Email, u.Status = "", "x", "" }, []string{"username", "email", "status"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := validUser()
			tt.change(&u)
			err := u.Validate()
			if len(tt.fields) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if !apperr.Is(err, apperr.Unprocessable) {
				t.Fatalf("Validate() = %v (code %s), want an unprocessable error", err, apperr.CodeOf(err))
			}
			details := apperr.DetailsOf(err)
			if len(details) != len(tt.fields) {
				t.Errorf("problems %v, want exactly the fields %v", details, tt.fields)
			}
			for _, f := range tt.fields {
				if details[f] == "" {
					t.Errorf("no problem reported for %s in %v", f, details)
				}
			}
		})
	}
}

func TestNewUserID(t *testing.T) {
	hex32 := regexp.MustCompile(`^[0-9a-f]{32}$`)
	seen := map[string]bool{}
	for range 100 {
		id := NewUserID()
		if !hex32.MatchString(id) {
			t.Fatalf("NewUserID() = %q, want 32 lower-case hex digits", id)
		}
		if seen[id] {
			t.Fatalf("NewUserID() repeated %q", id)
		}
		seen[id] = true
		u := validUser()
		u.ID = id
		if err := u.Validate(); err != nil {
			t.Fatalf("a user with id %q is invalid: %v", id, err)
		}
	}
}

func TestUserJSONNeverCarriesThePasswordHash(t *testing.T) {
	u := validUser()
	u.PasswordHash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$a2V5"
	u.CreatedAt = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	b, err := json.Marshal(u)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if strings.Contains(s, "argon2id") || strings.Contains(s, "password_hash") {
		t.Errorf("JSON %s carries the password hash", s)
	}
	for _, absent := range []string{"last_login_at", "password_changed_at"} {
		if strings.Contains(s, absent) {
			t.Errorf("JSON %s carries the zero %s", s, absent)
		}
	}
}
