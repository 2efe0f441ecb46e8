package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/greyrouter/greyrouter/router"
	"github.com/greyrouter/greyrouter/router/nacos"
)

// nacosStack is the Nacos sync (and optional self-registration) of serve.
type nacosStack struct {
	naming nacos.Naming
	syncer *nacos.Syncer
	self   *nacos.Registration
	log    *slog.Logger
	once   sync.Once
}

// newNacosStack connects to Nacos when --nacos-addrs is set; nil otherwise.
func newNacosStack(c config, m *router.Manager, reg *prometheus.Registry, log *slog.Logger) (*nacosStack, error) {
	servers := splitList(c.NacosAddrs)
	if len(servers) == 0 {
		if c.NacosRegister != "" {
			return nil, fmt.Errorf("%w: --nacos-register needs --nacos-addrs", errUsage)
		}
		return nil, nil
	}
	var self *nacos.Registration
	if c.NacosRegister != "" {
		host, port, err := net.SplitHostPort(c.NacosRegister)
		p, perr := strconv.ParseUint(port, 10, 16)
		if err != nil || perr != nil || host == "" {
			return nil, fmt.Errorf("%w: --nacos-register must be host:port", errUsage)
		}
		self = &nacos.Registration{Service: c.NacosServiceName, Group: c.NacosGroup, IP: host, Port: p, Ephemeral: true,
			Metadata: map[string]string{c.NacosVersionKey: version()}}
	}
	dir := filepath.Join(c.DataDir, "nacos")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("nacos cache dir: %w", err)
	}
	naming, err := nacos.NewNaming(nacos.ClientConfig{
		Servers: servers, Namespace: c.NacosNamespace, Username: c.NacosUsername, Password: c.NacosPassword,
		CacheDir: filepath.Join(dir, "cache"), LogDir: filepath.Join(dir, "log"),
	})
	if err != nil {
		return nil, err
	}
	syncer := nacos.NewSyncer(m, naming, nacos.SyncConfig{
		Group: c.NacosGroup, Mapping: nacos.Mapping{VersionKey: c.NacosVersionKey}, CreateVersions: c.NacosCreateVers,
	}, log.With("component", "nacos"))
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "greyrouter_registry_connected",
			Help: "1 while the Nacos connection is up; 0 means the routing table keeps the last known registry instances."},
			func() float64 { return boolFloat(syncer.Status().Connected) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "greyrouter_registry_syncs_total",
			Help: "Registry snapshots applied (including those that changed nothing)."},
			func() float64 { return float64(syncer.Status().Syncs) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "greyrouter_registry_changes_total",
			Help: "Registry snapshots that changed the routing table."},
			func() float64 { return float64(syncer.Status().Changes) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "greyrouter_registry_last_sync_timestamp_seconds",
			Help: "Unix time of the last applied registry snapshot."},
			func() float64 {
				if t := syncer.Status().LastSync; !t.IsZero() {
					return float64(t.UnixMilli()) / 1000
				}
				return 0
			}),
	)
	return &nacosStack{naming: naming, syncer: syncer, self: self, log: log}, nil
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// run syncs, and registers this process, until ctx ends; then it drains
// and deregisters itself.
func (n *nacosStack) run(ctx context.Context) {
	if n.self != nil {
		go n.keepRegistered(ctx)
	}
	n.syncer.Run(ctx)
}

// keepRegistered registers this greyrouter, retrying while Nacos is away.
func (n *nacosStack) keepRegistered(ctx context.Context) {
	for {
		err := nacos.Register(n.naming, *n.self)
		if err == nil {
			n.log.Info("registered in nacos", "service", n.self.Service, "addr", net.JoinHostPort(n.self.IP, strconv.FormatUint(n.self.Port, 10)))
			return
		}
		n.log.Warn("nacos registration failed; retrying", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
	}
}

// leave takes this greyrouter out of Nacos at shutdown: first disabled (so
// routers stop choosing it), then deregistered; and closes the client.
func (n *nacosStack) leave() { n.once.Do(n.doLeave) }

func (n *nacosStack) doLeave() {
	if n.self != nil {
		if err := nacos.Drain(n.naming, *n.self); err != nil {
			n.log.Warn("nacos drain failed", "err", err)
		}
		if err := nacos.Deregister(n.naming, *n.self); err != nil {
			n.log.Warn("nacos deregistration failed", "err", err)
		}
	}
	n.naming.CloseClient()
}

// ready reports a stale registry as an advisory readiness detail.
func (n *nacosStack) ready(context.Context) error {
	st := n.syncer.Status()
	if st.Stale {
		msg := "stale: nacos unreachable, routing from the last known instances"
		if st.LastError != "" {
			msg += " (" + st.LastError + ")"
		}
		return errors.New(msg)
	}
	return nil
}

// version is this binary's module version ("devel" in a source build),
// the version greyrouter registers itself with.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return strings.TrimPrefix(bi.Main.Version, "v")
	}
	return "devel"
}
