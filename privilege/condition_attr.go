package privilege

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"strings"
	"time"
)

// attrSource says where an attribute path is read from, resolved once at
// compile time so evaluation is a field read or one map lookup.
type attrSource uint8

const (
	fromSubjectID attrSource = iota
	fromResourceName
	fromAction
	fromSubject
	fromResource
	fromEnv
)

// attrGetter reads one attribute of a request with its declared type.
type attrGetter struct {
	path string
	typ  AttrType
	src  attrSource
	key  string // the map key for fromSubject, fromResource, fromEnv
}

func newAttrGetter(path string, typ AttrType) *attrGetter {
	g := &attrGetter{path: path, typ: typ}
	switch path {
	case "subject.id":
		g.src = fromSubjectID
	case "resource.name":
		g.src = fromResourceName
	case "action":
		g.src = fromAction
	default:
		prefix, key, _ := strings.Cut(path, ".")
		g.key = key
		switch prefix {
		case "subject":
			g.src = fromSubject
		case "resource":
			g.src = fromResource
		default:
			g.src = fromEnv
		}
	}
	return g
}

// errAttrMissing is wrapped by every "attribute is absent" evaluation error.
var errAttrMissing = errors.New("attribute missing")

func (g *attrGetter) missing() error { return fmt.Errorf("%s: %w", g.path, errAttrMissing) }

func (g *attrGetter) wrongType(v any) error {
	return fmt.Errorf("%s: is %s, want a %s", g.path, condDescribe(v), g.typ)
}

// lookup returns the raw value of a map-backed attribute.
func (g *attrGetter) lookup(e *evalEnv) (any, bool) {
	var m map[string]any
	switch g.src {
	case fromSubject:
		if g.key == "roles" && e.roles != nil {
			if !e.rolesDone {
				e.rolesVal, e.rolesDone = e.roles(), true
			}
			return e.rolesVal, true
		}
		m = e.req.Subject.Attributes
	case fromResource:
		m = e.req.Resource.Attributes
	case fromEnv:
		m = e.req.Env
	}
	v, ok := m[g.key]
	return v, ok && v != nil
}

// str reads a string attribute. The request's own fields (subject.id,
// resource.name, action) count as missing when empty.
func (g *attrGetter) str(e *evalEnv) (string, error) {
	var s string
	switch g.src {
	case fromSubjectID:
		s = e.req.Subject.ID
	case fromResourceName:
		s = e.req.Resource.Name
	case fromAction:
		s = e.req.Action
	default:
		v, ok := g.lookup(e)
		if !ok {
			return "", g.missing()
		}
		var isStr bool
		if s, isStr = v.(string); !isStr {
			return "", g.wrongType(v)
		}
		return s, nil
	}
	if s == "" {
		return "", g.missing()
	}
	return s, nil
}

func (g *attrGetter) num(e *evalEnv) (float64, error) {
	v, ok := g.lookup(e)
	if !ok {
		return 0, g.missing()
	}
	n, ok := attrNumber(v)
	if !ok {
		return 0, g.wrongType(v)
	}
	return n, nil
}

// attrNumber accepts the numeric types JSON decoding and Go callers produce.
// NaN is not a number here: every comparison with it would be false, which
// would silently disarm a deny rule.
func attrNumber(v any) (float64, bool) {
	var n float64
	switch x := v.(type) {
	case float64:
		n = x
	case float32:
		n = float64(x)
	case int:
		n = float64(x)
	case int8:
		n = float64(x)
	case int16:
		n = float64(x)
	case int32:
		n = float64(x)
	case int64:
		n = float64(x)
	case uint:
		n = float64(x)
	case uint8:
		n = float64(x)
	case uint16:
		n = float64(x)
	case uint32:
		n = float64(x)
	case uint64:
		n = float64(x)
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return 0, false
		}
		n = f
	default:
		return 0, false
	}
	return n, !math.IsNaN(n)
}

func (g *attrGetter) boolean(e *evalEnv) (bool, error) {
	v, ok := g.lookup(e)
	if !ok {
		return false, g.missing()
	}
	b, ok := v.(bool)
	if !ok {
		return false, g.wrongType(v)
	}
	return b, nil
}

// time reads a time attribute; env.time falls back to the check's time.
func (g *attrGetter) time(e *evalEnv) (time.Time, error) {
	v, ok := g.lookup(e)
	if !ok {
		if g.src == fromEnv && g.key == "time" {
			return e.now, nil
		}
		return time.Time{}, g.missing()
	}
	t, ok := attrTime(v)
	if !ok {
		return time.Time{}, g.wrongType(v)
	}
	return t, nil
}

func attrTime(v any) (time.Time, bool) {
	switch x := v.(type) {
	case time.Time:
		return x, true
	case string:
		t, err := time.Parse(time.RFC3339, x)
		return t, err == nil
	}
	return time.Time{}, false
}

func (g *attrGetter) ip(e *evalEnv) (netip.Addr, error) {
	v, ok := g.lookup(e)
	if !ok {
		return netip.Addr{}, g.missing()
	}
	a, ok := attrIP(v)
	if !ok {
		return netip.Addr{}, g.wrongType(v)
	}
	return a, nil
}

// attrIP normalizes addresses so that an IPv4-mapped IPv6 address compares
// and matches CIDRs as the IPv4 address it is, and zones are ignored.
func attrIP(v any) (netip.Addr, bool) {
	var a netip.Addr
	switch x := v.(type) {
	case netip.Addr:
		a = x
	case net.IP:
		var ok bool
		if a, ok = netip.AddrFromSlice(x); !ok {
			return a, false
		}
	case string:
		var err error
		if a, err = netip.ParseAddr(x); err != nil {
			return a, false
		}
	default:
		return a, false
	}
	if !a.IsValid() {
		return a, false
	}
	return a.Unmap().WithZone(""), true
}

// strList reads a list_string attribute as either representation, to
// avoid converting []any to []string on every check.
func (g *attrGetter) strList(e *evalEnv) ([]string, []any, error) {
	v, ok := g.lookup(e)
	if !ok {
		return nil, nil, g.missing()
	}
	switch x := v.(type) {
	case []string:
		return x, nil, nil
	case []any:
		return nil, x, nil
	}
	return nil, nil, g.wrongType(v)
}
