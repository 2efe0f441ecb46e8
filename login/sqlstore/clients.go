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

// clientRow is one row of the clients table; tenant is "" for platform
// clients.
type clientRow struct {
	ID         string    `gorm:"column:id;primaryKey"`
	Tenant     string    `gorm:"column:tenant"`
	Name       string    `gorm:"column:name"`
	Status     string    `gorm:"column:status"`
	Platform   bool      `gorm:"column:platform"`
	Admin      bool      `gorm:"column:admin"`
	SecretHash string    `gorm:"column:secret_hash"`
	Generation int64     `gorm:"column:generation"`
	CreatedAt  time.Time `gorm:"column:created_at;autoCreateTime:false"`
	UpdatedAt  time.Time `gorm:"column:updated_at;autoUpdateTime:false"`
}

func (clientRow) TableName() string { return "clients" }

func clientToRow(c login.Client) clientRow {
	return clientRow{
		ID:         c.ID,
		Tenant:     c.Tenant,
		Name:       c.Name,
		Status:     string(c.Status),
		Platform:   c.Platform,
		Admin:      c.Admin,
		SecretHash: c.SecretHash,
		Generation: c.Generation,
		CreatedAt:  dbx.UTC(c.CreatedAt),
		UpdatedAt:  dbx.UTC(c.UpdatedAt),
	}
}

func (r clientRow) client() login.Client {
	return login.Client{
		ID:         r.ID,
		Tenant:     r.Tenant,
		Name:       r.Name,
		Status:     login.UserStatus(r.Status),
		Platform:   r.Platform,
		Admin:      r.Admin,
		SecretHash: r.SecretHash,
		Generation: r.Generation,
		CreatedAt:  r.CreatedAt.UTC(),
		UpdatedAt:  r.UpdatedAt.UTC(),
	}
}

// CreateClient inserts a new client; an id already taken is a Conflict.
func (s *Store) CreateClient(ctx context.Context, c login.Client) error {
	row := clientToRow(c)
	err := s.db.WithContext(ctx).Create(&row).Error
	switch {
	case err == nil:
		return nil
	case dbx.IsDuplicate(s.db, err):
		return apperr.Wrap(apperr.Conflict, err, fmt.Sprintf("client %q already exists", c.ID))
	default:
		return fmt.Errorf("create client %q: %w", c.ID, err)
	}
}

// GetClient returns the client with id whatever its tenant; the caller
// checks the tenant.
func (s *Store) GetClient(ctx context.Context, id string) (login.Client, error) {
	var row clientRow
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return login.Client{}, apperr.New(apperr.NotFound, "client %q not found", id)
	}
	if err != nil {
		return login.Client{}, fmt.Errorf("get client %q: %w", id, err)
	}
	return row.client(), nil
}

// ListClients returns tenant's clients ("" for platform clients) ordered
// by name, then id.
func (s *Store) ListClients(ctx context.Context, tenant string) ([]login.Client, error) {
	var rows []clientRow
	err := s.db.WithContext(ctx).Where("tenant = ?", tenant).Order("name, id").Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("list clients of tenant %q: %w", tenant, err)
	}
	out := make([]login.Client, 0, len(rows))
	for _, row := range rows {
		out = append(out, row.client())
	}
	return out, nil
}

// UpdateClient replaces name, status, admin flag, secret hash, generation
// and updated time of the client with c.ID in c.Tenant. A client of
// another tenant is NotFound, exactly like a missing one.
func (s *Store) UpdateClient(ctx context.Context, c login.Client) error {
	row := clientToRow(c)
	res := s.db.WithContext(ctx).Model(&clientRow{}).
		Where("id = ? AND tenant = ?", c.ID, c.Tenant).
		Updates(map[string]any{
			"name":        row.Name,
			"status":      row.Status,
			"admin":       row.Admin,
			"secret_hash": row.SecretHash,
			"generation":  row.Generation,
			"updated_at":  row.UpdatedAt,
		})
	if res.Error != nil {
		return fmt.Errorf("update client %q: %w", c.ID, res.Error)
	}
	if res.RowsAffected == 0 {
		return apperr.New(apperr.NotFound, "client %q not found", c.ID)
	}
	return nil
}

// DeleteClient deletes the client with id in tenant. A client of another
// tenant is NotFound, exactly like a missing one.
func (s *Store) DeleteClient(ctx context.Context, tenant, id string) error {
	res := s.db.WithContext(ctx).Where("id = ? AND tenant = ?", id, tenant).Delete(&clientRow{})
	if res.Error != nil {
		return fmt.Errorf("delete client %q: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return apperr.New(apperr.NotFound, "client %q not found", id)
	}
	return nil
}
