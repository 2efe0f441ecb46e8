package privilege

import (
	"strings"
	"unicode/utf8"
)

// abacPattern is a compiled resource or action pattern: "*" matches
// everything, "orders/*" matches any path below orders (not "orders"
// itself), anything else matches exactly. It is ABAC's own small matcher
// until the RBAC trie matcher is shared.
type abacPattern struct {
	all    bool
	prefix string // "orders/" for "orders/*"
	exact  string
}

// abacMaxPatternLen bounds one resource or action pattern.
const abacMaxPatternLen = 256

// parseABACPattern accepts "*", "a/b/*" and exact names. Segments are
// non-empty and '*' appears only as a whole trailing segment.
func parseABACPattern(s string) (abacPattern, string) {
	const bad = `is not "*", a name such as "orders/42" or a prefix such as "orders/*"`
	if s == "*" {
		return abacPattern{all: true}, ""
	}
	if s == "" || len(s) > abacMaxPatternLen || !utf8.ValidString(s) {
		return abacPattern{}, bad
	}
	body, wild := strings.CutSuffix(s, "/*")
	if strings.Contains(body, "*") {
		return abacPattern{}, bad
	}
	for seg := range strings.SplitSeq(body, "/") {
		if seg == "" {
			return abacPattern{}, bad
		}
	}
	if wild {
		return abacPattern{prefix: body + "/"}, ""
	}
	return abacPattern{exact: body}, ""
}

func (p abacPattern) match(name string) bool {
	switch {
	case p.all:
		return true
	case p.prefix != "":
		return len(name) > len(p.prefix) && strings.HasPrefix(name, p.prefix)
	}
	return name == p.exact
}

// overlaps reports whether some name matches both patterns.
func (p abacPattern) overlaps(q abacPattern) bool {
	switch {
	case p.all || q.all:
		return true
	case p.exact != "" && q.exact != "":
		return p.exact == q.exact
	case p.exact != "":
		return q.match(p.exact)
	case q.exact != "":
		return p.match(q.exact)
	}
	return strings.HasPrefix(p.prefix, q.prefix) || strings.HasPrefix(q.prefix, p.prefix)
}

// segment is the index key of a resource pattern: its first path segment,
// or "" for "*".
func (p abacPattern) segment() string {
	if p.all {
		return ""
	}
	return abacFirstSegment(p.prefix + p.exact)
}

// actionKey is the index key of an action pattern: the exact action, or ""
// for wildcards.
func (p abacPattern) actionKey() string { return p.exact }

func abacFirstSegment(name string) string {
	seg, _, _ := strings.Cut(name, "/")
	return seg
}

func abacMatchAny(ps []abacPattern, name string) bool {
	for _, p := range ps {
		if p.match(name) {
			return true
		}
	}
	return false
}

func abacOverlap(a, b []abacPattern) bool {
	for _, p := range a {
		for _, q := range b {
			if p.overlaps(q) {
				return true
			}
		}
	}
	return false
}

// abacKey selects the policies that may apply to an (action, first
// resource segment) pair; "" stands for "any".
type abacKey struct{ action, segment string }

// abacIndex maps keys to ascending policy positions. A check reads at most
// four buckets and merges them, so it never scans unrelated policies.
type abacIndex map[abacKey][]int32

func buildABACIndex(policies []abacPolicy) abacIndex {
	idx := abacIndex{}
	for i, p := range policies {
		for _, a := range p.actions {
			for _, r := range p.resources {
				k := abacKey{a.actionKey(), r.segment()}
				b := idx[k]
				if n := len(b); n == 0 || b[n-1] != int32(i) {
					idx[k] = append(b, int32(i))
				}
			}
		}
	}
	return idx
}

// candidates calls fn with each policy position whose keys fit action and
// resource, once each, in ascending order.
func (idx abacIndex) candidates(action, resource string, fn func(int32)) {
	seg := abacFirstSegment(resource)
	lists := [4][]int32{
		idx[abacKey{action, seg}],
		idx[abacKey{action, ""}],
		idx[abacKey{"", seg}],
		idx[abacKey{"", ""}],
	}
	if action == "" { // only wildcard action patterns can match; avoid reading the same buckets twice
		lists[0], lists[1] = nil, nil
	}
	if seg == "" {
		lists[0], lists[2] = nil, nil
	}
	// Merge four sorted lists, skipping duplicates.
	var pos [4]int
	prev := int32(-1)
	for {
		next, from := int32(-1), -1
		for i, l := range lists {
			if pos[i] < len(l) && (from < 0 || l[pos[i]] < next) {
				next, from = l[pos[i]], i
			}
		}
		if from < 0 {
			return
		}
		pos[from]++
		if next != prev {
			fn(next)
			prev = next
		}
	}
}
