package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/login"
)

func testUsers(t *testing.T, open func(t *testing.T) Store) {
	t.Run("a user reads back as it was created, by name and by id", func(t *testing.T) {
		s := open(t)
		want := user("acme", "alice")
		want.LastLoginAt = at(4)
		create(t, s, want)
		got, err := s.GetUser(t.Context(), "acme", "alice")
		must(t, err, "get user")
		same(t, "user by name", got, want)
		if got.LastLoginAt.Location() != time.UTC || got.CreatedAt.Location() != time.UTC {
			t.Errorf("times read back in %v and %v, want UTC", got.LastLoginAt.Location(), got.CreatedAt.Location())
		}
		got, err = s.GetUserByID(t.Context(), want.ID)
		must(t, err, "get user by id")
		same(t, "user by id", got, want)
	})
	t.Run("zero times and empty optional fields read back as zero", func(t *testing.T) {
		s := open(t)
		want := user("acme", "bob")
		want.DisplayName, want.Email, want.PasswordHash = "", "", ""
		want.PasswordChangedAt, want.LastLoginAt, want.Generation = time.Time{}, time.Time{}, 0
		want.Status = login.UserLocked
		create(t, s, want)
		got, err := s.GetUser(t.Context(), "acme", "bob")
		must(t, err, "get user")
		same(t, "user", got, want)
		if !got.LastLoginAt.IsZero() || !got.PasswordChangedAt.IsZero() {
			t.Errorf("zero times read back as %v and %v", got.LastLoginAt, got.PasswordChangedAt)
		}
	})
	t.Run("a platform administrator reads back without a tenant", func(t *testing.T) {
		s := open(t)
		want := user("", "root")
		create(t, s, want)
		got, err := s.GetUser(t.Context(), "", "root")
		must(t, err, "get platform user")
		same(t, "platform user", got, want)
		if !got.Platform || got.Tenant != "" {
			t.Errorf("platform user read back with platform %v and tenant %q", got.Platform, got.Tenant)
		}
	})
	t.Run("a tenant administrator reads back with the admin flag", func(t *testing.T) {
		s := open(t)
		admin, plain := user("acme", "alice"), user("acme", "bob")
		admin.Admin = true
		create(t, s, admin, plain)
		got, err := s.GetUser(t.Context(), "acme", "alice")
		must(t, err, "get admin")
		same(t, "admin", got, admin)
		got, err = s.GetUserByID(t.Context(), plain.ID)
		must(t, err, "get plain user")
		same(t, "plain user", got, plain)
		list, err := s.ListUsers(t.Context(), "acme", login.UserPage{})
		must(t, err, "list users")
		sameList(t, "listed users", list, []login.User{admin, plain})
	})
	t.Run("a missing user is not found by name or by id", func(t *testing.T) {
		s := open(t)
		_, err := s.GetUser(t.Context(), "acme", "nobody")
		wantCode(t, err, apperr.NotFound, "get missing user")
		_, err = s.GetUserByID(t.Context(), "u-none")
		wantCode(t, err, apperr.NotFound, "get missing user by id")
	})
	t.Run("a username taken in the same tenant conflicts", func(t *testing.T) {
		s := open(t)
		create(t, s, user("acme", "alice"))
		again := user("acme", "alice")
		again.ID = "u-other"
		err := s.CreateUser(t.Context(), again)
		wantCode(t, err, apperr.Conflict, "create duplicate user")
		if got, want := apperr.MessageOf(err), `user "alice" already exists in tenant "acme"`; got != want {
			t.Errorf("conflict message = %q, want %q", got, want)
		}
		_, err = s.GetUserByID(t.Context(), "u-other")
		wantCode(t, err, apperr.NotFound, "get the user whose creation conflicted")
	})
	t.Run("a username taken among platform administrators conflicts", func(t *testing.T) {
		s := open(t)
		create(t, s, user("", "root"))
		again := user("", "root")
		again.ID = "u-other"
		wantCode(t, s.CreateUser(t.Context(), again), apperr.Conflict, "create duplicate platform user")
	})
	t.Run("the same username in another tenant and among platform administrators is fine", func(t *testing.T) {
		s := open(t)
		create(t, s, user("acme", "alice"), user("globex", "alice"), user("", "alice"))
		for _, tenant := range []string{"acme", "globex", ""} {
			got, err := s.GetUser(t.Context(), tenant, "alice")
			must(t, err, "get alice of tenant "+tenant)
			same(t, "alice of tenant "+tenant, got, user(tenant, "alice"))
		}
	})
	t.Run("users are listed by username a page at a time", func(t *testing.T) {
		s := open(t)
		var all []login.User
		for i := 1; i <= 5; i++ {
			all = append(all, user("acme", fmt.Sprintf("u%02d", i)))
		}
		for _, i := range []int{4, 0, 3, 1, 2} { // not in username order
			create(t, s, all[i])
		}
		for _, c := range []struct {
			page login.UserPage
			want []login.User
		}{
			{login.UserPage{}, all},
			{login.UserPage{Limit: 2}, all[:2]},
			{login.UserPage{After: "u02", Limit: 2}, all[2:4]},
			{login.UserPage{After: "u04", Limit: 2}, all[4:]},
			{login.UserPage{After: "u05"}, nil},
			{login.UserPage{After: "u025"}, all[2:]}, // a key between two users
		} {
			got, err := s.ListUsers(t.Context(), "acme", c.page)
			must(t, err, "list users")
			sameList(t, fmt.Sprintf("users after %q limit %d", c.page.After, c.page.Limit), got, c.want)
		}
	})
	t.Run("a tenant without users lists none", func(t *testing.T) {
		got, err := open(t).ListUsers(t.Context(), "empty", login.UserPage{})
		must(t, err, "list users of an empty tenant")
		if got == nil || len(got) != 0 {
			t.Errorf("users of an empty tenant = %#v, want an empty, non-nil list", got)
		}
	})
	t.Run("a store answers ping", func(t *testing.T) {
		must(t, open(t).Ping(t.Context()), "ping")
	})
}

