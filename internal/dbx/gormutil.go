package dbx

import (
	"errors"
	"time"

	"gorm.io/gorm"
)

// IsDuplicate reports whether err from db is a unique-key violation. It
// translates driver errors itself, so it does not depend on db having been
// opened with TranslateError.
func IsDuplicate(db *gorm.DB, err error) bool {
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return true
	}
	tr, ok := db.Dialector.(gorm.ErrorTranslator)
	return ok && err != nil && errors.Is(tr.Translate(err), gorm.ErrDuplicatedKey)
}

// UTC normalizes a time for storage: UTC, microsecond precision (what
// PostgreSQL keeps), no monotonic reading.
func UTC(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// TimePtr maps the zero time to NULL for nullable columns.
func TimePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := UTC(t)
	return &u
}

// FromPtr maps NULL to the zero time.
func FromPtr(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}
