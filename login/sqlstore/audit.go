package sqlstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/internal/dbx"
	"github.com/greyrouter/greyrouter/login"
)

// auditBatch is how many events one INSERT carries: 11 parameters each
// stays far below every driver's limit on bind parameters.
const auditBatch = 256

// auditRow is one row of the login_audit table.
type auditRow struct {
	ID        string    `gorm:"column:id;primaryKey"`
	At        time.Time `gorm:"column:at"`
	Kind      string    `gorm:"column:kind"`
	Reason    string    `gorm:"column:reason"`
	Tenant    string    `gorm:"column:tenant"`
	Username  string    `gorm:"column:username"`
	UserID    string    `gorm:"column:user_id"`
	SessionID string    `gorm:"column:session_id"`
	Actor     string    `gorm:"column:actor"`
	IP        string    `gorm:"column:ip"`
	UserAgent string    `gorm:"column:user_agent"`
}

func (auditRow) TableName() string { return "login_audit" }

func (r auditRow) event() login.AuditEvent {
	return login.AuditEvent{
		ID:        r.ID,
		Kind:      r.Kind,
		Reason:    r.Reason,
		Tenant:    r.Tenant,
		Username:  r.Username,
		UserID:    r.UserID,
		SessionID: r.SessionID,
		Actor:     r.Actor,
		IP:        r.IP,
		UserAgent: r.UserAgent,
		At:        r.At.UTC(),
	}
}

// auditID returns a new event id for an event at at: 19 zero-padded
// digits of Unix nanoseconds and 16 random hex digits. Fixed width and
// only digits and lower-case letters, it sorts by time under any
// collation, and the random part keeps replicas writing in the same
// nanosecond apart.
func auditID(at time.Time) string {
	n := max(at.UnixNano(), 0)
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails; it crashes the program rather than return an error
	return fmt.Sprintf("%019d%s", n, hex.EncodeToString(b[:]))
}

// AddAuditEvents stores events with new ids, ignoring any id they carry.
// An event without a time is stamped with the current time. The events
// are written in one transaction: all or none.
func (s *Store) AddAuditEvents(ctx context.Context, es []login.AuditEvent) error {
	if len(es) == 0 {
		return nil
	}
	now := time.Now()
	rows := make([]auditRow, len(es))
	for i, e := range es {
		at := e.At
		if at.IsZero() {
			at = now
		}
		at = dbx.UTC(at)
		rows[i] = auditRow{
			ID: auditID(at), At: at, Kind: e.Kind, Reason: e.Reason, Tenant: e.Tenant,
			Username: e.Username, UserID: e.UserID, SessionID: e.SessionID, Actor: e.Actor,
			IP: e.IP, UserAgent: e.UserAgent,
		}
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return tx.CreateInBatches(&rows, auditBatch).Error
	})
	switch {
	case err == nil:
		return nil
	case dbx.IsDuplicate(s.db, err):
		return apperr.Wrap(apperr.Conflict, err, "add audit events: an event id is taken")
	default:
		return fmt.Errorf("add %d audit events: %w", len(es), err)
	}
}

// ListAuditEvents returns the events q selects, newest first. Unless
// q.AllTenants is set the query is confined to q.Tenant ("" meaning
// platform events), so a tenant never sees another's events.
func (s *Store) ListAuditEvents(ctx context.Context, q login.AuditQuery) ([]login.AuditEvent, error) {
	db := s.db.WithContext(ctx).Order("id DESC")
	if !q.AllTenants {
		db = db.Where("tenant = ?", q.Tenant)
	}
	if q.UserID != "" {
		db = db.Where("user_id = ?", q.UserID)
	}
	if q.Kind != "" {
		db = db.Where("kind = ?", q.Kind)
	}
	if q.Before != "" {
		db = db.Where("id < ?", q.Before)
	}
	if q.Limit > 0 {
		db = db.Limit(q.Limit)
	}
	var rows []auditRow
	if err := db.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	out := make([]login.AuditEvent, 0, len(rows))
	for _, row := range rows {
		out = append(out, row.event())
	}
	return out, nil
}
