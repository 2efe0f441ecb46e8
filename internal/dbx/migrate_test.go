package dbx_test

import (
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/greyrouter/greyrouter/internal/dbx"
	"github.com/greyrouter/greyrouter/internal/testutil"
	"github.com/greyrouter/greyrouter/migrations"
)

// routingTables are the tables 00001_routing.sql creates.
var routingTables = []string{"tenants", "services", "versions", "instances", "bindings", "revisions"}

// migrationFiles lists the embedded migrations in order.
func migrationFiles(t *testing.T) []string {
	t.Helper()
	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("embedded migrations: %v %v", names, err)
	}
	sort.Strings(names)
	return names
}

func TestMigrationsGoUpDownAndUpAgain(t *testing.T) {
	files := migrationFiles(t)
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
			wantStatus(t, db, files, 0)

			lines, err := dbx.Up(ctx, db)
			if err != nil || len(lines) != len(files) {
				t.Fatalf("first up = %q, %v; want one line per migration %v", lines, err, files)
			}
			for i, f := range files {
				if !strings.Contains(lines[i], f) {
					t.Fatalf("up line %d = %q, want %s", i, lines[i], f)
				}
			}
			wantTables(t, db, true)
			wantStatus(t, db, files, len(files))
			if out, err := dbx.Migrate(ctx, db, "up"); err != nil || out != "no pending migrations" {
				t.Fatalf("second up = %q, %v; want nothing to do", out, err)
			}

			// Down reverts one migration at a time, newest first.
			for i := len(files) - 1; i >= 0; i-- {
				out, err := dbx.Migrate(ctx, db, "down")
				if err != nil || !strings.Contains(out, files[i]) {
					t.Fatalf("down = %q, %v; want %s rolled back", out, err, files[i])
				}
				wantStatus(t, db, files, i)
			}
			wantTables(t, db, false)
			if _, err := dbx.Down(ctx, db); err == nil {
				t.Fatal("down with nothing applied succeeded")
			}

			if _, err := dbx.Up(ctx, db); err != nil {
				t.Fatalf("up after down: %v", err)
			}
			wantTables(t, db, true)
			wantStatus(t, db, files, len(files))
		})
	}
}

func TestMigrateRejectsUnknownCommands(t *testing.T) {
	db := open(t, "", t.TempDir())
	if _, err := dbx.Migrate(t.Context(), db, "sideways"); err == nil {
		t.Fatal("migrate sideways succeeded")
	}
}

// wantStatus checks Status and its text form: the first applied migrations
// applied (with a time), the rest pending.
func wantStatus(t *testing.T, db *dbx.DB, files []string, applied int) {
	t.Helper()
	st, err := dbx.Status(t.Context(), db)
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	if len(st) != len(files) {
		t.Fatalf("status = %+v, want one entry per migration %v", st, files)
	}
	for i, e := range st {
		on := i < applied
		if e.Name != files[i] || e.Version != int64(i+1) || e.Applied != on || e.AppliedAt.IsZero() == on {
			t.Fatalf("status[%d] = %+v, want %s applied=%v with a time only when applied", i, e, files[i], on)
		}
	}
	out, err := dbx.Migrate(t.Context(), db, "status")
	if err != nil {
		t.Fatalf("migrate status: %v", err)
	}
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		word := map[bool]string{true: "applied", false: "pending"}[i < applied]
		if !strings.HasPrefix(l, files[i][:5]) || !strings.Contains(l, word) {
			t.Fatalf("migrate status line %q, want %s %s", l, files[i][:5], word)
		}
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
