package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/login"
)

// Store is every store interface of the login service; one database
// implements them all.
type Store interface {
	login.UserStore
	login.KeyStore
	login.ClientStore
	login.AuditStore
	login.RevocationStore
}

// Run runs the contract suite. open must return a new, empty, ready store
// for each call and release it when its test ends; subtests do not share
// stores, so they may run in any order.
func Run(t *testing.T, open func(t *testing.T) Store) {
	t.Run("users", func(t *testing.T) { testUsers(t, open) })
	t.Run("tenant isolation", func(t *testing.T) { testIsolation(t, open) })
	t.Run("updates", func(t *testing.T) { testUpdates(t, open) })
	t.Run("signing keys", func(t *testing.T) { testKeys(t, open) })
	t.Run("clients", func(t *testing.T) { testClients(t, open) })
	t.Run("audit", func(t *testing.T) { testAudit(t, open) })
	t.Run("revocations", func(t *testing.T) { testRevocations(t, open) })
}

// zone is a non-UTC zone with a half-hour offset, so that a store that
// ignores or mangles zones fails the round trips.
var zone = time.FixedZone("UTC+05:30", 5*3600+30*60)

// at returns a timestamp with nanoseconds in zone, minutes after a fixed
// instant, so that each field gets a distinct, sub-microsecond time.
func at(minutes int) time.Time {
	return time.Date(2026, 11, 22, 10, 0, 0, 123456789, zone).Add(time.Duration(minutes) * time.Minute)
}

// user returns a valid, active tenant user with every field set except
// LastLoginAt; its id is derived from tenant and username so that tests
// can predict it.
func user(tenant, username string) login.User {
	id := "u-" + username
	if tenant != "" {
		id = "u-" + tenant + "-" + username
	}
	return login.User{
		ID: id, Tenant: tenant, Username: username,
		DisplayName: "User " + username, Email: username + "@example.com",
		Status: login.UserActive, Platform: tenant == "",
		PasswordHash:      "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5",
		PasswordChangedAt: at(1), Generation: 3,
		CreatedAt: at(2), UpdatedAt: at(3),
	}
}

// create stores users, failing the test on any error.
func create(t *testing.T, s login.UserStore, users ...login.User) {
	t.Helper()
	for _, u := range users {
		if err := s.CreateUser(t.Context(), u); err != nil {
			t.Fatalf("create user %q of tenant %q: %v", u.Username, u.Tenant, err)
		}
	}
}

// wantCode fails the test unless err carries code.
func wantCode(t *testing.T, err error, code apperr.Code, what string) {
	t.Helper()
	if !apperr.Is(err, code) {
		t.Fatalf("%s: got error %v (code %s), want code %s", what, err, apperr.CodeOf(err), code)
	}
}

// must fails the test on an unexpected error.
func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// same compares a user read back with the one written, at the precision
// stores keep.
func same(t *testing.T, what string, got, want login.User) {
	t.Helper()
	g, w := norm(got), norm(want)
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

// sameList is same for lists, which must also agree in length and order.
func sameList(t *testing.T, what string, got, want []login.User) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d users %v, want %d %v", what, len(got), usernames(got), len(want), usernames(want))
	}
	for i := range got {
		same(t, what, got[i], want[i])
	}
}

func usernames(users []login.User) []string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = u.Tenant + "/" + u.Username
	}
	return out
}

// normTime is how precisely stores keep timestamps: UTC, microseconds. The
// zero time stays zero.
func normTime(ts time.Time) time.Time {
	if ts.IsZero() {
		return time.Time{}
	}
	return ts.UTC().Truncate(time.Microsecond)
}

func norm(u login.User) login.User {
	u.PasswordChangedAt = normTime(u.PasswordChangedAt)
	u.CreatedAt, u.UpdatedAt = normTime(u.CreatedAt), normTime(u.UpdatedAt)
	u.LastLoginAt = normTime(u.LastLoginAt)
	return u
}
