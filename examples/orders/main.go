// Command orders is the demo's front service: GET /orders/{id} answers
// which version of orders served the caller, and which version of billing
// it reached in turn through the SDK's routing Transport, passing the
// caller's token and release lane on.
//
//	go run ./examples/orders -version v2 -token "$TOKEN" -redis "$REDIS_URL"
//
// See examples/README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"github.com/greyrouter/greyrouter/examples/internal/demo"
	"github.com/greyrouter/greyrouter/sdk/router"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "orders:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := demo.ParseService("orders", args, getenv, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil)).With("service", "orders", "version", cfg.Version)
	return demo.Serve(ctx, cfg, stdout, log, func(d demo.Deps) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("GET /orders/{id}", getOrder(d))
		return mux
	})
}

// getOrder answers for this instance and for the billing instance the
// router chose for the caller's tenant and lane.
func getOrder(d demo.Deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		here := demo.Here(r, d.Config)
		// r.Context() carries the lane: a request that entered orders v2
		// goes on to billing v2 when billing has one.
		inv, err := demo.Get(r.Context(), d.Downstream, "http://billing/invoices/"+url.PathEscape(r.PathValue("id")), r.Header.Get("Authorization"))
		if err != nil {
			code := "unavailable"
			if errors.Is(err, router.ErrNotFound) {
				code = "not_found"
			}
			var se *demo.StatusError
			if errors.As(err, &se) && se.Code != "" {
				code = se.Code
			}
			d.Log.Warn("billing call failed", "tenant", here.Tenant, "lane", here.Lane, "err", err)
			demo.WriteError(w, http.StatusBadGateway, code, "orders "+d.Config.Version+": call billing: "+err.Error())
			return
		}
		here.Billing = &inv
		demo.WriteJSON(w, http.StatusOK, here)
	}
}
