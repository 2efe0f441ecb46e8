package nacos

import (
	"testing"

	"github.com/nacos-group/nacos-sdk-go/v2/model"

	"github.com/greyrouter/greyrouter/router"
)

func TestInstanceMapping(t *testing.T) {
	mp := Mapping{VersionKey: "version"}
	base := model.Instance{Ip: "10.0.0.1", Port: 8080, Weight: 1, Healthy: true, Enable: true, Ephemeral: true,
		ClusterName: "DEFAULT", Metadata: map[string]string{"version": "1.1", "zone": "a", "internal-nacos-x": "y"}}

	t.Run("a healthy instance maps with its version, address, weight and metadata", func(t *testing.T) {
		in, _, ok := mp.Instance(base)
		if !ok || in.ID != "10.0.0.1-8080" || in.Version != "1.1" || in.Address != "10.0.0.1:8080" || in.Weight != 100 ||
			!in.Enabled || in.Draining || in.Source != router.SourceRegistry {
			t.Fatalf("mapped to %+v", in)
		}
		if in.Metadata["zone"] != "a" || in.Metadata["internal-nacos-x"] != "" || in.Metadata["version"] != "" ||
			in.Metadata[MetaEphemeral] != "true" || in.Metadata[MetaCluster] != "DEFAULT" {
			t.Fatalf("metadata %v", in.Metadata)
		}
		in.Service = "orders"
		if err := in.Validate(); err != nil {
			t.Fatalf("mapped instance invalid: %v", err)
		}
	})
	t.Run("no version metadata: left out", func(t *testing.T) {
		n := base
		n.Metadata = map[string]string{"zone": "a"}
		if _, reason, ok := mp.Instance(n); ok || reason == "" {
			t.Fatal("an instance without a version was mapped")
		}
	})
	cases := []struct {
		name              string
		edit              func(*model.Instance)
		enabled, draining bool
		weight            int
	}{
		{"unhealthy: disabled", func(n *model.Instance) { n.Healthy = false }, false, false, 100},
		{"weight zero: disabled", func(n *model.Instance) { n.Weight = 0 }, false, false, 1},
		{"disabled in nacos: draining", func(n *model.Instance) { n.Enable = false }, true, true, 100},
		{"weight 2.5: 250", func(n *model.Instance) { n.Weight = 2.5 }, true, false, 250},
		{"huge weight: capped", func(n *model.Instance) { n.Weight = 1e9 }, true, false, router.MaxWeight},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := base
			c.edit(&n)
			in, _, ok := mp.Instance(n)
			if !ok || in.Enabled != c.enabled || in.Draining != c.draining || in.Weight != c.weight {
				t.Fatalf("got enabled=%v draining=%v weight=%d", in.Enabled, in.Draining, in.Weight)
			}
		})
	}
}

func TestInstanceIDsAreValidRouterNames(t *testing.T) {
	for _, c := range []struct {
		cluster, ip string
		port        uint64
	}{
		{"DEFAULT", "10.0.0.1", 80}, {"", "10.0.0.1", 80}, {"eu-West_1", "10.0.0.1", 80},
		{"", "fe80::1%eth0", 443}, {"", "2001:db8::abcd", 65535},
		{"A very Long Cluster Name With Spaces and More Than Sixty Three Characters", "2001:db8:1234:5678:9abc:def0:1234:5678", 65535},
	} {
		id := InstanceID(c.cluster, c.ip, c.port)
		if !router.ValidName(id) {
			t.Errorf("InstanceID(%q, %q, %d) = %q: not a valid router name", c.cluster, c.ip, c.port, id)
		}
	}
	if InstanceID("", "10.0.0.1", 80) == InstanceID("", "10.0.0.1", 81) || InstanceID("a", "10.0.0.1", 80) == InstanceID("b", "10.0.0.1", 80) {
		t.Error("distinct instances share an id")
	}
}
