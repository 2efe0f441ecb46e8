package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/internal/dbx"
	"github.com/greyrouter/greyrouter/login"
)

// userRow is one row of the users table; NULL password_changed_at and
// last_login_at mean "never".
type userRow struct {
	ID                string     `gorm:"column:id;primaryKey"`
	Tenant            string     `gorm:"column:tenant"`
	Username          string     `gorm:"column:username"`
	DisplayName       string     `gorm:"column:display_name"`
	Email             string     `gorm:"column:email"`
	Status            string     `gorm:"column:status"`
	Platform          bool       `gorm:"column:platform"`
	Admin             bool       `gorm:"column:admin"`
	PasswordHash      string     `gorm:"column:password_hash"`
	PasswordChangedAt *time.Time `gorm:"column:password_changed_at"`
	Generation        int64      `gorm:"column:generation"`
	CreatedAt         time.Time  `gorm:"column:created_at;autoCreateTime:false"`
	UpdatedAt         time.Time  `gorm:"column:updated_at;autoUpdateTime:false"`
	LastLoginAt       *time.Time `gorm:"column:last_login_at"`
}

func (userRow) TableName() string { return "users" }

func userToRow(u login.User) userRow {
	return userRow{
		ID:                u.ID,
		Tenant:            u.Tenant,
		Username:          u.Username,
		DisplayName:       u.DisplayName,
		Email:             u.Email,
		Status:            string(u.Status),
		Platform:          u.Platform,
		Admin:             u.Admin,
		PasswordHash:      u.PasswordHash,
		PasswordChangedAt: dbx.TimePtr(u.PasswordChangedAt),
		Generation:        u.Generation,
		CreatedAt:         dbx.UTC(u.CreatedAt),
		UpdatedAt:         dbx.UTC(u.UpdatedAt),
		LastLoginAt:       dbx.TimePtr(u.LastLoginAt),
	}
}

func (r userRow) user() login.User {
	return login.User{
		ID:                r.ID,
		Tenant:            r.Tenant,
		Username:          r.Username,
		DisplayName:       r.DisplayName,
		Email:             r.Email,
		Status:            login.UserStatus(r.Status),
		Platform:          r.Platform,
		Admin:             r.Admin,
		PasswordHash:      r.PasswordHash,
		PasswordChangedAt: dbx.FromPtr(r.PasswordChangedAt),
		Generation:        r.Generation,
		CreatedAt:         r.CreatedAt.UTC(),
		UpdatedAt:         r.UpdatedAt.UTC(),
		LastLoginAt:       dbx.FromPtr(r.LastLoginAt),
	}
}

// who names a user for messages: by tenant, or as a platform user.
func who(tenant, username string) string {
	if tenant == "" {
		return fmt.Sprintf("platform user %q", username)
	}
	return fmt.Sprintf("user %q in tenant %q", username, tenant)
}

// CreateUser inserts a new user.
func (s *Store) CreateUser(ctx context.Context, u login.User) error {
	row := userToRow(u)
	err := s.db.WithContext(ctx).Create(&row).Error
	switch {
	case err == nil:
		return nil
	case dbx.IsDuplicate(s.db, err) && u.Tenant == "":
		return apperr.Wrap(apperr.Conflict, err, fmt.Sprintf("platform user %q already exists", u.Username))
	case dbx.IsDuplicate(s.db, err):
		return apperr.Wrap(apperr.Conflict, err, fmt.Sprintf("user %q already exists in tenant %q", u.Username, u.Tenant))
	default:
		return fmt.Errorf("create %s: %w", who(u.Tenant, u.Username), err)
	}
}

// GetUser returns the user with username in tenant. The NotFound message
// names only the tenant asked about, so it reveals nothing about others.
func (s *Store) GetUser(ctx context.Context, tenant, username string) (login.User, error) {
	return s.take(ctx, who(tenant, username), "tenant = ? AND username = ?", tenant, username)
}

// GetUserByID returns the user with id.
func (s *Store) GetUserByID(ctx context.Context, id string) (login.User, error) {
	return s.take(ctx, fmt.Sprintf("user with id %q", id), "id = ?", id)
}

// take loads one user, turning a missing row into a NotFound error that
// names what was looked for.
func (s *Store) take(ctx context.Context, what, query string, args ...any) (login.User, error) {
	var row userRow
	err := s.db.WithContext(ctx).Where(query, args...).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return login.User{}, apperr.New(apperr.NotFound, "%s not found", what)
	}
	if err != nil {
		return login.User{}, fmt.Errorf("get %s: %w", what, err)
	}
	return row.user(), nil
}

// ListUsers returns a page of tenant's users ordered by username, by keyset
// pagination: unlike OFFSET, a page stays correct while users are created
// before it.
func (s *Store) ListUsers(ctx context.Context, tenant string, p login.UserPage) ([]login.User, error) {
	q := s.db.WithContext(ctx).Where("tenant = ?", tenant).Order("username")
	if p.After != "" {
		q = q.Where("username > ?", p.After)
	}
	if p.Limit > 0 {
		q = q.Limit(p.Limit)
	}
	var rows []userRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list users of tenant %q: %w", tenant, err)
	}
	out := make([]login.User, 0, len(rows))
	for _, row := range rows {
		out = append(out, row.user())
	}
	return out, nil
}

// UpdateUser replaces the mutable fields of the user, the admin flag among
// them, with u.ID in u.Tenant. Filtering by tenant as well as id means a caller holding an id
// from another tenant cannot change that tenant's user.
func (s *Store) UpdateUser(ctx context.Context, u login.User) error {
	row := userToRow(u)
	res := s.db.WithContext(ctx).Model(&userRow{}).
		Where("id = ? AND tenant = ?", u.ID, u.Tenant).
		Updates(map[string]any{
			"display_name":        row.DisplayName,
			"email":               row.Email,
			"status":              row.Status,
			"admin":               row.Admin,
			"password_hash":       row.PasswordHash,
			"password_changed_at": row.PasswordChangedAt,
			"generation":          row.Generation,
			"updated_at":          row.UpdatedAt,
			"last_login_at":       row.LastLoginAt,
		})
	if res.Error != nil {
		return fmt.Errorf("update user with id %q: %w", u.ID, res.Error)
	}
	if res.RowsAffected == 0 {
		return apperr.New(apperr.NotFound, "user with id %q not found", u.ID)
	}
	return nil
}
