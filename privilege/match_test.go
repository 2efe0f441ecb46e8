package privilege

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestMatchResource(t *testing.T) {
	tests := []struct {
		pattern, resource string
		want              bool
	}{
		{"orders", "orders", true},
		{"orders", "orders/1", false},
		{"orders", "order", false},
		{"orders/1", "orders/1", true},
		{"orders/1", "orders/12", false},
		{"orders/*", "orders/1", true},
		{"orders/*", "orders/1/items", true},
		{"orders/*", "orders", false},
		{"orders/*", "ordersx/1", false},
		{"orders/*/items", "orders/1/items", true},
		{"orders/*/items", "orders/1/2/items", false},
		{"orders/*/items", "orders/1/items/3", false},
		{"orders/*/items/*", "orders/1/items/3/x", true},
		{"*/items", "orders/items", true},
		{"*/items", "items", false},
		{"*/*", "a", false},
		{"*/*", "a/b", true},
		{"*/*", "a/b/c", true},
		{"*", "orders", true},
		{"*", "orders/1/items", true},
		{"*", "Any/ID-With_Caps", true},
		{"orders/*", "orders/ABC-123", true},
		// Malformed requests match nothing, wildcards included.
		{"*", "", false},
		{"*", "/orders", false},
		{"*", "orders/", false},
		{"orders/*", "orders//1", false},
		{"orders/*", "orders/*", false},
		{"*", "*", false},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("pattern %q matches %q: %v", tt.pattern, tt.resource, tt.want)
		t.Run(name, func(t *testing.T) {
			if got := MatchResource(tt.pattern, tt.resource); got != tt.want {
				t.Fatalf("MatchResource(%q, %q) = %v", tt.pattern, tt.resource, got)
			}
			if got := patIndexMatches(tt.pattern, "read", tt.resource, "read"); got != tt.want {
				t.Fatalf("the trie says %v", got)
			}
		})
	}
}

func TestMatchAction(t *testing.T) {
	tests := []struct {
		pattern, action string
		want            bool
	}{
		{"read", "read", true},
		{"read", "write", false},
		{"*", "orders.refund", true},
		{"orders.refund", "orders.refund", true},
		{"orders.*", "orders.refund", false}, // "*" is whole-action only (and "orders.*" is no valid pattern)
		{"*", "", false},
		{"*", "*", false},
		{"read", "", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("action pattern %q matches %q: %v", tt.pattern, tt.action, tt.want), func(t *testing.T) {
			if got := MatchAction(tt.pattern, tt.action); got != tt.want {
				t.Fatalf("MatchAction(%q, %q) = %v", tt.pattern, tt.action, got)
			}
			if tt.pattern != "orders.*" {
				if got := patIndexMatches("x", tt.pattern, "x", tt.action); got != tt.want {
					t.Fatalf("the trie says %v", got)
				}
			}
		})
	}
}

func TestValidatePatterns(t *testing.T) {
	resources := []struct {
		pattern string
		ok      bool
	}{
		{"*", true},
		{"orders", true},
		{"orders/*", true},
		{"orders/*/items", true},
		{"svc.billing/in_voices/x-1", true},
		{"", false},
		{"/orders", false},
		{"orders/", false},
		{"orders//1", false},
		{"Orders", false},
		{"orders/1*", false},
		{"orders/**", false},
		{"-orders", false},
		{"orders:1", false},
		{strings.Repeat("a/", MaxResourceSegments-1) + "a", true},
		{strings.Repeat("a/", MaxResourceSegments) + "a", false},
		{strings.Repeat("a", 64), false},
	}
	for _, tt := range resources {
		t.Run(fmt.Sprintf("resource pattern %q valid: %v", tt.pattern, tt.ok), func(t *testing.T) {
			if err := ValidateResourcePattern(tt.pattern); (err == nil) != tt.ok {
				t.Fatalf("ValidateResourcePattern(%q) = %v", tt.pattern, err)
			}
		})
	}
	actions := []struct {
		pattern string
		ok      bool
	}{
		{"*", true}, {"read", true}, {"orders.refund", true},
		{"", false}, {"Read", false}, {"orders.*", false}, {"a/b", false}, {"read:all", false},
	}
	for _, tt := range actions {
		t.Run(fmt.Sprintf("action pattern %q valid: %v", tt.pattern, tt.ok), func(t *testing.T) {
			if err := ValidateActionPattern(tt.pattern); (err == nil) != tt.ok {
				t.Fatalf("ValidateActionPattern(%q) = %v", tt.pattern, err)
			}
		})
	}
}

