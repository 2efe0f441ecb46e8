package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
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
	Issuer             string
	Audience           string
	AccessTokenTTL     time.Duration
	SessionIdle        time.Duration
	SessionLifetime    time.Duration
	MaxSessions        int
	SigningAlgorithm   string
	KeyRotation        time.Duration
	KeyOverlap         time.Duration
	DisableBootstrap   bool
	HashConcurrency    int
	HashQueue          int
	RevocationStale    time.Duration
	DrainGrace         time.Duration
	DrainMax           time.Duration
	NacosAddrs         string
	NacosNamespace     string
	NacosGroup         string
	NacosVersionKey    string
	NacosUsername      string
	NacosCreateVers    bool
	NacosRegister      string
	NacosServiceName   string
	PrivilegePoll      time.Duration
	PrivilegeL1Size    int
	PrivilegeStaleness time.Duration
	PrivilegeRetention time.Duration
	NacosPassword      string // environment only
	AdminToken         string // environment only: never a flag, so it stays out of ps
	KeyEncryptionKey   string // environment only, like AdminToken
}

// setting is one flag and the environment variable that sets it too.
type setting struct {
	flag, env string
}

// bind registers every flag on fs with its default, and returns the
// settings in --help order.
func bind(fs *flag.FlagSet, c *config) []setting {
	var out []setting
	add := func(name, env string) { out = append(out, setting{name, env}) }
	fs.StringVar(&c.Addr, "addr", ":8080", "HTTP listen address")
	add("addr", "GREYROUTER_ADDR")
	fs.StringVar(&c.DataDir, "data-dir", "greyrouter-data", "directory for the embedded SQLite database and the generated admin token")
	add("data-dir", "GREYROUTER_DATA_DIR")
	fs.StringVar(&c.DatabaseURL, "database-url", "", "postgres://user:pass@host/db, or a SQLite file path (sqlite:path); empty: SQLite in --data-dir")
	add("database-url", "DATABASE_URL")
	fs.StringVar(&c.RedisURL, "redis-url", "", "redis:// or rediss:// URL of a standalone Redis; empty (and no cluster or sentinel): embedded in-process Redis, for evaluation only")
	add("redis-url", "REDIS_URL")
	fs.StringVar(&c.RedisClusterAddrs, "redis-cluster-addrs", "", "comma-separated host:port seeds of a Redis Cluster")
	add("redis-cluster-addrs", "REDIS_CLUSTER_ADDRS")
	fs.StringVar(&c.RedisSentinelAddrs, "redis-sentinel-addrs", "", "comma-separated host:port of Redis Sentinels (with --redis-sentinel-master)")
	add("redis-sentinel-addrs", "REDIS_SENTINEL_ADDRS")
	fs.StringVar(&c.RedisSentinelMain, "redis-sentinel-master", "", "name of the Sentinel-monitored master")
	add("redis-sentinel-master", "REDIS_SENTINEL_MASTER")
	fs.StringVar(&c.RedisPassword, "redis-password", "", "password for Cluster or Sentinel nodes (a REDIS_URL carries its own)")
	add("redis-password", "REDIS_PASSWORD")
	fs.IntVar(&c.RedisPoolSize, "redis-pool-size", 64, "Redis connections per node")
	add("redis-pool-size", "GREYROUTER_REDIS_POOL_SIZE")
	fs.BoolVar(&c.SkipMigrations, "skip-migrations", false, "do not apply pending database migrations at start")
	add("skip-migrations", "GREYROUTER_SKIP_MIGRATIONS")
	fs.BoolVar(&c.Demo, "demo", false, "seed demo tenants, services, versions and instances (idempotent)")
	add("demo", "GREYROUTER_DEMO")
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	add("log-level", "GREYROUTER_LOG_LEVEL")
	fs.StringVar(&c.LogFormat, "log-format", "text", "text or json")
	add("log-format", "GREYROUTER_LOG_FORMAT")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 15*time.Second, "how long in-flight requests may finish after SIGTERM")
	add("shutdown-timeout", "GREYROUTER_SHUTDOWN_TIMEOUT")
	fs.DurationVar(&c.ReconcileInterval, "reconcile-interval", time.Second, "how often to check that Redis still holds the routing table")
	add("reconcile-interval", "GREYROUTER_RECONCILE_INTERVAL")
	fs.DurationVar(&c.ResyncInterval, "resync-interval", time.Minute, "how often to re-project every service from the database regardless")
	add("resync-interval", "GREYROUTER_RESYNC_INTERVAL")
	fs.StringVar(&c.Issuer, "issuer", "greyrouter", "iss claim of access tokens; verifiers must be configured with the same value")
	add("issuer", "GREYROUTER_ISSUER")
	fs.StringVar(&c.Audience, "audience", "greyrouter", "aud claim of access tokens")
	add("audience", "GREYROUTER_AUDIENCE")
	fs.DurationVar(&c.AccessTokenTTL, "access-token-ttl", 10*time.Minute, "access token lifetime (1m-60m; 5m-15m recommended)")
	add("access-token-ttl", "GREYROUTER_ACCESS_TOKEN_TTL")
	fs.DurationVar(&c.SessionIdle, "session-idle-timeout", 30*time.Minute, "a session unused (no cookie request, no refresh) for this long ends")
	add("session-idle-timeout", "GREYROUTER_SESSION_IDLE_TIMEOUT")
	fs.DurationVar(&c.SessionLifetime, "session-lifetime", 12*time.Hour, "absolute session lifetime; refresh tokens end with their session")
	add("session-lifetime", "GREYROUTER_SESSION_LIFETIME")
	fs.IntVar(&c.MaxSessions, "max-sessions-per-user", 0, "when positive, a login beyond this many sessions ends the user's oldest")
	add("max-sessions-per-user", "GREYROUTER_MAX_SESSIONS_PER_USER")
	fs.StringVar(&c.SigningAlgorithm, "signing-algorithm", "EdDSA", "access token signature: EdDSA (Ed25519) or ES256")
	add("signing-algorithm", "GREYROUTER_SIGNING_ALGORITHM")
	fs.DurationVar(&c.KeyRotation, "key-rotation-interval", 30*24*time.Hour, "rotate the signing key when it is this old (0: only on request)")
	add("key-rotation-interval", "GREYROUTER_KEY_ROTATION_INTERVAL")
	fs.DurationVar(&c.KeyOverlap, "key-rotation-overlap", 5*time.Minute, "how long a new signing key is published in the JWKS before it signs")
	add("key-rotation-overlap", "GREYROUTER_KEY_ROTATION_OVERLAP")
	fs.BoolVar(&c.DisableBootstrap, "disable-bootstrap-token", false, "refuse the break-glass admin token (once platform administrators exist)")
	add("disable-bootstrap-token", "GREYROUTER_DISABLE_BOOTSTRAP_TOKEN")
	fs.IntVar(&c.HashConcurrency, "password-hash-concurrency", 0, "password hashes computed at once (argon2id, 19 MiB each); 0: one per CPU")
	add("password-hash-concurrency", "GREYROUTER_PASSWORD_HASH_CONCURRENCY")
	fs.IntVar(&c.HashQueue, "password-hash-queue", 0, "password checks that may wait for a hash slot; beyond, 503 with Retry-After (0: 64 per slot)")
	add("password-hash-queue", "GREYROUTER_PASSWORD_HASH_QUEUE")
	fs.DurationVar(&c.RevocationStale, "revocation-max-staleness", time.Minute, "refuse access tokens (503) when this process could not read revocations for this long (0: never refuse); the break-glass token still works")
	add("revocation-max-staleness", "GREYROUTER_REVOCATION_MAX_STALENESS")
	fs.DurationVar(&c.DrainGrace, "drain-grace", 5*time.Second, "a draining instance stays at least this long after its last least-connections lease ends")
	add("drain-grace", "GREYROUTER_DRAIN_GRACE")
	fs.DurationVar(&c.DrainMax, "drain-max", 10*time.Minute, "a draining instance is removed after this long whatever its leases")
	add("drain-max", "GREYROUTER_DRAIN_MAX")
	fs.StringVar(&c.NacosAddrs, "nacos-addrs", "", "comma-separated host:port of Nacos servers (HTTP port; gRPC is port+1000); empty: no Nacos sync")
	add("nacos-addrs", "NACOS_ADDRS")
	fs.StringVar(&c.NacosNamespace, "nacos-namespace", "", "Nacos namespace id (empty: public)")
	add("nacos-namespace", "NACOS_NAMESPACE")
	fs.StringVar(&c.NacosGroup, "nacos-group", "DEFAULT_GROUP", "Nacos group of the services")
	add("nacos-group", "NACOS_GROUP")
	fs.StringVar(&c.NacosVersionKey, "nacos-version-key", "version", "instance metadata key that carries the version")
	add("nacos-version-key", "NACOS_VERSION_KEY")
	fs.StringVar(&c.NacosUsername, "nacos-username", "", "Nacos user (password: $NACOS_PASSWORD)")
	add("nacos-username", "NACOS_USERNAME")
	fs.BoolVar(&c.NacosCreateVers, "nacos-create-versions", true, "create router versions announced by Nacos instances (as revisions); false: leave such instances out")
	add("nacos-create-versions", "NACOS_CREATE_VERSIONS")
	fs.StringVar(&c.NacosRegister, "nacos-register", "", "register this greyrouter in Nacos at this host:port (the address others reach it at); empty: do not")
	add("nacos-register", "NACOS_REGISTER")
	fs.StringVar(&c.NacosServiceName, "nacos-service-name", "greyrouter", "service name greyrouter registers itself under")
	add("nacos-service-name", "NACOS_SERVICE_NAME")
	fs.DurationVar(&c.PrivilegePoll, "privilege-poll-interval", time.Second, "how often every tenant's policy version is read, to catch change announcements missed")
	add("privilege-poll-interval", "GREYROUTER_PRIVILEGE_POLL_INTERVAL")
	fs.IntVar(&c.PrivilegeL1Size, "privilege-l1-size", 100_000, "privilege decisions cached in process (W-TinyLFU)")
	add("privilege-l1-size", "GREYROUTER_PRIVILEGE_L1_SIZE")
	fs.DurationVar(&c.PrivilegeStaleness, "privilege-max-staleness", 5*time.Minute, "cached privilege answers are trusted this long after the policy versions were last confirmed; past it, checks the database cannot answer fail closed")
	add("privilege-max-staleness", "GREYROUTER_PRIVILEGE_MAX_STALENESS")
	fs.DurationVar(&c.PrivilegeRetention, "privilege-audit-retention", 30*24*time.Hour, "audited privilege decisions older than this are deleted (hourly); 0 keeps them forever")
	add("privilege-audit-retention", "GREYROUTER_PRIVILEGE_AUDIT_RETENTION")
	return out
}

