// Command nacos-test-server runs PolarisMesh (github.com/polarismesh/polaris)
// with only its Nacos-compatible apiserver, as a throwaway Nacos server for
// integration tests. The official Nacos server cannot be downloaded on the
// machines the tests run on; Polaris speaks the Nacos 1.x HTTP and 2.x gRPC
// protocols and builds from the Go module proxy.
//
//	nacos-test-server -port 8848 -dir /tmp/nacos-data
//
// serves Nacos HTTP on 127.0.0.1:8848 and Nacos gRPC on 127.0.0.1:9848 (always
// port+1000, as the Nacos clients expect), keeps its boltdb file and logs in
// -dir, and is ready when GET /nacos/v1/ns/operator/metrics answers
// {"status":"UP"}. GET /nacos/v1/debug/test-server tells a test harness
// which process answers and whether that process holds both ports (see
// identity.go). See README.md.
package main

import (
	"bytes"
	_ "embed"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"text/template"
	"time"

	"github.com/polarismesh/polaris/apiserver"
	// Registers the service-nacos apiserver.
	"github.com/polarismesh/polaris/apiserver/nacosserver"
	polariscmd "github.com/polarismesh/polaris/cmd"

	// Only the plugins this configuration uses are linked. Polaris' own
	// main (plugin.go in its module root) links every apiserver and store;
	// the eureka, l5, xds and Polaris HTTP/gRPC apiservers, the MySQL store,
	// the redis and leader health checkers and the prometheus statis plugin
	// are left out, which makes the cold build several times faster.
	_ "github.com/polarismesh/polaris/auth/defaultauth"
	_ "github.com/polarismesh/polaris/cache"
	_ "github.com/polarismesh/polaris/cache/auth"
	_ "github.com/polarismesh/polaris/cache/client"
	_ "github.com/polarismesh/polaris/cache/config"
	_ "github.com/polarismesh/polaris/cache/namespace"
	_ "github.com/polarismesh/polaris/cache/service"
	_ "github.com/polarismesh/polaris/config/interceptor"
	_ "github.com/polarismesh/polaris/plugin/cmdb/memory"
	_ "github.com/polarismesh/polaris/plugin/crypto/aes"
	_ "github.com/polarismesh/polaris/plugin/discoverevent/local"
	_ "github.com/polarismesh/polaris/plugin/healthchecker/memory"
	_ "github.com/polarismesh/polaris/plugin/history/logger"
	_ "github.com/polarismesh/polaris/plugin/password"
	_ "github.com/polarismesh/polaris/plugin/ratelimit/token"
	_ "github.com/polarismesh/polaris/plugin/statis/logger"
	_ "github.com/polarismesh/polaris/plugin/whitelist"
	_ "github.com/polarismesh/polaris/service/interceptor"
	_ "github.com/polarismesh/polaris/store/boltdb"
)

//go:embed config.yaml.tmpl
var configTemplate string

// configFile is the name of the rendered configuration inside -dir.
const configFile = "polaris-server.yaml"

func main() {
	port := flag.Int("port", 8848, "Nacos HTTP port; Nacos gRPC listens on port+1000")
	listenIP := flag.String("listen", "127.0.0.1", "IP address to listen on")
	dir := flag.String("dir", "nacos-test-data", "data directory: boltdb file, rendered configuration, logs (created if missing; reused on restart)")
	printConfig := flag.Bool("print-config", false, "print the rendered Polaris configuration and exit")
	flag.Parse()
	if flag.NArg() > 0 {
		fail(fmt.Errorf("unexpected arguments %q", flag.Args()))
	}
	if *port < 1 || *port+1000 > 65535 {
		fail(fmt.Errorf("-port %d: want 1..64535 (gRPC uses port+1000)", *port))
	}
	if net.ParseIP(*listenIP) == nil {
		fail(fmt.Errorf("-listen %q is not an IP address", *listenIP))
	}

	abs, err := filepath.Abs(*dir)
	if err != nil {
		fail(err)
	}
	conf, err := render(*listenIP, *port, abs)
	if err != nil {
		fail(err)
	}
	if *printConfig {
		os.Stdout.Write(conf)
		return
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		fail(err)
	}
	if err := os.WriteFile(filepath.Join(abs, configFile), conf, 0o644); err != nil {
		fail(err)
	}
	// Polaris writes its logs relative to the working directory (log/...).
	if err := os.Chdir(abs); err != nil {
		fail(err)
	}

	// Polaris' bootstrap returns both after a stop signal and after a
	// failure (it prints "[ERROR] ..." and returns); a signal of our own
	// tells the two apart for the exit status.
	stopped := make(chan os.Signal, 1)
	signal.Notify(stopped, syscall.SIGINT, syscall.SIGTERM)

	fmt.Printf("nacos-test-server: nacos http %s, grpc %s, data %s\n",
		net.JoinHostPort(*listenIP, fmt.Sprint(*port)), net.JoinHostPort(*listenIP, fmt.Sprint(*port+1000)), abs)
	if err := registerIdentityRoute(*port, *port+1000, abs); err != nil {
		fail(err)
	}
	failFastOnServeError(stopped)
	os.Args = []string{"polaris-server", "start", "--config", configFile}
	start := time.Now()
	polariscmd.Execute()
	select {
	case <-stopped:
		return
	default:
		fail(fmt.Errorf("polaris stopped after %s without a stop signal (see the output above and %s)",
			time.Since(start).Round(time.Millisecond), filepath.Join(abs, "log")))
	}
}

// failFastOnServeError makes the process exit at once when the Nacos
// apiserver reports an error outside a stop, typically a port it cannot
// bind. Polaris would stop its servers and then sleep 5 s before returning,
// and a harness probing the HTTP port meanwhile cannot tell a server that
// is still starting from one that is going away.
func failFastOnServeError(stopped <-chan os.Signal) {
	inner, ok := apiserver.Slots[nacosserver.ProtooclName]
	if !ok {
		fail(fmt.Errorf("apiserver %s is not linked in", nacosserver.ProtooclName))
	}
	apiserver.Slots[nacosserver.ProtooclName] = failFast{Apiserver: inner, stopped: stopped}
}

type failFast struct {
	apiserver.Apiserver
	stopped <-chan os.Signal
}

func (f failFast) Run(errCh chan error) {
	mine := make(chan error, 2)
	go func() {
		for err := range mine {
			if len(f.stopped) > 0 {
				errCh <- err // stopping on a signal: Polaris' own path
				continue
			}
			fail(fmt.Errorf("%s apiserver: %w", nacosserver.ProtooclName, err))
		}
	}()
	f.Apiserver.Run(mine)
}

func render(listenIP string, port int, dir string) ([]byte, error) {
	tmpl, err := template.New(configFile).Option("missingkey=error").Parse(configTemplate)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	err = tmpl.Execute(&b, map[string]any{
		"ListenIP": listenIP,
		"Port":     port,
		"BoltPath": filepath.Join(dir, "polaris.bolt"),
	})
	return b.Bytes(), err
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "nacos-test-server:", err)
	os.Exit(1)
}
