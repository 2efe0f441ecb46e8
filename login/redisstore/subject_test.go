package redisstore_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/greyrouter/greyrouter/login/redisstore"
)

func TestIPSubjectGrouping(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		same bool
	}{
		{"two IPv4 addresses are counted apart", "192.0.2.1", "192.0.2.2", false},
		{"an IPv4-mapped IPv6 address counts as its IPv4 address", "::ffff:192.0.2.1", "192.0.2.1", true},
		{"two IPv6 addresses in one /64 are counted together", "2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff", true},
		{"IPv6 addresses in neighbouring /64s are counted apart", "2001:db8:1:2::1", "2001:db8:1:3::1", false},
		{"the zone of an IPv6 address is ignored", "fe80::1%eth0", "fe80::2%eth1", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := redisstore.IPSubject(netip.MustParseAddr(tt.a))
			b := redisstore.IPSubject(netip.MustParseAddr(tt.b))
			if got := a == b; got != tt.same {
				t.Errorf("IPSubject(%s) = %q, IPSubject(%s) = %q; same = %v, want %v", tt.a, a, tt.b, b, got, tt.same)
			}
		})
	}
	t.Run("an invalid address gives the zero subject", func(t *testing.T) {
		if s := redisstore.IPSubject(netip.Addr{}); !s.IsZero() {
			t.Errorf("IPSubject(invalid) = %q, want the zero subject", s)
		}
	})
}

// FuzzAccountSubject checks the escaping of account names: distinct
// (tenant, username) pairs get distinct keys, and every key holds exactly
// one hash tag, which is the same for both keys of a subject.
func FuzzAccountSubject(f *testing.F) {
	f.Add("acme", "alice", "acme", "bob")
	f.Add("a/b", "c", "a", "b/c")
	f.Add("acme", "}{x:y}", "acme", "}{x:y")
	f.Add("", "{", "{", "")
	f.Add("acme", "YWxpY2U", "acme", "alice")
	f.Fuzz(func(t *testing.T, t1, u1, t2, u2 string) {
		f1, l1 := redisstore.KeysOf(redisstore.AccountSubject(t1, u1))
		f2, _ := redisstore.KeysOf(redisstore.AccountSubject(t2, u2))
		for _, k := range []string{f1, l1, f2} {
			if strings.Count(k, "{") != 1 || strings.Count(k, "}") != 1 || strings.Index(k, "{") > strings.Index(k, "}") {
				t.Fatalf("key %q does not hold exactly one hash tag", k)
			}
		}
		if tag(f1) != tag(l1) {
			t.Fatalf("keys %q and %q of one subject have different hash tags", f1, l1)
		}
		if (t1 != t2 || u1 != u2) && f1 == f2 {
			t.Fatalf("accounts (%q, %q) and (%q, %q) share key %q", t1, u1, t2, u2, f1)
		}
		if (t1 == t2 && u1 == u2) && f1 != f2 {
			t.Fatalf("account (%q, %q) gave keys %q and %q", t1, u1, f1, f2)
		}
	})
}

func tag(key string) string { return key[strings.Index(key, "{") : strings.Index(key, "}")+1] }
