package login

import "context"

// UserPage selects a window of a user list ordered by username: usernames
// after After, at most Limit of them (all when Limit is not positive).
type UserPage struct {
	After string
	Limit int
}

// UserStore keeps users. Every lookup by name is scoped to one tenant ("" for
// platform administrators), so that no query can reach across tenants; a
// user of another tenant is indistinguishable from a missing one. Usernames
// are compared exactly: callers pass them through NormalizeUsername. Missing
// users yield apperr.NotFound, duplicates apperr.Conflict.
type UserStore interface {
	// CreateUser inserts a new user; a username taken in the same tenant
	// (or among platform administrators) is a Conflict.
	CreateUser(ctx context.Context, u User) error
	// GetUser returns the user with username in tenant.
	GetUser(ctx context.Context, tenant, username string) (User, error)
	// GetUserByID returns the user with id whatever its tenant; it resolves
	// the subject of a session or token, whose tenant the caller then checks.
	GetUserByID(ctx context.Context, id string) (User, error)
	// ListUsers returns a page of tenant's users ordered by username.
	ListUsers(ctx context.Context, tenant string, p UserPage) ([]User, error)
	// UpdateUser replaces the mutable fields (display name, email, status, admin,
	// password hash and its change time, generation, updated and last-login
	// times) of the user with u.ID in u.Tenant. ID, tenant, username,
	// platform flag and creation time never change. A user missing from
	// u.Tenant is NotFound.
	UpdateUser(ctx context.Context, u User) error
	// Ping checks that the store answers.
	Ping(ctx context.Context) error
}
