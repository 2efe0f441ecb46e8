package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/internal/dbx"
	"github.com/greyrouter/greyrouter/privilege"
)

var _ privilege.DecisionStore = (*Store)(nil)

// decisionBatch is how many records one INSERT carries: 16 parameters
// each stays far below every driver's limit on bind parameters.
const decisionBatch = 256

// pruneChunk is how many records one DELETE of PruneDecisions removes at
// most, so that retention never holds a long write lock.
const pruneChunk = 1000

// decisionRow is one row of privilege_decisions. Deciding is the vote as
// JSON, NULL when none decided; the attribute columns are JSON objects.
type decisionRow struct {
	Tenant             string    `gorm:"column:tenant;primaryKey"`
	ID                 string    `gorm:"column:id;primaryKey"`
	At                 time.Time `gorm:"column:at"`
	Subject            string    `gorm:"column:subject"`
	Action             string    `gorm:"column:action"`
	Resource           string    `gorm:"column:resource"`
	Allowed            bool      `gorm:"column:allowed"`
	FailOpen           bool      `gorm:"column:fail_open"`
	Reason             string    `gorm:"column:reason"`
	Tier               string    `gorm:"column:tier"`
	PolicyVersion      int64     `gorm:"column:policy_version"`
	Deciding           *string   `gorm:"column:deciding"`
	Caller             string    `gorm:"column:caller"`
	SubjectAttributes  string    `gorm:"column:subject_attributes"`
	ResourceAttributes string    `gorm:"column:resource_attributes"`
	Env                string    `gorm:"column:env"`
}

func (decisionRow) TableName() string { return "privilege_decisions" }

func decisionToRow(d privilege.DecisionRecord) (decisionRow, error) {
	row := decisionRow{
		Tenant: d.Tenant, ID: d.ID, At: dbx.UTC(d.At), Subject: d.Subject, Action: d.Action, Resource: d.Resource,
		Allowed: d.Allowed, FailOpen: d.FailOpen, Reason: d.Reason, Tier: d.Tier, PolicyVersion: d.PolicyVersion,
		Caller: d.Caller,
	}
	if d.Deciding != nil {
		b, err := json.Marshal(d.Deciding)
		if err != nil {
			return row, fmt.Errorf("encode deciding vote of decision %s: %w", d.ID, err)
		}
		s := string(b)
		row.Deciding = &s
	}
	for _, a := range []struct {
		name string
		from map[string]any
		to   *string
	}{
		{"subject attributes", d.SubjectAttributes, &row.SubjectAttributes},
		{"resource attributes", d.ResourceAttributes, &row.ResourceAttributes},
		{"env", d.Env, &row.Env},
	} {
		*a.to = "{}"
		if len(a.from) == 0 {
			continue
		}
		b, err := json.Marshal(a.from)
		if err != nil {
			return row, fmt.Errorf("encode %s of decision %s: %w", a.name, d.ID, err)
		}
		*a.to = string(b)
	}
	return row, nil
}

func (r decisionRow) record() (privilege.DecisionRecord, error) {
	d := privilege.DecisionRecord{
		ID: r.ID, At: r.At.UTC(), Tenant: r.Tenant, Subject: r.Subject, Action: r.Action, Resource: r.Resource,
		Allowed: r.Allowed, FailOpen: r.FailOpen, Reason: r.Reason, Tier: r.Tier, PolicyVersion: r.PolicyVersion,
		Caller: r.Caller,
	}
	if r.Deciding != nil {
		d.Deciding = new(privilege.Vote)
		if err := json.Unmarshal([]byte(*r.Deciding), d.Deciding); err != nil {
			return d, fmt.Errorf("decode deciding vote of decision %s of tenant %q: %w", r.ID, r.Tenant, err)
		}
	}
	for _, a := range []struct {
		name string
		from string
		to   *map[string]any
	}{
		{"subject attributes", r.SubjectAttributes, &d.SubjectAttributes},
		{"resource attributes", r.ResourceAttributes, &d.ResourceAttributes},
		{"env", r.Env, &d.Env},
	} {
		if err := json.Unmarshal([]byte(a.from), a.to); err != nil {
			return d, fmt.Errorf("decode %s of decision %s of tenant %q: %w", a.name, r.ID, r.Tenant, err)
		}
		if len(*a.to) == 0 {
			*a.to = nil
		}
	}
	return d, nil
}

