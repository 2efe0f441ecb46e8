package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// errUsage marks command-line mistakes (exit status 2); errHelp a --help.
var (
	errUsage = errors.New("usage error")
	errHelp  = errors.New("help requested")
)

func exitCode(err error) int {
	if errors.Is(err, errUsage) {
		return 2
	}
	return 1
}

// config is every setting of the binary. Each flag has an environment
// variable equivalent; a flag given on the command line wins.
type config struct {
	Addr               string
	DataDir            string
	DatabaseURL        string
	RedisURL           string
	RedisClusterAddrs  string
	RedisSentinelAddrs string
	RedisSentinelMain  string
	RedisPassword      string
	RedisPoolSize      int
	SkipMigrations     bool
	Demo               bool
	LogLevel           string
	LogFormat          string
	ShutdownTimeout    time.Duration
	ReconcileInterval  time.Duration
	ResyncInterval     time.Duration
	AdminToken         string // environment only: never a flag, so it stays out of ps
}

// setting describes one flag and its environment variable.
type setting struct {
	flag, env, help string
	bind            func(fs *flag.FlagSet, name, usage string)
	fromEnv         func(string) error
}

func settings(c *config) []setting {
	str := func(p *string, def string) (func(*flag.FlagSet, string, string), func(string) error) {
		*p = def
		return func(fs *flag.FlagSet, n, u string) { fs.StringVar(p, n, *p, u) },
			func(v string) error { *p = v; return nil }
	}
	boolean := func(p *bool) (func(*flag.FlagSet, string, string), func(string) error) {
		return func(fs *flag.FlagSet, n, u string) { fs.BoolVar(p, n, *p, u) },
			func(v string) error {
				b, err := strconv.ParseBool(v)
				*p = b
				return err
			}
	}
	integer := func(p *int, def int) (func(*flag.FlagSet, string, string), func(string) error) {
		*p = def
		return func(fs *flag.FlagSet, n, u string) { fs.IntVar(p, n, *p, u) },
			func(v string) error {
				i, err := strconv.Atoi(v)
				*p = i
				return err
			}
	}
	duration := func(p *time.Duration, def time.Duration) (func(*flag.FlagSet, string, string), func(string) error) {
		*p = def
		return func(fs *flag.FlagSet, n, u string) { fs.DurationVar(p, n, *p, u) },
			func(v string) error {
				d, err := time.ParseDuration(v)
				*p = d
				return err
			}
	}
	mk := func(f, env, help string, b func(*flag.FlagSet, string, string), e func(string) error) setting {
		return setting{flag: f, env: env, help: help, bind: b, fromEnv: e}
	}
	var out []setting
	add := func(s setting) { out = append(out, s) }
	b, e := str(&c.Addr, ":8080")
	add(mk("addr", "GREYROUTER_ADDR", "HTTP listen address", b, e))
	b, e = str(&c.DataDir, "greyrouter-data")
	add(mk("data-dir", "GREYROUTER_DATA_DIR", "directory for the embedded SQLite database and the generated admin token", b, e))
	b, e = str(&c.DatabaseURL, "")
	add(mk("database-url", "DATABASE_URL", "postgres://user:pass@host/db, or a SQLite file path (sqlite:path); empty: SQLite in --data-dir", b, e))
	b, e = str(&c.RedisURL, "")
	add(mk("redis-url", "REDIS_URL", "redis:// or rediss:// URL of a standalone Redis; empty (and no cluster or sentinel): embedded in-process Redis, for evaluation only", b, e))
	b, e = str(&c.RedisClusterAddrs, "")
	add(mk("redis-cluster-addrs", "REDIS_CLUSTER_ADDRS", "comma-separated host:port seeds of a Redis Cluster", b, e))
	b, e = str(&c.RedisSentinelAddrs, "")
	add(mk("redis-sentinel-addrs", "REDIS_SENTINEL_ADDRS", "comma-separated host:port of Redis Sentinels (with --redis-sentinel-master)", b, e))
	b, e = str(&c.RedisSentinelMain, "")
	add(mk("redis-sentinel-master", "REDIS_SENTINEL_MASTER", "name of the Sentinel-monitored master", b, e))
	b, e = str(&c.RedisPassword, "")
	add(mk("redis-password", "REDIS_PASSWORD", "password for Cluster or Sentinel nodes (a REDIS_URL carries its own)", b, e))
	b, e = integer(&c.RedisPoolSize, 64)
	add(mk("redis-pool-size", "GREYROUTER_REDIS_POOL_SIZE", "Redis connections per node; decisions under load need one per concurrent request", b, e))
	b, e = boolean(&c.SkipMigrations)
	add(mk("skip-migrations", "GREYROUTER_SKIP_MIGRATIONS", "do not apply pending database migrations at start", b, e))
	b, e = boolean(&c.Demo)
	add(mk("demo", "GREYROUTER_DEMO", "seed demo tenants, services, versions and instances (idempotent)", b, e))
	b, e = str(&c.LogLevel, "info")
	add(mk("log-level", "GREYROUTER_LOG_LEVEL", "debug, info, warn or error", b, e))
	b, e = str(&c.LogFormat, "text")
	add(mk("log-format", "GREYROUTER_LOG_FORMAT", "text or json", b, e))
	b, e = duration(&c.ShutdownTimeout, 15*time.Second)
	add(mk("shutdown-timeout", "GREYROUTER_SHUTDOWN_TIMEOUT", "how long in-flight requests may finish after SIGTERM", b, e))
	b, e = duration(&c.ReconcileInterval, time.Second)
	add(mk("reconcile-interval", "GREYROUTER_RECONCILE_INTERVAL", "how often to check that Redis still holds the routing table", b, e))
	b, e = duration(&c.ResyncInterval, time.Minute)
	add(mk("resync-interval", "GREYROUTER_RESYNC_INTERVAL", "how often to re-project every service from the database regardless", b, e))
	return out
}

