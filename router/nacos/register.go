package nacos

import (
	"fmt"

	"github.com/nacos-group/nacos-sdk-go/v2/vo"
)

// Registration describes one instance a process registers for itself.
type Registration struct {
	Service   string
	Group     string // "" is DEFAULT_GROUP
	Cluster   string // "" is DEFAULT
	IP        string
	Port      uint64
	Weight    float64 // 0 means 1.0
	Metadata  map[string]string
	Ephemeral bool // kept alive by the client's connection; removed when it closes
}

func (r Registration) group() string {
	if r.Group == "" {
		return "DEFAULT_GROUP"
	}
	return r.Group
}

func (r Registration) weight() float64 {
	if r.Weight <= 0 {
		return 1
	}
	return r.Weight
}

// Register registers (or re-registers) the instance, enabled and healthy.
func Register(n Naming, r Registration) error {
	ok, err := n.RegisterInstance(vo.RegisterInstanceParam{
		Ip: r.IP, Port: r.Port, Weight: r.weight(), Enable: true, Healthy: true, Metadata: r.Metadata,
		ClusterName: r.Cluster, ServiceName: r.Service, GroupName: r.group(), Ephemeral: r.Ephemeral,
	})
	return result("register", r, ok, err)
}

// Drain marks the instance disabled: routers stop sending it new requests
// (they see it as draining) while it finishes what it has.
func Drain(n Naming, r Registration) error {
	ok, err := n.UpdateInstance(vo.UpdateInstanceParam{
		Ip: r.IP, Port: r.Port, Weight: r.weight(), Enable: false, Healthy: true, Metadata: r.Metadata,
		ClusterName: r.Cluster, ServiceName: r.Service, GroupName: r.group(), Ephemeral: r.Ephemeral,
	})
	return result("drain", r, ok, err)
}

// Deregister removes the instance.
func Deregister(n Naming, r Registration) error {
	ok, err := n.DeregisterInstance(vo.DeregisterInstanceParam{
		Ip: r.IP, Port: r.Port, Cluster: r.Cluster, ServiceName: r.Service, GroupName: r.group(), Ephemeral: r.Ephemeral,
	})
	return result("deregister", r, ok, err)
}

func result(op string, r Registration, ok bool, err error) error {
	if err != nil {
		return fmt.Errorf("nacos %s %s %s:%d: %w", op, r.Service, r.IP, r.Port, err)
	}
	if !ok {
		return fmt.Errorf("nacos %s %s %s:%d: refused", op, r.Service, r.IP, r.Port)
	}
	return nil
}
