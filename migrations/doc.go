// Package migrations holds the versioned SQL schema of greyrouter's own
// database, embedded in the binary so that `greyrouter migrate` needs no
// files beside it. Migrations are in goose format and must run unchanged on
// both SQLite and PostgreSQL: portable column types only, and no
// auto-increment keys, since the application assigns every key itself.
//
// It must not import anything: internal/dbx applies these files with goose.
package migrations

import "embed"

// FS holds every migration file; goose reads their versions from the
// file-name prefixes.
//
//go:embed *.sql
var FS embed.FS
