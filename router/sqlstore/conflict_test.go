package sqlstore

import (
	"errors"
	"path/filepath"
	"testing"

	"gorm.io/gorm"

	"github.com/greyrouter/greyrouter/internal/apperr"
	"github.com/greyrouter/greyrouter/internal/dbx"
	"github.com/greyrouter/greyrouter/internal/testutil"
	"github.com/greyrouter/greyrouter/router"
)

// A duplicate key cannot be provoked through router.Tx while InTx
// serializes writers, so this test inserts one directly.
func TestDuplicateKeysAreConflicts(t *testing.T) {
	for _, c := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"on sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "db") }},
		{"on postgresql", func(t *testing.T) string { return testutil.Postgres(t) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			db, err := dbx.Open(t.Context(), c.url(t), "", nil)
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			t.Cleanup(func() { _ = db.Close() })
			if _, err := dbx.Up(t.Context(), db); err != nil {
				t.Fatalf("migrate: %v", err)
			}
			for _, translate := range []bool{true, false} {
				g := db.Gorm.Session(&gorm.Session{})
				g.Config.TranslateError = translate
				s := New(g, db.Dialect())
				err := s.InTx(t.Context(), func(rt router.Tx) error {
					tx := rt.(*tx)
					row := revisionRow{Number: 7, Actor: "a", Summary: "s", Changes: "[]"}
					if err := tx.db.WithContext(t.Context()).Create(&row).Error; err != nil {
						return tx.writeErr(err, "add revision 7")
					}
					return tx.writeErr(tx.db.WithContext(t.Context()).Create(&row).Error, "add revision 7")
				})
				if !apperr.Is(err, apperr.Conflict) {
					t.Fatalf("TranslateError %v: duplicate revision gave %v, want a conflict", translate, err)
				}
				if !errors.Is(err, gorm.ErrDuplicatedKey) {
					t.Errorf("TranslateError %v: conflict %v does not wrap gorm.ErrDuplicatedKey", translate, err)
				}
				if got := apperr.MessageOf(err); got != "add revision 7: already exists" {
					t.Errorf("message = %q", got)
				}
			}
		})
	}
}
