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

// signingKeysLockKey is the PostgreSQL advisory lock that serializes key
// rotations; its bytes spell "grsignky".
const signingKeysLockKey int64 = 0x67727369676e6b79

// keyRow is one row of the signing_keys table. Seq numbers keys in the
// order they were added; a NULL retires_at means the key has no successor
// yet.
type keyRow struct {
	ID            string     `gorm:"column:id;primaryKey"`
	Seq           int64      `gorm:"column:seq"`
	Algorithm     string     `gorm:"column:algorithm"`
	PublicKey     []byte     `gorm:"column:public_key"`
	SealedPrivate []byte     `gorm:"column:sealed_private"`
	CreatedAt     time.Time  `gorm:"column:created_at;autoCreateTime:false"`
	ActivatesAt   time.Time  `gorm:"column:activates_at"`
	RetiresAt     *time.Time `gorm:"column:retires_at"`
}

func (keyRow) TableName() string { return "signing_keys" }

func keyToRow(k login.StoredKey) keyRow {
	return keyRow{
		ID:            k.ID,
		Algorithm:     k.Algorithm,
		PublicKey:     k.PublicKey,
		SealedPrivate: k.SealedPrivate,
		CreatedAt:     dbx.UTC(k.CreatedAt),
		ActivatesAt:   dbx.UTC(k.ActivatesAt),
		RetiresAt:     dbx.TimePtr(k.RetiresAt),
	}
}

func (r keyRow) key() login.StoredKey {
	return login.StoredKey{
		ID:            r.ID,
		Algorithm:     r.Algorithm,
		PublicKey:     r.PublicKey,
		SealedPrivate: r.SealedPrivate,
		CreatedAt:     r.CreatedAt.UTC(),
		ActivatesAt:   r.ActivatesAt.UTC(),
		RetiresAt:     dbx.FromPtr(r.RetiresAt),
	}
}

// ListSigningKeys returns every key, oldest first: in the order they were
// added. The last one is the newest, the one AddSigningKey replaces.
func (s *Store) ListSigningKeys(ctx context.Context) ([]login.StoredKey, error) {
	var rows []keyRow
	if err := s.db.WithContext(ctx).Order("seq").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	out := make([]login.StoredKey, 0, len(rows))
	for _, row := range rows {
		out = append(out, row.key())
	}
	return out, nil
}

// AddSigningKey stores next and retires previous at next.ActivatesAt,
// provided previous is still the newest key ("" when there is none);
// otherwise it is a Conflict and changes nothing. "Newest" is the key
// added last, not the one with the latest clock reading, so replicas whose
// clocks disagree (or a frozen test clock) cannot reorder keys.
//
// The check and both writes are one transaction, and rotations run one at
// a time: on PostgreSQL under an advisory lock (a row lock cannot guard
// the "no key yet" case, and a waiting SELECT ... FOR UPDATE would still
// see the old newest key), on SQLite because its transactions take the
// write lock when they begin. Should two rotations slip past that anyway,
// both would claim the same seq and the unique constraint would fail one.
func (s *Store) AddSigningKey(ctx context.Context, previous string, next login.StoredKey) error {
	row := keyToRow(next)
	var fnErr error
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		fnErr = s.addSigningKey(tx, previous, row)
		return fnErr
	})
	if err != nil && fnErr == nil {
		// Beginning or committing failed.
		return fmt.Errorf("add signing key %q: %w", next.ID, err)
	}
	return err
}

func (s *Store) addSigningKey(tx *gorm.DB, previous string, row keyRow) error {
	if s.postgres {
		if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", signingKeysLockKey).Error; err != nil {
			return fmt.Errorf("lock signing keys: %w", err)
		}
	}
	var newest keyRow // stays empty (ID "", Seq 0) when there is no key
	err := tx.Order("seq DESC").Take(&newest).Error
	if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		return fmt.Errorf("find the newest signing key: %w", err)
	}
	switch {
	case newest.ID != previous && previous == "":
		return apperr.New(apperr.Conflict, "signing key %q already exists; rotate from it", newest.ID)
	case newest.ID != previous:
		return apperr.New(apperr.Conflict, "signing key %q is no longer the newest; another rotation happened", previous)
	}
	if previous != "" {
		err := tx.Model(&keyRow{}).Where("id = ?", previous).Update("retires_at", row.ActivatesAt).Error
		if err != nil {
			return fmt.Errorf("retire signing key %q: %w", previous, err)
		}
	}
	row.Seq = newest.Seq + 1
	if err := tx.Create(&row).Error; err != nil {
		if dbx.IsDuplicate(tx, err) {
			return apperr.Wrap(apperr.Conflict, err, fmt.Sprintf("signing key %q: id taken or another rotation happened", row.ID))
		}
		return fmt.Errorf("add signing key %q: %w", row.ID, err)
	}
	return nil
}

// DeleteSigningKeys deletes the keys retired before retiredBefore and
// returns how many there were. Keys without a successor are never deleted.
func (s *Store) DeleteSigningKeys(ctx context.Context, retiredBefore time.Time) (int, error) {
	res := s.db.WithContext(ctx).
		Where("retires_at IS NOT NULL AND retires_at < ?", dbx.UTC(retiredBefore)).
		Delete(&keyRow{})
	if res.Error != nil {
		return 0, fmt.Errorf("delete signing keys retired before %s: %w", retiredBefore.UTC().Format(time.RFC3339), res.Error)
	}
	return int(res.RowsAffected), nil
}
