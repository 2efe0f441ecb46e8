package sqlstore

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/greyrouter/greyrouter/internal/dbx"
	"github.com/greyrouter/greyrouter/router"
)

// revisionRow is one row of the revisions table; the changes are JSON and
// a NULL rollback_of means the revision is not a rollback.
type revisionRow struct {
	Number     int64     `gorm:"column:number;primaryKey;autoIncrement:false"`
	Actor      string    `gorm:"column:actor"`
	At         time.Time `gorm:"column:at"`
	Summary    string    `gorm:"column:summary"`
	Changes    string    `gorm:"column:changes"`
	RollbackOf *int64    `gorm:"column:rollback_of"`
}

func (revisionRow) TableName() string { return "revisions" }

func revisionToRow(r router.Revision) (revisionRow, error) {
	changes, err := encodeList(r.Changes)
	if err != nil {
		return revisionRow{}, fmt.Errorf("encode changes of revision %d: %w", r.Number, err)
	}
	row := revisionRow{
		Number:  r.Number,
		Actor:   r.Actor,
		At:      dbx.UTC(r.At),
		Summary: r.Summary,
		Changes: changes,
	}
	if r.RollbackOf != 0 {
		row.RollbackOf = &r.RollbackOf
	}
	return row, nil
}

func (r revisionRow) revision() (router.Revision, error) {
	changes, err := decodeList[router.Change](r.Changes)
	if err != nil {
		return router.Revision{}, fmt.Errorf("read changes of revision %d: %w", r.Number, err)
	}
	rev := router.Revision{
		Number:  r.Number,
		Actor:   r.Actor,
		At:      r.At.UTC(),
		Summary: r.Summary,
		Changes: changes,
	}
	if r.RollbackOf != nil {
		rev.RollbackOf = *r.RollbackOf
	}
	return rev, nil
}

// GetRevision returns one revision.
func (r reader) GetRevision(ctx context.Context, number int64) (router.Revision, error) {
	var row revisionRow
	if err := r.take(ctx, &row, fmt.Sprintf("revision %d", number), "number = ?", number); err != nil {
		return router.Revision{}, err
	}
	return row.revision()
}

// ListRevisions returns revisions numbered below before (all when before is
// not positive), newest first, at most limit of them (all when limit is not
// positive).
func (r reader) ListRevisions(ctx context.Context, before int64, limit int) ([]router.Revision, error) {
	q := r.db.WithContext(ctx).Order("number DESC")
	if before > 0 {
		q = q.Where("number < ?", before)
	}
	if limit > 0 {
		q = q.Limit(limit)
	}
	return r.revisions(q, "list revisions")
}

// RevisionsAfter returns revisions numbered above n, oldest first, so that
// a follower can replay what it missed.
func (r reader) RevisionsAfter(ctx context.Context, n int64) ([]router.Revision, error) {
	q := r.db.WithContext(ctx).Where("number > ?", n).Order("number")
	return r.revisions(q, fmt.Sprintf("list revisions after %d", n))
}

// revisions runs a revision query and converts its rows.
func (r reader) revisions(q *gorm.DB, action string) ([]router.Revision, error) {
	var rows []revisionRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("%s: %w", action, err)
	}
	out := make([]router.Revision, 0, len(rows))
	for _, row := range rows {
		rev, err := row.revision()
		if err != nil {
			return nil, err
		}
		out = append(out, rev)
	}
	return out, nil
}

// LatestRevision returns the highest revision number, 0 when there is none.
func (r reader) LatestRevision(ctx context.Context) (int64, error) {
	var n int64
	err := r.db.WithContext(ctx).Raw("SELECT COALESCE(MAX(number), 0) FROM revisions").Row().Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("read latest revision: %w", err)
	}
	return n, nil
}

// AddRevision numbers r one above the latest revision and stores it. InTx's
// lock makes the read and the insert atomic with respect to other writers;
// should that guarantee ever break, the primary key turns the race into a
// Conflict instead of a duplicate. A zero r.At is set to now, and r.At is
// normalized to what is stored.
func (t *tx) AddRevision(ctx context.Context, r *router.Revision) error {
	latest, err := t.LatestRevision(ctx)
	if err != nil {
		return err
	}
	rev := *r
	rev.Number = latest + 1
	if rev.At.IsZero() {
		rev.At = time.Now()
	}
	rev.At = dbx.UTC(rev.At)
	row, err := revisionToRow(rev)
	if err != nil {
		return err
	}
	if err := t.db.WithContext(ctx).Create(&row).Error; err != nil {
		return t.writeErr(err, fmt.Sprintf("add revision %d", rev.Number))
	}
	*r = rev
	return nil
}
