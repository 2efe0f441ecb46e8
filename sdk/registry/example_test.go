package registry_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
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
// prints each call but heartbeats (their number depends on timing). It
// accepts the bearer token "admin-token" only.
func fakeRouter() (url string, close func()) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer admin-token" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":{"code":"unauthenticated","message":"invalid or expired token"}}`)
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

// Register goes after the server listens, with a deadline for the
// start-up: transient failures are retried until it ends, while an
// invalid instance, an unknown version or a refused credential fail at
// once. An instance without an ID is named after its address.
func ExampleRegister() {
	routerURL, closeRouter := fakeRouter()
	defer closeRouter()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	backend := registry.WithRouter(routerURL, registry.StaticToken("admin-token"))

	reg, err := registry.Register(ctx, backend, registry.Instance{
		Service:  "orders",
		Version:  "v2",            // must exist in the router
		Address:  "10.0.0.7:8080", // where callers reach this process
		Weight:   100,
		Metadata: map[string]string{"zone": "eu-1a"},
	}, registry.Options{TTL: 15 * time.Second, DrainFor: 10 * time.Millisecond})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("registered as", reg.Instance().ID)
	if err := reg.Shutdown(ctx); err != nil {
		log.Print(err)
	}

	_, err = registry.Register(ctx, backend, registry.Instance{Service: "orders", Version: "v2", Address: "10.0.0.7"}, registry.Options{})
	fmt.Println(err)
	// Output:
	// POST /api/v1/services/orders/instances
	// registered as 10.0.0.7-8080
	// PATCH /api/v1/services/orders/instances/10.0.0.7-8080 {"draining":true}
	// DELETE /api/v1/services/orders/instances/10.0.0.7-8080
	// register instance: address "10.0.0.7" must be host:port
}

// Instance returns what was registered, its ID filled in: what logs and
// metrics of the process should name it by.
func ExampleRegistration_Instance() {
	routerURL, closeRouter := fakeRouter()
	defer closeRouter()
	ctx := context.Background()
	reg, err := registry.Register(ctx, registry.WithRouter(routerURL, registry.StaticToken("admin-token")),
		registry.Instance{Service: "orders", Version: "v2", Address: "10.0.0.7:8080"}, registry.Options{DrainFor: -1})
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Shutdown(ctx)

	in := reg.Instance()
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr { // no timestamps, for the example's output
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})).With("service", in.Service, "instance", in.ID, "version", in.Version)
	logger.Info("serving", "address", in.Address)
	// Output:
	// POST /api/v1/services/orders/instances
	// level=INFO msg=serving service=orders instance=10.0.0.7-8080 version=v2 address=10.0.0.7:8080
	// PATCH /api/v1/services/orders/instances/10.0.0.7-8080 {"draining":true}
	// DELETE /api/v1/services/orders/instances/10.0.0.7-8080
}

// Drain starts the drain before Shutdown, as soon as the process knows
// it will go (a pre-stop hook, a readiness probe that starts failing):
// from its return the router sends the instance no new decisions.
// Shutdown then only waits out DrainFor and deregisters.
func ExampleRegistration_Drain() {
	routerURL, closeRouter := fakeRouter()
	defer closeRouter()
	ctx := context.Background()
	reg, err := registry.Register(ctx, registry.WithRouter(routerURL, registry.StaticToken("admin-token")),
		registry.Instance{Service: "orders", ID: "orders-1", Version: "v2", Address: "10.0.0.7:8080"},
		registry.Options{DrainFor: 50 * time.Millisecond})
	if err != nil {
		log.Fatal(err)
	}

	preStop := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := reg.Drain(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		fmt.Fprintln(w, "draining")
	})
	rec := httptest.NewRecorder()
	preStop.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/prestop", nil))
	fmt.Print(rec.Body.String())

	// SIGTERM follows.
	if err := reg.Shutdown(ctx); err != nil {
		log.Print(err)
	}
	// Output:
	// POST /api/v1/services/orders/instances
	// PATCH /api/v1/services/orders/instances/orders-1 {"draining":true}
	// draining
	// DELETE /api/v1/services/orders/instances/orders-1
}

// Shutdown is bounded by its context, within the process's grace period:
// when the context ends during the drain wait, the instance is still
// deregistered, briefly, rather than left for the router to remove. A
// second call does nothing.
func ExampleRegistration_Shutdown() {
	routerURL, closeRouter := fakeRouter()
	defer closeRouter()
	reg, err := registry.Register(context.Background(), registry.WithRouter(routerURL, registry.StaticToken("admin-token")),
		registry.Instance{Service: "orders", ID: "orders-1", Version: "v2", Address: "10.0.0.7:8080"},
		registry.Options{DrainFor: 10 * time.Second})
	if err != nil {
		log.Fatal(err)
	}

	// A grace period shorter than DrainFor.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	fmt.Println("shutdown:", reg.Shutdown(ctx))
	fmt.Println("again:", reg.Shutdown(ctx))
	// Output:
	// POST /api/v1/services/orders/instances
	// PATCH /api/v1/services/orders/instances/orders-1 {"draining":true}
	// DELETE /api/v1/services/orders/instances/orders-1
	// shutdown: <nil>
	// again: <nil>
}

// In production the router backend gets a platform machine client's
// tokens; the HTTP client is replaced only for special needs
// (HTTPClient). (Not run: it needs the router.)
func ExampleWithRouter() {
	const routerURL = "http://greyrouter:8080"
	backend := registry.WithRouter(routerURL,
		registry.ClientCredentials(routerURL, "orders-registrar", os.Getenv("REGISTRAR_SECRET"), nil))

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	reg, err := registry.Register(ctx, backend, registry.Instance{
		Service: "orders",
		Version: os.Getenv("ORDERS_VERSION"),   // e.g. "v2", from the deployment
		Address: os.Getenv("POD_IP") + ":8080", // e.g. Kubernetes' status.podIP
	}, registry.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Shutdown(context.Background())
}

// HTTPClient replaces the client for the router's API, for instance to
// trust the private CA of a router served over TLS. (Not run: it needs
// the router and its CA.)
func ExampleHTTPClient() {
	caPEM, err := os.ReadFile("/etc/greyrouter/ca.pem")
	if err != nil {
		log.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		log.Fatal("no certificate in /etc/greyrouter/ca.pem")
	}
	hc := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}},
	}
	const routerURL = "https://greyrouter:8443"
	backend := registry.WithRouter(routerURL,
		registry.ClientCredentials(routerURL, "orders-registrar", os.Getenv("REGISTRAR_SECRET"), hc),
		registry.HTTPClient(hc))
	_ = backend // registry.Register(ctx, backend, ...)
}

// StaticToken suits tests and bootstraps with the router's admin token.
// A token the router refuses fails Register at once: retrying the same
// token cannot help.
func ExampleStaticToken() {
	routerURL, closeRouter := fakeRouter()
	defer closeRouter()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	_, err := registry.Register(ctx, registry.WithRouter(routerURL, registry.StaticToken("expired-token")),
		registry.Instance{Service: "orders", ID: "orders-1", Version: "v2", Address: "10.0.0.7:8080"}, registry.Options{})
	fmt.Println(err)
	// Output: register instance orders/orders-1: POST /api/v1/services/orders/instances: router answered 401 unauthenticated: invalid or expired token
}

// A TokenSource of its own, here one whose token a secret manager
// rotates in a file, uses RefusedToken to tell the retry after a 401
// from an ordinary request: then it reads the file again rather than
// return the token it holds.
func ExampleRefusedToken() {
	routerURL, closeRouter := fakeRouter()
	defer closeRouter()
	dir, err := os.MkdirTemp("", "registrar")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "token") // e.g. /var/run/secrets/greyrouter/token

	var (
		mu     sync.Mutex
		cached string
	)
	tokens := registry.TokenSource(func(ctx context.Context) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		refused := registry.RefusedToken(ctx)
		if cached != "" && cached != refused {
			return cached, nil
		}
		if refused != "" {
			fmt.Println("token refused: reading it again")
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		cached = strings.TrimSpace(string(b))
		return cached, nil
	})

	// The source read the token at start; the secret manager has rotated
	// it since.
	_ = os.WriteFile(file, []byte("rotated-away\n"), 0o600)
	_, _ = tokens(context.Background())
	_ = os.WriteFile(file, []byte("admin-token\n"), 0o600)

	ctx := context.Background()
	reg, err := registry.Register(ctx, registry.WithRouter(routerURL, tokens),
		registry.Instance{Service: "orders", ID: "orders-1", Version: "v2", Address: "10.0.0.7:8080"}, registry.Options{DrainFor: -1})
	if err != nil {
		log.Fatal(err)
	}
	_ = reg.Shutdown(ctx)
	// Output:
	// token refused: reading it again
	// POST /api/v1/services/orders/instances
	// PATCH /api/v1/services/orders/instances/orders-1 {"draining":true}
	// DELETE /api/v1/services/orders/instances/orders-1
}

// NacosCluster registers the instance in a Nacos cluster of its own,
// such as its zone. (Not run: it needs Nacos.)
func ExampleNacosCluster() {
	naming, err := nacos.NewNaming(nacos.ClientConfig{Servers: []string{"nacos:8848"},
		CacheDir: "/var/cache/orders/nacos", LogDir: "/var/log/orders/nacos"})
	if err != nil {
		log.Fatal(err)
	}
	backend := registry.WithNacos(naming, "DEFAULT_GROUP", registry.NacosCluster("eu-1a"))
	reg, err := registry.Register(context.Background(), backend,
		registry.Instance{Service: "orders", Version: "v2", Address: "10.0.0.7:8080"}, registry.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Shutdown(context.Background())
}

// NacosVersionKey follows a router started with
// --nacos-version-key=app-version, for services whose Nacos metadata
// already names the version so. (Not run: it needs Nacos.)
func ExampleNacosVersionKey() {
	naming, err := nacos.NewNaming(nacos.ClientConfig{Servers: []string{"nacos:8848"},
		CacheDir: "/var/cache/orders/nacos", LogDir: "/var/log/orders/nacos"})
	if err != nil {
		log.Fatal(err)
	}
	backend := registry.WithNacos(naming, "orders-group", registry.NacosVersionKey("app-version"))
	reg, err := registry.Register(context.Background(), backend,
		registry.Instance{Service: "orders", Version: "v2", Address: "10.0.0.7:8080"}, registry.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Shutdown(context.Background())
}
