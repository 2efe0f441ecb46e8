package dbx

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// The dialect names that Dialect returns and store adapters switch on.
const (
	Postgres = "postgres"
	SQLite   = "sqlite"
)

// DefaultFile is the SQLite file created in the data directory when no
// database URL is configured.
const DefaultFile = "greyrouter.db"

// DB is an open database: the gorm handle that stores use, and the dialect
// they need for the few statements that differ between engines.
type DB struct {
	Gorm    *gorm.DB
	sql     *sql.DB
	dialect string
	log     *slog.Logger
}

// Dialect returns Postgres or SQLite.
func (db *DB) Dialect() string { return db.dialect }

// SQL returns the underlying connection pool, for tools such as goose that
// speak database/sql.
func (db *DB) SQL() *sql.DB { return db.sql }

// Close closes every connection of the pool.
func (db *DB) Close() error { return db.sql.Close() }

// Open connects to databaseURL and checks that the server answers.
//
// A postgres:// or postgresql:// URL selects PostgreSQL. A "sqlite:" prefix
// or a plain file path selects SQLite, and an empty URL means the SQLite file
// DefaultFile inside dataDir, which is created with mode 0700 if needed.
// Errors and log lines never contain the URL's password.
func Open(ctx context.Context, databaseURL, dataDir string, log *slog.Logger) (*DB, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg := &gorm.Config{
		Logger:         logger.Discard,
		TranslateError: true,
		NowFunc:        func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) },
	}
	var (
		dialector gorm.Dialector
		dialect   string
		where     string
	)
	switch {
	case strings.HasPrefix(databaseURL, "postgres://"), strings.HasPrefix(databaseURL, "postgresql://"):
		u, err := url.Parse(databaseURL)
		if err != nil {
			// url.Parse errors quote the input, which may hold a password.
			return nil, errors.New("open database: malformed postgres url")
		}
		dialector, dialect, where = postgres.Open(databaseURL), Postgres, u.Redacted()
	default:
		path, err := sqlitePath(databaseURL, dataDir)
		if err != nil {
			return nil, err
		}
		dialector, dialect, where = sqlite.Open(sqliteDSN(path)), SQLite, path
	}

	g, err := gorm.Open(dialector, cfg)
	if err != nil {
		return nil, fmt.Errorf("open %s database %s: %w", dialect, where, err)
	}
	sqlDB, err := g.DB()
	if err != nil {
		return nil, fmt.Errorf("open %s database %s: %w", dialect, where, err)
	}
	if dialect == SQLite {
		// SQLite has one writer. A single connection serializes writers in
		// the pool instead of failing them with SQLITE_BUSY, and keeps a
		// transaction's reads and writes on the connection that holds it.
		sqlDB.SetMaxOpenConns(1)
	} else {
		sqlDB.SetMaxOpenConns(16)
		sqlDB.SetMaxIdleConns(4)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("ping %s database %s: %w", dialect, where, err)
	}
	log.Info("database opened", "dialect", dialect, "database", where)
	return &DB{Gorm: g, sql: sqlDB, dialect: dialect, log: log}, nil
}

// sqlitePath returns the file that a non-postgres databaseURL names,
// creating dataDir when the URL is empty.
func sqlitePath(databaseURL, dataDir string) (string, error) {
	path := databaseURL
	switch {
	case strings.HasPrefix(path, "sqlite://"):
		path = strings.TrimPrefix(path, "sqlite://")
	case strings.HasPrefix(path, "sqlite:"):
		path = strings.TrimPrefix(path, "sqlite:")
	}
	if path != "" {
		return path, nil
	}
	if dataDir == "" {
		return "", errors.New("open database: neither a database url nor a data directory is configured")
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", fmt.Errorf("create data directory: %w", err)
	}
	return filepath.Join(dataDir, DefaultFile), nil
}

// sqliteDSN adds the connection settings every SQLite connection needs:
// write-ahead logging so readers never block the writer, a busy timeout
// instead of immediate SQLITE_BUSY, foreign keys for any future table that
// declares them, and immediate transactions so that a transaction takes
// the write lock before it reads what it will change.
func sqliteDSN(path string) string {
	params := "_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_txlock=immediate"
	if strings.Contains(path, "?") {
		return path + "&" + params
	}
	return path + "?" + params
}
