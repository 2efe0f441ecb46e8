// Command billing is the demo's second hop: GET /invoices/{id} answers
// which version of billing served the caller, for which tenant, and in
// which release lane the request arrived.
//
//	go run ./examples/billing -version v2 -token "$TOKEN" -redis "$REDIS_URL"
//
// See examples/README.md.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/greyrouter/greyrouter/examples/internal/demo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "billing:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := demo.ParseService("billing", args, getenv, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil)).With("service", "billing", "version", cfg.Version)
	return demo.Serve(ctx, cfg, stdout, log, func(d demo.Deps) http.Handler {
		mux := http.NewServeMux()
		mux.HandleFunc("GET /invoices/{id}", func(w http.ResponseWriter, r *http.Request) {
			demo.WriteJSON(w, http.StatusOK, demo.Here(r, d.Config))
		})
		return mux
	})
}