// AddDecisions stores records in one transaction; see
// privilege.DecisionStore. A record whose attributes cannot be encoded as
// JSON fails the batch.
func (s *Store) AddDecisions(ctx context.Context, ds []privilege.DecisionRecord) error {
	if len(ds) == 0 {
		return nil
	}
	problems := map[string]string{}
	for i, d := range ds {
		for field, msg := range apperr.DetailsOf(d.Validate()) {
			problems[fmt.Sprintf("decisions[%d].%s", i, field)] = msg
		}
	}
	if err := apperr.Fields("invalid decision records", problems); err != nil {
		return err
	}
	now := time.Now()
	rows := make([]decisionRow, len(ds))
	for i, d := range ds {
		if d.At.IsZero() {
			d.At = now
		}
		if d.ID == "" {
			d.ID = privilege.NewDecisionID(d.At)
		}
		row, err := decisionToRow(d)
		if err != nil {
			return err
		}
		rows[i] = row
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return tx.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(&rows, decisionBatch).Error
	})
	if err != nil {
		return fmt.Errorf("add %d privilege decisions: %w", len(ds), err)
	}
	return nil
}

// ListDecisions returns the records q selects, newest first, all of
// q.Tenant.
func (s *Store) ListDecisions(ctx context.Context, q privilege.DecisionQuery) ([]privilege.DecisionRecord, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	db := s.db.WithContext(ctx).Where("tenant = ?", q.Tenant)
	if q.Subject != "" {
		db = db.Where("subject = ?", q.Subject)
	}
	if q.Resource != "" {
		db = db.Where("resource = ?", q.Resource)
	}
	if q.Action != "" {
		db = db.Where("action = ?", q.Action)
	}
	if q.Allowed != nil {
		db = db.Where("allowed = ?", *q.Allowed)
	}
	if !q.Since.IsZero() {
		db = db.Where("at >= ?", dbx.UTC(q.Since))
	}
	if !q.Until.IsZero() {
		db = db.Where("at < ?", dbx.UTC(q.Until))
	}
	if q.Before != "" {
		db = db.Where("id < ?", q.Before)
	}
	var rows []decisionRow
	if err := db.Order("id DESC").Limit(q.PageSize()).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list privilege decisions of tenant %q: %w", q.Tenant, err)
	}
	out := make([]privilege.DecisionRecord, 0, len(rows))
	for _, row := range rows {
		d, err := row.record()
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// PruneDecisions deletes the records of every tenant older than before,
// in chunks of pruneChunk, each its own statement: when ctx ends or a
// chunk fails, the chunks deleted so far stay deleted and are counted.
func (s *Store) PruneDecisions(ctx context.Context, before time.Time) (int64, error) {
	cut := dbx.UTC(before)
	var total int64
	for {
		// The outer condition repeats the inner one, so a record is only
		// deleted when it is old, whichever tenant shares its id.
		res := s.db.WithContext(ctx).
			Where("at < ? AND id IN (?)", cut,
				s.db.Model(&decisionRow{}).Select("id").Where("at < ?", cut).Limit(pruneChunk)).
			Delete(&decisionRow{})
		if res.Error != nil {
			return total, fmt.Errorf("prune privilege decisions before %s: %w", cut.Format(time.RFC3339), res.Error)
		}
		total += res.RowsAffected
		if res.RowsAffected < pruneChunk {
			return total, nil
		}
	}
}
