package privilege

import (
	"cmp"
	"slices"
	"strings"
)

// patIndex answers "which entries match this resource and action" in time
// proportional to the resource's depth rather than to the number of
// entries. It is a forest of tries over resource segments: each root holds
// one set of patterns (one role's effective permissions, say) and all roots
// share one dictionary of segment and action names, so a request is
// interned once and can then be walked from several roots. It is immutable
// once built and safe for concurrent use.
//
// The tries live in one []int32, each laid out depth-first from its root,
// a node's entries and edges right after its header: a walk reads a few
// adjacent cache lines, which is what keeps checks fast when there are
// many tries and most of them are cold.
type patIndex struct {
	segs    map[string]int32 // literal segment -> id >= 0
	actions map[string]int32 // action name -> id >= 1; 0 is "*"
	arena   []int32
}

// A node at offset n in the arena is:
//
//	arena[n+patStar]   offset of the child for a "*" that is not last, or -1
//	arena[n+patExact]  number of entries whose pattern ends here
//	arena[n+patTail]   number of entries whose pattern ends here with a trailing "*"
//	arena[n+patEdges]  number of literal children
//	then the exact entries, then the tail entries, as (action id, value)
//	pairs sorted by action ("*" first), then the literal children as
//	(segment id, offset) pairs sorted by segment.
const (
	patStar = iota
	patExact
	patTail
	patEdges
	patHeader
)

// patQuery is a requested resource and action interned against an index.
// It lives on the caller's stack, so a check allocates nothing for it.
type patQuery struct {
	n      int32 // segments in the resource (may exceed MaxResourceSegments)
	action int32 // -1 when no pattern names it: only "*" entries can match
	segs   [MaxResourceSegments]int32
}

// prepare interns resource and action into q and reports whether they are
// well formed; malformed requests match nothing (see the pattern rules).
func (x *patIndex) prepare(resource, action string, q *patQuery) bool {
	if action == "" || action == "*" || resource == "" {
		return false
	}
	q.action = -1
	if id, ok := x.actions[action]; ok {
		q.action = id
	}
	n := int32(0)
	for rest := resource; ; {
		seg, tail, more := strings.Cut(rest, "/")
		if seg == "" || seg == "*" {
			return false
		}
		if n < MaxResourceSegments {
			id, ok := x.segs[seg]
			if !ok {
				id = -1
			}
			q.segs[n] = id
		}
		n++
		if !more {
			break
		}
		rest = tail
	}
	q.n = n
	return true
}

// match appends to dst the values of the entries under root (an offset
// from patBuilder.at) that match q. The walk branches only where a
// literal child and a "*" child both exist, so its cost follows the
// resource's depth, not the number of entries.
func (x *patIndex) match(root int32, q *patQuery, dst []int32) []int32 {
	return x.walk(root, 0, q, dst)
}

func (x *patIndex) walk(n, depth int32, q *patQuery, dst []int32) []int32 {
	a := x.arena
	exact := n + patHeader
	tail := exact + 2*a[n+patExact]
	edges := tail + 2*a[n+patTail]
	if depth == q.n {
		return x.collect(exact, tail, q.action, dst)
	}
	// At least one segment remains, which is what a trailing "*" needs.
	dst = x.collect(tail, edges, q.action, dst)
	if depth >= MaxResourceSegments {
		return dst // no pattern is deeper
	}
	if seg := q.segs[depth]; seg >= 0 {
		lo, hi := int32(0), a[n+patEdges]
		for lo < hi {
			m := int32(uint32(lo+hi) >> 1)
			if a[edges+2*m] < seg {
				lo = m + 1
			} else {
				hi = m
			}
		}
		if lo < a[n+patEdges] && a[edges+2*lo] == seg {
			dst = x.walk(a[edges+2*lo+1], depth+1, q, dst)
		}
	}
	if star := a[n+patStar]; star >= 0 {
		dst = x.walk(star, depth+1, q, dst)
	}
	return dst
}

// collect appends the values of the (action, value) pairs in arena[lo:hi]
// whose action is "*" or action.
func (x *patIndex) collect(lo, hi, action int32, dst []int32) []int32 {
	a := x.arena
	i := lo
	for ; i < hi && a[i] == 0; i += 2 {
		dst = append(dst, a[i+1])
	}
	if action < 0 || i == hi {
		return dst
	}
	for j := (hi - i) / 2; j > 0; { // binary search over pairs
		half := j / 2
		if a[i+2*half] < action {
			i += 2 * (half + 1)
			j -= half + 1
		} else {
			j = half
		}
	}
	for ; i < hi && a[i] == action; i += 2 {
		dst = append(dst, a[i+1])
	}
	return dst
}