// parseConfig applies environment variables, then flags (which win). only,
// when given, limits the flags a command accepts.
func parseConfig(name string, args []string, getenv func(string) string, stderr io.Writer, only ...string) (config, []string, error) {
	var c config
	all := flag.NewFlagSet("all", flag.ContinueOnError)
	fs := flag.NewFlagSet("greyrouter "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var used []setting
	for _, s := range bind(all, &c) {
		if len(only) > 0 && !contains(only, s.flag) {
			continue
		}
		f := all.Lookup(s.flag)
		fs.Var(f.Value, f.Name, f.Usage)
		used = append(used, s)
		if v := getenv(s.env); v != "" {
			if err := fs.Set(s.flag, v); err != nil {
				return c, nil, fmt.Errorf("%w: %s=%q: %v", errUsage, s.env, v, err)
			}
		}
	}
	c.AdminToken = getenv("GREYROUTER_ADMIN_TOKEN")
	c.KeyEncryptionKey = getenv("GREYROUTER_KEY_ENCRYPTION_KEY")
	c.NacosPassword = getenv("NACOS_PASSWORD")
	if err := fs.Parse(args); err != nil {
		printUsage(stderr, name, all, used)
		if errors.Is(err, flag.ErrHelp) {
			return c, nil, errHelp
		}
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

// printUsage documents the command's flags with their defaults (taken from
// defaults, the flag set bind filled before any environment was applied).
func printUsage(w io.Writer, name string, defaults *flag.FlagSet, used []setting) {
	fmt.Fprintf(w, "Usage: greyrouter %s [flags]\n\n%s\n\nFlags (each also read from the environment variable shown):\n", name, commandHelp[name])
	for _, s := range used {
		f := defaults.Lookup(s.flag)
		def := ""
		if f.DefValue != "" && f.DefValue != "false" {
			def = fmt.Sprintf(" (default %q)", f.DefValue)
		}
		fmt.Fprintf(w, "  --%s, $%s\n        %s%s\n", s.flag, s.env, f.Usage, def)
	}
	if name == "serve" {
		fmt.Fprintf(w, "\nEnvironment only:\n  $GREYROUTER_ADMIN_TOKEN\n        break-glass bootstrap token: a platform-administrator bearer for first start (create\n        platform administrators with it, then log in and consider --disable-bootstrap-token);\n        when unset, one is generated at first start, stored in <data-dir>/admin-token (mode 0600) and printed once\n"+
			"  $GREYROUTER_KEY_ENCRYPTION_KEY\n        base64 of 32 random bytes; encrypts the token signing keys stored in the database (AES-256-GCM);\n        when unset, one is generated at first start and stored in <data-dir>/key-encryption-key (mode 0600)\n")
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