// parseConfig reads environment variables, then flags (which win).
func parseConfig(name string, args []string, getenv func(string) string, stderr io.Writer, only ...string) (config, []string, error) {
	var c config
	fs := flag.NewFlagSet("greyrouter "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	all := settings(&c)
	var used []setting
	for _, s := range all {
		if len(only) > 0 && !contains(only, s.flag) {
			continue
		}
		used = append(used, s)
		if v := getenv(s.env); v != "" {
			if err := s.fromEnv(v); err != nil {
				return c, nil, fmt.Errorf("%w: %s=%q: %v", errUsage, s.env, v, err)
			}
		}
		s.bind(fs, s.flag, s.help)
	}
	c.AdminToken = getenv("GREYROUTER_ADMIN_TOKEN")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(stderr, name, fs, used)
			return c, nil, errHelp
		}
		printUsage(stderr, name, fs, used)
		return c, nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	return c, fs.Args(), nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func printUsage(w io.Writer, name string, fs *flag.FlagSet, used []setting) {
	fmt.Fprintf(w, "Usage: greyrouter %s [flags]\n\n%s\n\nFlags (each also read from the environment variable shown):\n", name, commandHelp[name])
	for _, s := range used {
		f := fs.Lookup(s.flag)
		def := ""
		if f.DefValue != "" && f.DefValue != "false" {
			def = fmt.Sprintf(" (default %q)", f.DefValue)
		}
		fmt.Fprintf(w, "  --%s, $%s\n        %s%s\n", s.flag, s.env, s.help, def)
	}
	if name == "serve" {
		fmt.Fprintf(w, "\nEnvironment only:\n  $GREYROUTER_ADMIN_TOKEN\n        bearer token for the admin and resolve APIs (break-glass credential);\n        when unset, one is generated at first start, stored in <data-dir>/admin-token (mode 0600) and printed once\n")
	}
}

var commandHelp = map[string]string{
	"serve": "Runs the HTTP API (admin, resolve, report), /healthz, /readyz and /metrics.\n" +
		"With no DATABASE_URL it uses SQLite in --data-dir; with no Redis configured it runs an\n" +
		"embedded in-process Redis (single node, for evaluation only).",
	"migrate": "Applies (up), reverts one (down) or lists (status) the embedded database migrations:\n" +
		"  greyrouter migrate up|down|status [flags]",
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
