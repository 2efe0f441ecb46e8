package registry_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/greyrouter/greyrouter/router/nacos"
	"github.com/greyrouter/greyrouter/sdk/registry"
)

// A service registers itself once it listens, and on SIGTERM leaves in this
// order: drain and deregister the instance (callers stop choosing it, and
// what they already chose still gets answered), then stop the HTTP server.
func Example() {
	routerURL, closeRouter := fakeRouter() // e.g. "http://greyrouter:8080"
	defer closeRouter()

	// Stands in for signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt).
	stop, terminate := context.WithCancel(context.Background())

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "orders v2")
	})}
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			log.Fatal(err)
		}
	}()

	startCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	reg, err := registry.Register(startCtx,
		// In production: registry.ClientCredentials(routerURL, id, secret, nil)
		// of a platform machine client.
		registry.WithRouter(routerURL, registry.StaticToken("admin-token")),
		registry.Instance{Service: "orders", ID: "orders-1", Version: "v2", Address: ln.Addr().String()},
		registry.Options{TTL: 15 * time.Second, DrainFor: 100 * time.Millisecond, Log: slog.Default()})
	if err != nil {
		log.Fatal(err)
	}

	terminate()
	<-stop.Done()

	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := reg.Shutdown(shutdownCtx); err != nil { // drain, wait DrainFor, deregister
		log.Print(err)
	}
	if err := srv.Shutdown(shutdownCtx); err != nil { // then finish in-flight requests
		log.Print(err)
	}
	fmt.Println("server stopped")
	// Output:
	// POST /api/v1/services/orders/instances
	// PATCH /api/v1/services/orders/instances/orders-1 {"draining":true}
	// DELETE /api/v1/services/orders/instances/orders-1
	// server stopped
}

// fakeRouter answers the instance routes the way greyrouter does and
// prints each call but heartbeats (their number depends on timing).
func fakeRouter() (url string, close func()) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer admin-token" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if !strings.HasSuffix(r.URL.Path, "/heartbeat") {
			line := r.Method + " " + r.URL.Path
			if r.Method == http.MethodPatch {
				b, _ := io.ReadAll(r.Body)
				line += " " + string(b)
			}
			fmt.Println(line)
		}
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/instances") {
			w.WriteHeader(http.StatusCreated)
		}
		fmt.Fprint(w, "{}")
	}))
	return srv.URL, srv.Close
}

// Services that register in Nacos hand the helper their naming client; the
// router learns of the instance through its Nacos sync.
func ExampleWithNacos() {
	naming, err := nacos.NewNaming(nacos.ClientConfig{Servers: []string{"nacos:8848"},
		CacheDir: "/var/cache/orders/nacos", LogDir: "/var/log/orders/nacos"})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	reg, err := registry.Register(ctx, registry.WithNacos(naming, "DEFAULT_GROUP"),
		registry.Instance{Service: "orders", Version: "v2", Address: "10.0.0.7:8080"},
		registry.Options{DrainFor: 10 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	// On SIGTERM, before the HTTP server's Shutdown: disable, wait,
	// deregister, close the naming client.
	_ = reg.Shutdown(context.Background())
}

// A platform machine client's credentials give the bearer tokens; the
// source caches each token until shortly before it expires.
func ExampleClientCredentials() {
	const routerURL = "http://greyrouter:8080"
	tokens := registry.ClientCredentials(routerURL, "orders-registrar", "client-secret", nil)
	_ = registry.WithRouter(routerURL, tokens)
}
