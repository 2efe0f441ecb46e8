package nacos

import (
	"math"
	"net"
	"strconv"
	"strings"

	"github.com/nacos-group/nacos-sdk-go/v2/model"

	"github.com/greyrouter/greyrouter/router"
)

// Metadata keys the router adds to registry instances.
const (
	MetaCluster   = "nacos.cluster"
	MetaEphemeral = "nacos.ephemeral"
)

// Mapping turns Nacos instances into router instances.
type Mapping struct {
	// VersionKey is the metadata key carrying the version ("version").
	VersionKey string
}

// Instance maps one Nacos instance; ok is false (with the reason) when it
// carries no version. The id is derived from cluster, ip and port, which
// identify an instance in Nacos, in the router's name alphabet. Weight
// 1.0 (Nacos's default) becomes 100; weight 0 and unhealthy instances are
// disabled; a disabled ("enabled": false) Nacos instance is draining — the
// way a service leaves gracefully: it gets no new decisions while its
// leases run out, and goes when it deregisters. Nacos's internal-* and
// over-long metadata are dropped.
func (mp Mapping) Instance(n model.Instance) (in router.Instance, reason string, ok bool) {
	version := n.Metadata[mp.VersionKey]
	if version == "" {
		return router.Instance{}, "no " + mp.VersionKey + " metadata", false
	}
	meta := map[string]string{}
	for k, v := range n.Metadata {
		if k == mp.VersionKey || strings.HasPrefix(k, "internal-") || len(k) > 128 || len(v) > router.MaxValueLen {
			continue
		}
		if len(meta) < router.MaxMetadata-2 {
			meta[k] = v
		}
	}
	if n.ClusterName != "" {
		meta[MetaCluster] = n.ClusterName
	}
	meta[MetaEphemeral] = strconv.FormatBool(n.Ephemeral)
	weight := int(math.Round(n.Weight * 100))
	in = router.Instance{
		ID:       InstanceID(n.ClusterName, n.Ip, n.Port),
		Version:  version,
		Address:  net.JoinHostPort(n.Ip, strconv.FormatUint(n.Port, 10)),
		Weight:   min(max(weight, 1), router.MaxWeight),
		Metadata: meta,
		Enabled:  n.Healthy && weight > 0,
		Draining: !n.Enable,
		Source:   router.SourceRegistry,
	}
	return in, "", true
}

// InstanceID is the router id of the Nacos instance at ip:port in cluster:
// "<ip>-<port>" with ':' of IPv6 as '-', lower-cased, prefixed by the
// cluster unless it is the default one; it is cut to the router's 63
// characters with a hash suffix when longer.
func InstanceID(cluster, ip string, port uint64) string {
	id := strings.NewReplacer(":", "-", "%", "-").Replace(strings.ToLower(ip)) + "-" + strconv.FormatUint(port, 10)
	if cluster != "" && cluster != "DEFAULT" {
		id = sanitize(cluster) + "-" + id
	}
	id = strings.TrimLeft(id, "-._")
	if len(id) > 63 || !router.ValidName(id) {
		h := fnv32(id)
		id = sanitize(id)
		if len(id) > 54 {
			id = id[:54]
		}
		id = strings.TrimLeft(id, "-._") + "-" + strconv.FormatUint(uint64(h), 16)
	}
	return id
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			return r
		case r >= 'A' && r <= 'Z':
			return r + ('a' - 'A')
		}
		return '-'
	}, s)
}

func fnv32(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}