// patBuilder collects patterns into a patIndex. Patterns must be valid.
type patBuilder struct {
	x      *patIndex
	kids   map[[2]int32]int32 // (node, segment id) -> child; -1 is "*"
	exact  [][]patEntry
	tail   [][]patEntry
	roots  []int32
	offset []int32 // node -> arena offset, once built
}

type patEntry struct{ action, value int32 }

func newPatBuilder() *patBuilder {
	return &patBuilder{
		x:    &patIndex{segs: map[string]int32{}, actions: map[string]int32{}},
		kids: map[[2]int32]int32{},
	}
}

// root starts a new trie and returns its root node; after build, at
// turns it into the offset match takes.
func (b *patBuilder) root() int32 {
	n := b.node()
	b.roots = append(b.roots, n)
	return n
}

func (b *patBuilder) node() int32 {
	b.exact = append(b.exact, nil)
	b.tail = append(b.tail, nil)
	return int32(len(b.exact) - 1)
}

// at returns where a root built by b starts in the index.
func (b *patBuilder) at(root int32) int32 { return b.offset[root] }

// add files value under root for a resource pattern and an action pattern.
// Entries of one node keep the order in which they were added.
func (b *patBuilder) add(root int32, resource, action string, value int32) {
	a := int32(0)
	if action != "*" {
		a = patIntern(b.x.actions, action, 1)
	}
	node := root
	for rest := resource; ; {
		seg, tail, more := strings.Cut(rest, "/")
		if seg == "*" && !more {
			b.tail[node] = append(b.tail[node], patEntry{a, value})
			return
		}
		id := int32(-1)
		if seg != "*" {
			id = patIntern(b.x.segs, seg, 0)
		}
		child, ok := b.kids[[2]int32{node, id}]
		if !ok {
			child = b.node()
			b.kids[[2]int32{node, id}] = child
		}
		node = child
		if !more {
			b.exact[node] = append(b.exact[node], patEntry{a, value})
			return
		}
		rest = tail
	}
}

func patIntern(m map[string]int32, s string, first int32) int32 {
	id, ok := m[s]
	if !ok {
		id = first + int32(len(m))
		m[s] = id
	}
	return id
}

// build freezes the collected patterns into the arena, each trie
// depth-first from its root.
func (b *patBuilder) build() *patIndex {
	n := len(b.exact)
	star := make([]int32, n)
	for i := range star {
		star[i] = -1
	}
	type edge struct{ from, seg, node int32 }
	edges := make([]edge, 0, len(b.kids))
	for k, child := range b.kids {
		if k[1] < 0 {
			star[k[0]] = child
		} else {
			edges = append(edges, edge{k[0], k[1], child})
		}
	}
	slices.SortFunc(edges, func(a, b edge) int {
		return cmp.Or(cmp.Compare(a.from, b.from), cmp.Compare(a.seg, b.seg))
	})
	edgeLo := make([]int32, n+1)
	for _, e := range edges {
		edgeLo[e.from+1]++
	}
	for i := range n {
		edgeLo[i+1] += edgeLo[i]
	}
	byAction := func(a, b patEntry) int { return cmp.Compare(a.action, b.action) }

	// Offsets first, depth-first (literal children, then "*"), so that
	// a parent can be written with its children's offsets.
	b.offset = make([]int32, n)
	order := make([]int32, 0, n)
	size := int32(0)
	var place func(v int32)
	place = func(v int32) {
		b.offset[v] = size
		order = append(order, v)
		size += patHeader + 2*int32(len(b.exact[v])+len(b.tail[v])) + 2*(edgeLo[v+1]-edgeLo[v])
		for _, e := range edges[edgeLo[v]:edgeLo[v+1]] {
			place(e.node)
		}
		if star[v] >= 0 {
			place(star[v])
		}
	}
	for _, r := range b.roots {
		place(r)
	}
	a := make([]int32, 0, size)
	for _, v := range order {
		s := int32(-1)
		if star[v] >= 0 {
			s = b.offset[star[v]]
		}
		a = append(a, s, int32(len(b.exact[v])), int32(len(b.tail[v])), edgeLo[v+1]-edgeLo[v])
		for _, es := range [][]patEntry{b.exact[v], b.tail[v]} {
			slices.SortStableFunc(es, byAction)
			for _, e := range es {
				a = append(a, e.action, e.value)
			}
		}
		for _, e := range edges[edgeLo[v]:edgeLo[v+1]] {
			a = append(a, e.seg, b.offset[e.node])
		}
	}
	b.x.arena = a
	b.kids, b.exact, b.tail = nil, nil, nil
	return b.x
}