// patIndexMatches asks a one-pattern trie.
func patIndexMatches(resourcePattern, actionPattern, resource, action string) bool {
	b := newPatBuilder()
	root := b.root()
	b.add(root, resourcePattern, actionPattern, 7)
	x := b.build()
	root = b.at(root)
	var q patQuery
	if !x.prepare(resource, action, &q) {
		return false
	}
	got := x.match(root, &q, nil)
	return slices.Equal(got, []int32{7})
}

// TestPatternIndexAgreesWithMatchResource puts many random patterns into
// one trie and compares every lookup with the direct matchers.
func TestPatternIndexAgreesWithMatchResource(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 1))
		type pat struct{ resource, action string }
		var pats []pat
		b := newPatBuilder()
		root := b.root()
		for i := range 200 {
			p := pat{rbacRandomPattern(rng), rbacRandomActionPattern(rng)}
			pats = append(pats, p)
			b.add(root, p.resource, p.action, int32(i))
		}
		x := b.build()
		root = b.at(root)
		for range 500 {
			res, act := rbacRandomResource(rng), rbacRandomAction(rng)
			var want []int32
			for i, p := range pats {
				if MatchResource(p.resource, res) && MatchAction(p.action, act) {
					want = append(want, int32(i))
				}
			}
			var got []int32
			var q patQuery
			if x.prepare(res, act, &q) {
				got = x.match(root, &q, nil)
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("seed %d: %q %q: trie %v, direct %v", seed, res, act, got, want)
			}
		}
	}
}

var (
	rbacTestSegments = []string{"a", "b", "c", "1", "orders", "x.y"}
	rbacTestActions  = []string{"read", "write", "orders.refund"}
)

func rbacRandomPattern(rng *rand.Rand) string {
	if rng.IntN(15) == 0 {
		return "*"
	}
	n := 1 + rng.IntN(4)
	segs := make([]string, n)
	for i := range segs {
		if rng.IntN(4) == 0 {
			segs[i] = "*"
		} else {
			segs[i] = rbacTestSegments[rng.IntN(len(rbacTestSegments))]
		}
	}
	return strings.Join(segs, "/")
}

func rbacRandomActionPattern(rng *rand.Rand) string {
	if rng.IntN(5) == 0 {
		return "*"
	}
	return rbacTestActions[rng.IntN(len(rbacTestActions))]
}

// rbacRandomResource is mostly well formed, over the patterns' segments
// plus ids no pattern names; now and then malformed or deep.
func rbacRandomResource(rng *rand.Rand) string {
	switch rng.IntN(40) {
	case 0:
		return ""
	case 1:
		return "a//b"
	case 2:
		return "a/*"
	case 3:
		return "a/b/"
	case 4:
		return strings.Repeat("a/", MaxResourceSegments+2) + "a"
	}
	n := 1 + rng.IntN(5)
	segs := make([]string, n)
	for i := range segs {
		if rng.IntN(6) == 0 {
			segs[i] = "ID-9"
		} else {
			segs[i] = rbacTestSegments[rng.IntN(len(rbacTestSegments))]
		}
	}
	return strings.Join(segs, "/")
}

func rbacRandomAction(rng *rand.Rand) string {
	switch rng.IntN(20) {
	case 0:
		return "*"
	case 1:
		return ""
	case 2, 3:
		return "other"
	}
	return rbacTestActions[rng.IntN(len(rbacTestActions))]
}

// FuzzMatchResource holds the trie and the direct matcher to the same
// answers on arbitrary patterns and resources.
func FuzzMatchResource(f *testing.F) {
	for _, s := range [][2]string{{"orders/*", "orders/1/items"}, {"*", "a"}, {"a/*/c", "a/b/c"}, {"a", "a/"}, {"*/*", "x//y"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, resource string) {
		if ValidateResourcePattern(pattern) != nil {
			return
		}
		direct := MatchResource(pattern, resource)
		if trie := patIndexMatches(pattern, "read", resource, "read"); trie != direct {
			t.Fatalf("MatchResource(%q, %q) = %v, trie %v", pattern, resource, direct, trie)
		}
		if naive := newRBACNaive(nil, nil).matchResource(pattern, resource); naive != direct {
			t.Fatalf("MatchResource(%q, %q) = %v, regexp %v", pattern, resource, direct, naive)
		}
	})
}
