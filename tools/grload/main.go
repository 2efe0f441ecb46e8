// Command grload drives greyrouter's benchmarks on one machine: it measures
// remote routing decisions against a raw EVALSHA peer on a real Redis, drives
// the HTTP resolve API, and serves a trivial gin handler as the HTTP peer.
// Every target must be on loopback, and every load run is bounded by
// --duration and --requests. BENCHMARKS.md gives the exact commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// errHelp marks a --help request; errUsage a command-line mistake.
var (
	errHelp  = errors.New("help requested")
	errUsage = errors.New("usage error")
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil, errors.Is(err, errHelp):
	case errors.Is(err, errUsage):
		fmt.Fprintln(os.Stderr, "grload:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "grload:", err)
		os.Exit(1)
	}
}

const usage = `Usage: grload <command> [flags]

Commands:
  redis   remote decisions (redisstore Decide) vs a raw EVALSHA of a minimal
          script, interleaved in rounds, against a real Redis on loopback
  http    POST /api/v1/resolve load against a greyrouter on loopback
  hello   serve a trivial gin JSON handler, the HTTP peer for wrk runs
  login   password logins at saturation vs cores / argon2id time per hash
  revocation
          time from logout until independent verifiers reject the token
  sdkauth time from logout until services behind sdk/auth middleware answer 401
  nacos   time from a Nacos registration until routing decisions use it
  privilege
          time from a role grant/revoke until every instance answers it

Run 'grload <command> --help' for the flags of a command.
`

// run dispatches to a subcommand; stdout gets results, stderr logs.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: a command is required", errUsage)
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	case "redis":
		return redisCommand(ctx, args[1:], stdout, stderr)
	case "http":
		return httpCommand(ctx, args[1:], stdout, stderr)
	case "hello":
		return helloCommand(ctx, args[1:], stdout, stderr)
	case "login":
		return loginCommand(ctx, args[1:], stdout, stderr)
	case "revocation":
		return revocationCommand(ctx, args[1:], stdout, stderr)
	case "sdkauth":
		return sdkauthCommand(ctx, args[1:], stdout, stderr)
	case "nacos":
		return nacosCommand(ctx, args[1:], stdout, stderr)
	case "privilege":
		return privilegeCommand(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("%w: unknown command %q", errUsage, args[0])
}
