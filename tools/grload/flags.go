package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"time"
)

// bounds are the limits every load run shares.
type bounds struct {
	concurrency int
	duration    time.Duration
	requests    int64
}

func (b *bounds) bind(fs *flag.FlagSet, concurrency int, duration time.Duration) {
	fs.IntVar(&b.concurrency, "concurrency", concurrency, "concurrent callers")
	fs.DurationVar(&b.duration, "duration", duration, "total measuring time (at most 15m)")
	fs.Int64Var(&b.requests, "requests", 0, "stop after this many calls in total as well (0: no limit)")
}

func (b bounds) valid() error {
	switch {
	case b.concurrency < 1 || b.concurrency > 4096:
		return fmt.Errorf("%w: --concurrency must be 1..4096", errUsage)
	case b.duration <= 0 || b.duration > 15*time.Minute:
		return fmt.Errorf("%w: --duration must be in (0, 15m]", errUsage)
	case b.requests < 0:
		return fmt.Errorf("%w: --requests must not be negative", errUsage)
	}
	return nil
}

// parse parses a subcommand's flags, printing its help on --help or a
// mistake.
func parse(fs *flag.FlagSet, summary string, args []string, stdout, stderr io.Writer) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	printHelp := func(w io.Writer) {
		fmt.Fprintf(w, "Usage: %s [flags]\n\n%s\n\nFlags:\n", fs.Name(), summary)
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		printHelp(stdout)
		return errHelp
	case err != nil:
		printHelp(stderr)
		return fmt.Errorf("%w: %v", errUsage, err)
	case fs.NArg() > 0:
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	return nil
}

// loopbackAddr checks that host:port names this machine, so that the tool
// cannot be pointed at someone else's server.
func loopbackAddr(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%w: address %q: %v", errUsage, addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%w: %q is not a loopback address (127.0.0.1, ::1 or localhost); grload only loads this machine", errUsage, addr)
}

// loopbackURL checks an http:// URL the same way.
func loopbackURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: --url %q must be an absolute http:// URL", errUsage, raw)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), map[string]string{"http": "80", "https": "443"}[u.Scheme])
	}
	if err := loopbackAddr(host); err != nil {
		return nil, err
	}
	return u, nil
}

func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}
