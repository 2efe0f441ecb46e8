// Command caller logs in as a demo user and calls the orders service
// through the SDK's routing Transport, printing which versions served the
// calls (orders, and billing behind it) as a histogram, once or every
// interval, so that a binding change shows as it happens.
//
//	go run ./examples/caller -tenant acme -user alice -password "$ALICE_PASSWORD" -n 20
//
// With platform credentials (-token or -client-id/-client-secret) it
// decides locally from the routing snapshot and reports outcomes; with the
// user's login alone it asks the router's resolve API for every call.
// See examples/README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/greyrouter/greyrouter/examples/internal/demo"
	"github.com/greyrouter/greyrouter/sdk/router"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "caller:", err)
		os.Exit(1)
	}
}

// options are the caller's flags beyond where greyrouter is.
type options struct {
	demo.Greyrouter
	tenant, user, password string
	path                   string
	calls, rounds, keys    int
	every                  time.Duration
}

func parse(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("caller", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o.Bind(fs, getenv)
	fs.StringVar(&o.tenant, "tenant", "acme", "tenant to log in to")
	fs.StringVar(&o.user, "user", "alice", "user to log in as")
	fs.StringVar(&o.password, "password", getenv("DEMO_PASSWORD"), "the user's password ($DEMO_PASSWORD)")
	fs.StringVar(&o.path, "path", "/orders/42", "path to GET on orders")
	fs.IntVar(&o.calls, "n", 20, "calls per round")
	fs.IntVar(&o.rounds, "rounds", 1, "rounds to run; 0 until interrupted")
	fs.DurationVar(&o.every, "every", time.Second, "pause between rounds")
	fs.IntVar(&o.keys, "keys", 1, "spread the calls over this many sticky keys (user-1, user-2, ...), to see a percentage split")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	case o.password == "":
		return o, errors.New("-password (or $DEMO_PASSWORD) is required")
	case o.calls < 1 || o.keys < 1 || o.rounds < 0:
		return o, errors.New("-n and -keys must be at least 1, -rounds at least 0")
	}
	return o, o.Check()
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	o, err := parse(args, getenv, stderr)
	if err != nil {
		return err
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	token, err := demo.Login(ctx, hc, o.URL, o.tenant, o.user, o.password)
	if err != nil {
		return err
	}
	routes, mode, err := client(ctx, o, token)
	if err != nil {
		return err
	}
	defer routes.Close()
	orders := &http.Client{Timeout: 10 * time.Second, Transport: &router.Transport{
		Client: routes,
		Tenant: func(*http.Request) string { return o.tenant },
		Options: func(r *http.Request) router.ResolveOptions {
			key, _ := r.Context().Value(stickyKey{}).(string)
			return router.ResolveOptions{Key: key}
		},
	}}
	failed := 0
	for round := 1; o.rounds == 0 || round <= o.rounds; round++ {
		if round > 1 {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(o.every):
			}
		}
		seen := map[string]int{}
		for i := range o.calls {
			key := o.user
			if o.keys > 1 {
				key = "user-" + strconv.Itoa(i%o.keys+1)
			}
			a, err := call(ctx, orders, o.path, token, key)
			if err != nil {
				failed++
				seen["failed: "+err.Error()]++
				continue
			}
			seen[a.Hops()]++
		}
		fmt.Fprintf(stdout, "round %d: %d calls to orders as %s/%s (%s, revision %d)\n", round, o.calls, o.tenant, o.user, mode, routes.Revision())
		for _, hops := range slices.Sorted(maps.Keys(seen)) {
			fmt.Fprintf(stdout, "  %4d  %s\n", seen[hops], hops)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d calls failed", failed)
	}
	return nil
}

// client decides locally with platform credentials, else remotely with
// the user's own token (which may resolve for its own tenant).
func client(ctx context.Context, o options, userToken string) (*router.Client, string, error) {
	if !o.HasCredentials() {
		return router.NewHTTP(o.URL, router.StaticToken(userToken), nil), "resolve API", nil
	}
	tokens, err := o.Tokens()
	if err != nil {
		return nil, "", err
	}
	startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := router.NewLocal(startCtx, router.LocalConfig{RouterURL: o.URL, Tokens: router.TokenSource(tokens)})
	if err != nil {
		return nil, "", fmt.Errorf("fetch the routing snapshot: %w", err)
	}
	return c, "local decisions", nil
}

// stickyKey is the context key of a call's sticky key.
type stickyKey struct{}

// call sends one GET to orders with the user's token and sticky key.
func call(ctx context.Context, orders *http.Client, path, token, key string) (demo.Answer, error) {
	return demo.Get(context.WithValue(ctx, stickyKey{}, key), orders, "http://orders"+path, "Bearer "+token)
}