func testIsolation(t *testing.T, open func(t *testing.T) Store) {
	t.Run("a user is not found under another tenant or among platform administrators", func(t *testing.T) {
		s := open(t)
		create(t, s, user("acme", "alice"), user("", "root"))
		_, err := s.GetUser(t.Context(), "globex", "alice")
		wantCode(t, err, apperr.NotFound, "get acme's user under globex")
		_, err = s.GetUser(t.Context(), "", "alice")
		wantCode(t, err, apperr.NotFound, "get acme's user among platform users")
		_, err = s.GetUser(t.Context(), "acme", "root")
		wantCode(t, err, apperr.NotFound, "get a platform user under acme")
	})
	t.Run("not found under another tenant reads like not found anywhere", func(t *testing.T) {
		s := open(t)
		create(t, s, user("acme", "alice"))
		_, elsewhere := s.GetUser(t.Context(), "globex", "alice")
		_, nowhere := s.GetUser(t.Context(), "globex", "nobody")
		wantCode(t, elsewhere, apperr.NotFound, "get acme's user under globex")
		wantCode(t, nowhere, apperr.NotFound, "get a missing user")
		// With the usernames swapped, the two messages must be identical.
		got := strings.ReplaceAll(apperr.MessageOf(elsewhere), "alice", "nobody")
		if want := apperr.MessageOf(nowhere); got != want {
			t.Errorf("not found under another tenant says %q, not found anywhere says %q", apperr.MessageOf(elsewhere), want)
		}
	})
	t.Run("a tenant lists only its own users", func(t *testing.T) {
		s := open(t)
		acme := []login.User{user("acme", "alice"), user("acme", "bob")}
		create(t, s, user("globex", "alice"), acme[1], user("", "root"), acme[0], user("acme2", "carol"))
		got, err := s.ListUsers(t.Context(), "acme", login.UserPage{})
		must(t, err, "list users of acme")
		sameList(t, "users of acme", got, acme)
		got, err = s.ListUsers(t.Context(), "", login.UserPage{})
		must(t, err, "list platform users")
		sameList(t, "platform users", got, []login.User{user("", "root")})
	})
}

