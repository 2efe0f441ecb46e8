// Package nacos keeps the router's registry instances equal to what Nacos
// says (nacos-sdk-go v2, gRPC naming client), and registers instances in
// Nacos for greyrouter itself and for the SDK's registration helper.
//
// Every router replica runs the sync for every service it knows. The
// result is identical and idempotent by construction rather than by
// leader election: each push is applied as a complete desired state
// (router.Manager.SyncInstances), which writes nothing when nothing
// changed, and each snapshot carries the registry's lastRefTime, so a
// replica still holding an older view cannot undo what another replica
// applied from a newer one. No lease, no fencing token, no failover to
// get wrong; the cost is that each replica talks to Nacos, which is what
// Nacos subscriptions are for.
package nacos

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nacos-group/nacos-sdk-go/v2/clients"
	"github.com/nacos-group/nacos-sdk-go/v2/common/constant"
	"github.com/nacos-group/nacos-sdk-go/v2/model"
	"github.com/nacos-group/nacos-sdk-go/v2/vo"
)

// Naming is the part of nacos-sdk-go's naming client this package uses.
// Tests substitute a fake of this interface (the SDK's own mock is out of
// date); production uses NewNaming.
type Naming interface {
	RegisterInstance(param vo.RegisterInstanceParam) (bool, error)
	UpdateInstance(param vo.UpdateInstanceParam) (bool, error)
	DeregisterInstance(param vo.DeregisterInstanceParam) (bool, error)
	Subscribe(param *vo.SubscribeParam) error
	Unsubscribe(param *vo.SubscribeParam) error
	GetService(param vo.GetServiceParam) (model.Service, error)
	ServerHealthy() bool
	CloseClient()
}

// ClientConfig says how to reach Nacos.
type ClientConfig struct {
	// Servers are host:port of the Nacos HTTP API; gRPC is on port+1000.
	Servers []string
	// Namespace is the namespace id; "" is Nacos's "public".
	Namespace          string
	Username, Password string
	// CacheDir and LogDir hold the SDK's files (required: the SDK writes
	// them, and must not write into the working directory).
	CacheDir, LogDir string
	Timeout          time.Duration
	// LogLevel of the SDK's own logger: debug, info, warn or error.
	LogLevel string
}

// NewNaming returns a real naming client. The cache is updated even by
// empty instance lists (otherwise a service whose last instance left looks
// unchanged), is not loaded from disk at start (a stale file must not
// become the router's truth), and the SDK logs warnings only.
func NewNaming(c ClientConfig) (Naming, error) {
	if len(c.Servers) == 0 {
		return nil, fmt.Errorf("nacos: no server address")
	}
	var servers []constant.ServerConfig
	for _, s := range c.Servers {
		host, port, err := net.SplitHostPort(s)
		if err != nil {
			return nil, fmt.Errorf("nacos server %q: %w", s, err)
		}
		p, err := strconv.ParseUint(port, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("nacos server %q: bad port", s)
		}
		servers = append(servers, *constant.NewServerConfig(host, p))
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Second
	}
	if c.LogLevel == "" {
		c.LogLevel = "warn"
	}
	cc := constant.NewClientConfig(
		constant.WithNamespaceId(c.Namespace),
		constant.WithTimeoutMs(uint64(c.Timeout.Milliseconds())),
		constant.WithNotLoadCacheAtStart(true),
		constant.WithUpdateCacheWhenEmpty(true),
		constant.WithCacheDir(c.CacheDir),
		constant.WithLogDir(c.LogDir),
		constant.WithLogLevel(c.LogLevel),
		constant.WithUsername(c.Username),
		constant.WithPassword(c.Password),
	)
	n, err := clients.NewNamingClient(vo.NacosClientParam{ClientConfig: cc, ServerConfigs: servers})
	if err != nil {
		return nil, fmt.Errorf("nacos naming client: %w", err)
	}
	return n, nil
}
