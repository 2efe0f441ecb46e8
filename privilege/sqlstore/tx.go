package sqlstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/internal/dbx"
	"github.com/greyrouter/greyrouter/privilege"
)

// tx is the privilege.Tx handed to InTx callbacks. It keeps one Change per
// record touched, from the record's state before the transaction to its
// latest, so that InTx knows whether anything changed.
type tx struct {
	db      *gorm.DB
	tenant  string
	actor   string
	summary string
	changes []privilege.Change
	changed map[string]int // kind + "\x00" + key -> index in changes
}

func (t *tx) Tenant() string { return t.tenant }

func (t *tx) Describe(actor, summary string) { t.actor, t.summary = actor, summary }

// Snapshot reads the policy set as the transaction sees it.
func (t *tx) Snapshot(ctx context.Context) (privilege.Snapshot, error) {
	return readSnapshot(ctx, t.db, t.tenant)
}

// record notes that a record went from before to after (nil: absent).
func (t *tx) record(kind privilege.ChangeKind, key string, before, after json.RawMessage) {
	id := string(kind) + "\x00" + key
	if i, ok := t.changed[id]; ok {
		t.changes[i].After = after
		return
	}
	t.changed[id] = len(t.changes)
	t.changes = append(t.changes, privilege.Change{Kind: kind, Key: key, Before: before, After: after})
}

// live returns the changes whose record ends up different from how it
// started.
func (t *tx) live() []privilege.Change {
	var out []privilege.Change
	for _, c := range t.changes {
		if !bytes.Equal(c.Before, c.After) {
			out = append(out, c)
		}
	}
	return out
}

// commit stores the tenant's new version and the revision that made it.
func (t *tx) commit(ctx context.Context, version int64) error {
	changes := t.live()
	summary := t.summary
	if summary == "" {
		summary = privilege.Summarize(changes)
	}
	v := versionRow{Tenant: t.tenant, Version: version}
	up := clause.OnConflict{Columns: []clause.Column{{Name: "tenant"}}, DoUpdates: clause.AssignmentColumns([]string{"version"})}
	if err := t.db.WithContext(ctx).Clauses(up).Create(&v).Error; err != nil {
		return writeErr(t.db, err, fmt.Sprintf("store policy version %d of tenant %q", version, t.tenant))
	}
	row, err := revisionToRow(privilege.PolicyRevision{
		Tenant: t.tenant, Version: version, Actor: t.actor, At: now(), Summary: summary, Changes: changes,
	})
	if err != nil {
		return err
	}
	if err := t.db.WithContext(ctx).Create(&row).Error; err != nil {
		return writeErr(t.db, err, fmt.Sprintf("add policy revision %d of tenant %q", version, t.tenant))
	}
	return nil
}

// put replaces the document of a record keyed by keys, unless it already
// holds exactly after, and records the change.
func put[R any](ctx context.Context, t *tx, kind privilege.ChangeKind, key string, row *R, doc func(*R) (json.RawMessage, error), keys []string, columns []string, where string, args ...any) error {
	after, err := doc(row)
	if err != nil {
		return fmt.Errorf("encode %s %q: %w", kind, key, err)
	}
	before, err := current(ctx, t, kind, key, doc, where, args...)
	if err != nil {
		return err
	}
	if bytes.Equal(before, after) {
		return nil
	}
	conflict := clause.OnConflict{DoUpdates: clause.AssignmentColumns(columns)}
	for _, k := range keys {
		conflict.Columns = append(conflict.Columns, clause.Column{Name: k})
	}
	if err := t.db.WithContext(ctx).Clauses(conflict).Create(row).Error; err != nil {
		return writeErr(t.db, err, fmt.Sprintf("put %s %q of tenant %q", kind, key, t.tenant))
	}
	t.record(kind, key, before, after)
	return nil
}

// del removes a record and records the change; a missing record is
// NotFound.
func del[R any](ctx context.Context, t *tx, kind privilege.ChangeKind, key string, doc func(*R) (json.RawMessage, error), where string, args ...any) error {
	before, err := current(ctx, t, kind, key, doc, where, args...)
	if err != nil {
		return err
	}
	if before == nil {
		return apperr.New(apperr.NotFound, "%s %q of tenant %q not found", kind, key, t.tenant)
	}
	if err := t.db.WithContext(ctx).Where(where, args...).Delete(new(R)).Error; err != nil {
		return writeErr(t.db, err, fmt.Sprintf("delete %s %q of tenant %q", kind, key, t.tenant))
	}
	t.record(kind, key, before, nil)
	return nil
}

// current returns a record's document, nil when it is absent.
func current[R any](ctx context.Context, t *tx, kind privilege.ChangeKind, key string, doc func(*R) (json.RawMessage, error), where string, args ...any) (json.RawMessage, error) {
	var row R
	err := t.db.WithContext(ctx).Where(where, args...).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s %q of tenant %q: %w", kind, key, t.tenant, err)
	}
	b, err := doc(&row)
	if err != nil {
		return nil, fmt.Errorf("decode %s %q of tenant %q: %w", kind, key, t.tenant, err)
	}
	return b, nil
}

// writeErr describes a failed write; unique violations become Conflict.
func writeErr(db *gorm.DB, err error, action string) error {
	if dbx.IsDuplicate(db, err) {
		return apperr.Wrap(apperr.Conflict, err, action+": already exists")
	}
	return fmt.Errorf("%s: %w", action, err)
}