func testUpdates(t *testing.T, open func(t *testing.T) Store) {
	t.Run("an update replaces the mutable fields", func(t *testing.T) {
		s := open(t)
		before := user("acme", "alice")
		create(t, s, before, user("acme", "bob"))
		after := before
		after.DisplayName, after.Email = "Alice B.", "ab@example.org"
		after.Status, after.Admin = login.UserDisabled, true
		after.PasswordHash = "$argon2id$v=19$m=19456,t=2,p=1$bmV3c2FsdA$bmV3a2V5bmV3a2V5"
		after.PasswordChangedAt, after.UpdatedAt, after.LastLoginAt = at(20), at(21), at(22)
		after.Generation = before.Generation + 1
		must(t, s.UpdateUser(t.Context(), after), "update user")
		got, err := s.GetUserByID(t.Context(), before.ID)
		must(t, err, "get updated user")
		same(t, "updated user", got, after)
		bob, err := s.GetUser(t.Context(), "acme", "bob")
		must(t, err, "get bob")
		same(t, "the user not updated", bob, user("acme", "bob"))
	})
	t.Run("an update can take the admin flag away", func(t *testing.T) {
		s := open(t)
		before := user("acme", "alice")
		before.Admin = true
		create(t, s, before)
		after := before
		after.Admin, after.UpdatedAt = false, at(25)
		must(t, s.UpdateUser(t.Context(), after), "update user")
		got, err := s.GetUserByID(t.Context(), before.ID)
		must(t, err, "get updated user")
		same(t, "user no longer admin", got, after)
	})
	t.Run("an update can clear times and optional fields", func(t *testing.T) {
		s := open(t)
		before := user("acme", "alice")
		before.LastLoginAt = at(9)
		create(t, s, before)
		after := before
		after.DisplayName, after.Email, after.PasswordHash = "", "", ""
		after.PasswordChangedAt, after.LastLoginAt = time.Time{}, time.Time{}
		must(t, s.UpdateUser(t.Context(), after), "update user")
		got, err := s.GetUser(t.Context(), "acme", "alice")
		must(t, err, "get updated user")
		same(t, "updated user", got, after)
	})
	t.Run("an update keeps id, tenant, username, platform flag and creation time", func(t *testing.T) {
		s := open(t)
		before := user("acme", "alice")
		create(t, s, before)
		after := before
		after.Username, after.CreatedAt, after.Platform = "mallory", at(30), true
		must(t, s.UpdateUser(t.Context(), after), "update user")
		got, err := s.GetUserByID(t.Context(), before.ID)
		must(t, err, "get updated user")
		same(t, "user after an update of immutable fields", got, before)
	})
	t.Run("an update of a missing id is not found", func(t *testing.T) {
		s := open(t)
		create(t, s, user("acme", "alice"))
		ghost := user("acme", "ghost")
		wantCode(t, s.UpdateUser(t.Context(), ghost), apperr.NotFound, "update missing user")
	})
	t.Run("an update naming another tenant is not found and changes nothing", func(t *testing.T) {
		s := open(t)
		before := user("acme", "alice")
		create(t, s, before)
		forged := before
		forged.Tenant, forged.Status, forged.Admin = "globex", login.UserDisabled, true
		wantCode(t, s.UpdateUser(t.Context(), forged), apperr.NotFound, "update through another tenant")
		got, err := s.GetUserByID(t.Context(), before.ID)
		must(t, err, "get user")
		same(t, "user after a cross-tenant update", got, before)
	})
}
