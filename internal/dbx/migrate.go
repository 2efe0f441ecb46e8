package dbx

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/greyrouter/greyrouter/migrations"
)

// MigrationStatus is one migration file and whether it has been applied.
type MigrationStatus struct {
	Version int64
	Name    string
	Applied bool
	// AppliedAt is zero while the migration is pending.
	AppliedAt time.Time
}

// String renders the status as one line of `greyrouter migrate status`.
func (s MigrationStatus) String() string {
	if !s.Applied {
		return fmt.Sprintf("%05d  %-32s  pending", s.Version, s.Name)
	}
	return fmt.Sprintf("%05d  %-32s  applied %s", s.Version, s.Name, s.AppliedAt.UTC().Format(time.RFC3339))
}

// provider builds a goose provider over the embedded migrations. On
// PostgreSQL a session advisory lock makes replicas that start together
// migrate one after the other; SQLite has a single writer anyway.
func provider(db *DB) (*goose.Provider, error) {
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	dialect := goose.DialectSQLite3
	if db.dialect == Postgres {
		dialect = goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, fmt.Errorf("create migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, db.sql, migrations.FS, opts...)
	if err != nil {
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	return p, nil
}

// Up applies every pending migration and returns one line per migration
// applied; none when the schema is already current.
func Up(ctx context.Context, db *DB) ([]string, error) {
	p, err := provider(db)
	if err != nil {
		return nil, err
	}
	res, err := p.Up(ctx)
	lines := make([]string, 0, len(res))
	for _, r := range res {
		lines = append(lines, r.String())
	}
	if err != nil {
		return lines, fmt.Errorf("migrate up: %w", err)
	}
	for _, l := range lines {
		db.log.Info("migration applied", "migration", strings.TrimSpace(l))
	}
	return lines, nil
}

// Down rolls back the most recently applied migration and returns a line
// describing it. It fails when no migration is applied.
func Down(ctx context.Context, db *DB) (string, error) {
	p, err := provider(db)
	if err != nil {
		return "", err
	}
	res, err := p.Down(ctx)
	if errors.Is(err, goose.ErrNoNextVersion) {
		return "", errors.New("migrate down: no migration is applied")
	}
	if err != nil {
		return "", fmt.Errorf("migrate down: %w", err)
	}
	db.log.Info("migration rolled back", "migration", res.Source.Path)
	return res.String(), nil
}

// Status lists every known migration, oldest first, with when it was
// applied.
func Status(ctx context.Context, db *DB) ([]MigrationStatus, error) {
	p, err := provider(db)
	if err != nil {
		return nil, err
	}
	res, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	out := make([]MigrationStatus, 0, len(res))
	for _, r := range res {
		s := MigrationStatus{Version: r.Source.Version, Name: path.Base(r.Source.Path)}
		if r.State == goose.StateApplied {
			s.Applied, s.AppliedAt = true, r.AppliedAt
		}
		out = append(out, s)
	}
	return out, nil
}

// Migrate runs one migration command, "up", "down" or "status", and returns
// its human-readable report; it is what `greyrouter migrate <cmd>` prints.
func Migrate(ctx context.Context, db *DB, cmd string) (string, error) {
	switch cmd {
	case "up":
		lines, err := Up(ctx, db)
		if err != nil {
			return strings.Join(lines, "\n"), err
		}
		if len(lines) == 0 {
			return "no pending migrations", nil
		}
		return strings.Join(lines, "\n"), nil
	case "down":
		return Down(ctx, db)
	case "status":
		st, err := Status(ctx, db)
		if err != nil {
			return "", err
		}
		lines := make([]string, len(st))
		for i, s := range st {
			lines[i] = s.String()
		}
		return strings.Join(lines, "\n"), nil
	default:
		return "", fmt.Errorf("unknown migrate command %q (want up, down or status)", cmd)
	}
}
