package registry

import (
	"context"
	"fmt"
	"maps"
	"net"
	"strconv"

	"github.com/greyrouter/greyrouter/router/nacos"
)

// NacosOption configures WithNacos.
type NacosOption func(*nacosBackend)

// NacosVersionKey names the metadata key that carries the version; it must
// match the router's --nacos-version-key. The default is "version".
func NacosVersionKey(key string) NacosOption {
	return func(b *nacosBackend) { b.versionKey = key }
}

// NacosCluster registers the instance in a Nacos cluster other than
// DEFAULT.
func NacosCluster(cluster string) NacosOption {
	return func(b *nacosBackend) { b.cluster = cluster }
}

// WithNacos registers an ephemeral instance in Nacos through n (from
// nacos.NewNaming) in group ("" is DEFAULT_GROUP), with the version in its
// metadata. The client's gRPC connection keeps the instance alive, and the
// client registers it again after a reconnect, so there is no heartbeat
// to send. Shutdown disables the instance (Nacos stops listing it to
// subscribers, and the router drains an instance that left the registry),
// waits, deregisters it and closes n: the Registration owns n from here.
// The Nacos client takes no context: each call is bounded by its own
// timeout (nacos.ClientConfig.Timeout) instead.
func WithNacos(n nacos.Naming, group string, opts ...NacosOption) Backend {
	b := &nacosBackend{n: n, group: group, versionKey: "version"}
	for _, o := range opts {
		o(b)
	}
	return b
}

type nacosBackend struct {
	n              nacos.Naming
	group, cluster string
	versionKey     string
}

var _ Backend = (*nacosBackend)(nil)

// registration maps the instance to Nacos's terms. Nacos errors carry no
// status to tell a refusal from an outage, so none is permanent: Register
// retries them until its context ends.
func (b *nacosBackend) registration(in Instance) (nacos.Registration, error) {
	host, port, err := net.SplitHostPort(in.Address)
	if err != nil {
		return nacos.Registration{}, permanent{err}
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return nacos.Registration{}, permanent{fmt.Errorf("address %q: bad port", in.Address)}
	}
	meta := maps.Clone(in.Metadata)
	if meta == nil {
		meta = map[string]string{}
	}
	meta[b.versionKey] = in.Version
	return nacos.Registration{Service: in.Service, Group: b.group, Cluster: b.cluster, IP: host, Port: p,
		Weight: float64(in.Weight) / 100, Metadata: meta, Ephemeral: true}, nil
}

func (b *nacosBackend) register(_ context.Context, in Instance, _ int) error {
	r, err := b.registration(in)
	if err != nil {
		return err
	}
	return nacos.Register(b.n, r)
}

func (b *nacosBackend) heartbeat(context.Context, Instance) error { return nil }

func (b *nacosBackend) selfKeepsAlive() bool { return true }

func (b *nacosBackend) drain(_ context.Context, in Instance) error {
	r, err := b.registration(in)
	if err != nil {
		return err
	}
	return nacos.Drain(b.n, r)
}

func (b *nacosBackend) deregister(_ context.Context, in Instance) error {
	r, err := b.registration(in)
	if err != nil {
		return err
	}
	return nacos.Deregister(b.n, r)
}

func (b *nacosBackend) close() { b.n.CloseClient() }
