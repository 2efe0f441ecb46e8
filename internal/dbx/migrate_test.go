package dbx_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/greyrouter/greyrouter/internal/dbx"
	"github.com/greyrouter/greyrouter/internal/testutil"
)

// routingTables are the tables 00001_routing.sql creates.
var routingTables = []string{"tenants", "services", "versions", "instances", "bindings", "revisions"}

func TestMigrationsGoUpDownAndUpAgain(t *testing.T) {
	for _, c := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"on sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "db") }},
		{"on postgresql", func(t *testing.T) string { return testutil.Postgres(t) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			db := open(t, c.url(t), "")
			ctx := t.Context()
			wantStatus(t, db, false)

			lines, err := dbx.Up(ctx, db)
			if err != nil || len(lines) != 1 || !strings.Contains(lines[0], "00001_routing.sql") {
				t.Fatalf("first up = %q, %v; want one line for 00001_routing.sql", lines, err)
			}
			wantTables(t, db, true)
			wantStatus(t, db, true)
			if out, err := dbx.Migrate(ctx, db, "up"); err != nil || out != "no pending migrations" {
				t.Fatalf("second up = %q, %v; want nothing to do", out, err)
			}

			out, err := dbx.Migrate(ctx, db, "down")
			if err != nil || !strings.Contains(out, "00001_routing.sql") {
				t.Fatalf("down = %q, %v; want 00001_routing.sql rolled back", out, err)
			}
			wantTables(t, db, false)
			wantStatus(t, db, false)
			if _, err := dbx.Down(ctx, db); err == nil {
				t.Fatal("down with nothing applied succeeded")
			}

			if _, err := dbx.Up(ctx, db); err != nil {
				t.Fatalf("up after down: %v", err)
			}
			wantTables(t, db, true)
			wantStatus(t, db, true)
		})
	}
}

func TestMigrateRejectsUnknownCommands(t *testing.T) {
	db := open(t, "", t.TempDir())
	if _, err := dbx.Migrate(t.Context(), db, "sideways"); err == nil {
		t.Fatal("migrate sideways succeeded")
	}
}

// wantStatus checks Status and its text form: the one migration, applied
// or pending.
func wantStatus(t *testing.T, db *dbx.DB, applied bool) {
	t.Helper()
	st, err := dbx.Status(t.Context(), db)
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	if len(st) != 1 || st[0].Version != 1 || st[0].Name != "00001_routing.sql" {
		t.Fatalf("status = %+v, want one entry for 00001_routing.sql", st)
	}
	if st[0].Applied != applied || st[0].AppliedAt.IsZero() == applied {
		t.Fatalf("status = %+v, want applied %v with a time only when applied", st[0], applied)
	}
	out, err := dbx.Migrate(t.Context(), db, "status")
	if err != nil {
		t.Fatalf("migrate status: %v", err)
	}
	word := map[bool]string{true: "applied", false: "pending"}[applied]
	if !strings.HasPrefix(out, "00001") || !strings.Contains(out, word) {
		t.Fatalf("migrate status printed %q, want 00001 %s", out, word)
	}
}

func wantTables(t *testing.T, db *dbx.DB, exist bool) {
	t.Helper()
	for _, table := range routingTables {
		if got := db.Gorm.Migrator().HasTable(table); got != exist {
			t.Errorf("table %s exists = %v, want %v", table, got, exist)
		}
	}
}
