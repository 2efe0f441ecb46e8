// Package dbx opens greyrouter's own database and applies its migrations.
// PostgreSQL is the production choice; SQLite, in a file under the data
// directory, is the embedded default so that a single binary runs with no
// setup. Every store adapter (router/sqlstore, privilege/sqlstore, ...)
// receives the *gorm.DB opened here and never opens connections itself.
//
// It must not import domain packages: it knows about connections and
// schema versions, not about tenants or routes.
package dbx
