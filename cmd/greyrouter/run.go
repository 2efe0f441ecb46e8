package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"

	"github.com/greyrouter/greyrouter/internal/dbx"
)

const topUsage = `greyrouter: multi-tenant grey-release router.

Usage:
  greyrouter serve [flags]              run the server (try: greyrouter serve --demo)
  greyrouter migrate up|down|status     manage the database schema
  greyrouter healthcheck [URL]          exit 0 if URL (default http://127.0.0.1:8080/readyz) answers 200
  greyrouter help [command]             show help for a command

Run "greyrouter <command> --help" for the flags of a command.
`

// run is the whole program; main only wires the process to it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return runWith(ctx, args, getenv, stdout, stderr, nil)
}

// runWith is run with a hook told the listening address (tests use port 0).
func runWith(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, onListen func(net.Addr)) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, topUsage)
		return fmt.Errorf("%w: no command given", errUsage)
	}
	var err error
	switch args[0] {
	case "serve":
		err = serveCommand(ctx, args[1:], getenv, stdout, stderr, onListen)
	case "migrate":
		err = migrateCommand(ctx, args[1:], getenv, stdout, stderr)
	case "healthcheck":
		err = healthcheckCommand(ctx, args[1:], stdout)
	case "help", "-h", "--help", "-help":
		if len(args) > 1 {
			return runWith(ctx, []string{args[1], "--help"}, getenv, stdout, stderr, onListen)
		}
		fmt.Fprint(stdout, topUsage)
		return nil
	default:
		fmt.Fprint(stderr, topUsage)
		return fmt.Errorf("%w: unknown command %q", errUsage, args[0])
	}
	if errors.Is(err, errHelp) {
		return nil
	}
	return err
}

func newLogger(c config, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return nil, fmt.Errorf("%w: log level %q: want debug, info, warn or error", errUsage, c.LogLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(c.LogFormat) {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("%w: log format %q: want text or json", errUsage, c.LogFormat)
}

func migrateCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, rest, err := parseConfig("migrate", args, getenv, stderr, "data-dir", "database-url", "log-level", "log-format")
	if err != nil {
		return err
	}
	if len(rest) != 1 || (rest[0] != "up" && rest[0] != "down" && rest[0] != "status") {
		fmt.Fprint(stderr, commandHelp["migrate"]+"\n")
		return fmt.Errorf("%w: migrate needs exactly one of up, down, status", errUsage)
	}
	log, err := newLogger(c, stderr)
	if err != nil {
		return err
	}
	db, err := dbx.Open(ctx, c.DatabaseURL, c.DataDir, log)
	if err != nil {
		return err
	}
	defer db.Close()
	out, err := dbx.Migrate(ctx, db, rest[0])
	if out != "" {
		fmt.Fprintln(stdout, out)
	}
	return err
}

// fileExists is a small helper for the admin token file.
func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
